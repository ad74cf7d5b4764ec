"""The emergency console: one-click playbooks and drills, live run steps, muster board, packet.

Viewing needs ``alarms:read``; starting, completing steps and the roll call need
``alarms:work``. Buttons post with htmx (CSRF header) and the run panel polls itself,
so the board stays live during an evacuation without any page script.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bastion.api.deps import Principal, Require, get_hub, run_unit_of_work
from bastion.auth.permissions import Permission
from bastion.automation.playbooks import service
from bastion.automation.playbooks.runtime import PlaybookRuntime, runtime_for
from bastion.automation.playbooks.schemas import MusterRead, RunRead
from bastion.core.context import Context
from bastion.core.errors import Forbidden, NotFound
from bastion.core.events import EVENT_SENSOR_STATE, SensorStatePayload
from bastion.hub import Hub
from bastion.site.schemas import DeviceType
from bastion.web.render import not_found, page

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[Principal, Depends(Require(Permission.ALARMS_READ))]
Actor = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK))]
DEMO_PANIC_KEY = "demo_panic_button"
"""Set in ``hub.extras`` by the demo: the device id its console panic button presses."""


def _visible(principal: Principal, run: RunRead) -> bool:
    return run.site_id is None or principal.allows(Permission.ALARMS_READ, run.site_id)


async def _muster(runtime: PlaybookRuntime, hub: Hub, run: RunRead) -> MusterRead | None:
    site = runtime.site(run.site_id)
    if site is None or run.muster_started_at is None:
        return None
    now = hub.clock.now()
    return await runtime.read(
        lambda s: service.muster_read(
            session=s, site=site, run=service.get_run(session=s, run_id=run.id), now=now
        )
    )


async def _panel_context(hub: Hub, principal: Principal, run_id: str) -> dict[str, Any] | None:
    runtime = runtime_for(hub)
    try:
        run = await runtime.run_read(run_id)
    except NotFound:
        return None
    if not _visible(principal, run):
        return None
    return {
        "run": run,
        "muster": await _muster(runtime, hub, run),
        "can_act": principal.allows(Permission.ALARMS_WORK, run.site_id),
    }


@router.get("/console/emergency", response_class=HTMLResponse)
async def emergency_page(request: Request, hub: HubDep, principal: Viewer) -> HTMLResponse:
    """List the playbooks with start and drill buttons, the runs, and the packet link."""
    runtime = runtime_for(hub)
    sites = principal.sites_with(Permission.ALARMS_READ)
    now = hub.clock.now()
    runs = await runtime.read(
        lambda s: [
            service.run_read(r, now=now)
            for r in service.list_runs(session=s, limit=20, site_ids=sites)
        ]
    )
    return page(
        request,
        "emergency.html",
        principal,
        {
            "playbooks": [c.config for c in runtime.compiled.values()],
            "load_errors": [str(e) for e in runtime.load_errors],
            "runs": runs,
            "can_act": principal.allows(Permission.ALARMS_WORK),
            "demo_panic": hub.extras.get(DEMO_PANIC_KEY),
            "mailbox": hub.extras.get("demo_mailbox"),
        },
    )


@router.post("/console/emergency/start/{playbook_id}")
async def start(playbook_id: str, hub: HubDep, principal: Actor, drill: bool = False) -> Response:
    """Start a playbook (or its drill) and open its run page."""
    runtime = runtime_for(hub)
    site = runtime.site(None)
    if site is not None and not principal.allows(Permission.ALARMS_WORK, site.site.id):
        raise Forbidden(f"no alarms:work at site {site.site.id!r}")
    run = await runtime.start_run(playbook_id, drill=drill, context=principal.context())
    return Response(status_code=204, headers={"HX-Redirect": f"/console/emergency/runs/{run.id}"})


@router.post("/console/emergency/panic")
async def demo_panic(hub: HubDep, principal: Actor) -> Response:
    """Press the demo's simulated panic button (only when the demo enabled it)."""
    device_id = hub.extras.get(DEMO_PANIC_KEY)
    runtime = runtime_for(hub)
    site = runtime.site(None)
    if not device_id or site is None:
        raise NotFound("this installation has no demo panic button")
    if not principal.allows(Permission.ALARMS_WORK, site.site.id):
        raise Forbidden(f"no alarms:work at site {site.site.id!r}")
    device = site.device(str(device_id))
    if device.type is not DeviceType.PANIC:
        raise NotFound(f"{device_id!r} is not a panic button")
    await hub.bus.publish(
        EVENT_SENSOR_STATE,
        SensorStatePayload(
            device_id=device.id, sensor_type="panic", state="active", zone_id=device.zone
        ),
        context=Context(actor=f"demo:{principal.actor}"),
        site=site.site.id,
    )
    await hub.bus.drain()
    return Response(status_code=204, headers={"HX-Redirect": "/console/emergency"})


@router.get("/console/emergency/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: str, hub: HubDep, principal: Viewer) -> HTMLResponse:
    """Show one run with its live steps and muster board."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    return page(request, "emergency_run.html", principal, context)


@router.get("/console/emergency/runs/{run_id}/panel", response_class=HTMLResponse)
async def run_panel(request: Request, run_id: str, hub: HubDep, principal: Viewer) -> HTMLResponse:
    """Return the live part of a run page (htmx polls it)."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    return page(request, "emergency_panel.html", principal, context)


@router.post("/console/emergency/runs/{run_id}/steps/{step_id}", response_class=HTMLResponse)
async def step_done(
    request: Request, run_id: str, step_id: str, hub: HubDep, principal: Actor
) -> HTMLResponse:
    """Mark a manual step done from the console and return the refreshed panel."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    if not context["can_act"]:
        raise Forbidden("your role cannot act on this run")
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.complete_step(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            step_id=step_id,
            status="done",
            context=principal.context(),
            now=now,
        ),
    )
    return await run_panel(request, run_id, hub, principal)


@router.post("/console/emergency/runs/{run_id}/muster/{subject}", response_class=HTMLResponse)
async def mark_safe(
    request: Request,
    run_id: str,
    subject: str,
    hub: HubDep,
    principal: Actor,
    status: str = "safe",
) -> HTMLResponse:
    """Mark a person at the roll call and return the refreshed panel."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    if not context["can_act"]:
        raise Forbidden("your role cannot act on this run")
    runtime = runtime_for(hub)
    site = runtime.site(context["run"].site_id)
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.mark(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            subject=subject,
            status="missing" if status == "missing" else "safe",
            context=principal.context(),
            now=now,
            site=site,
        ),
    )
    return await run_panel(request, run_id, hub, principal)
