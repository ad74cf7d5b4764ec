"""The emergency console: one-click playbooks and drills, live run steps, muster board, packet.

Viewing needs ``alarms:read``; starting, completing steps and the roll call need
``alarms:work``. Buttons post with htmx (CSRF header) and the run panel polls itself,
so the board stays live during an evacuation without any page script. The bomb-threat
checklist (a form step) sits outside the polled panel so a refresh never wipes what
the operator is typing; it posts as a plain form and, outside a drill, files the
threat-call report just as the API does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub, run_unit_of_work
from bastion.api.resources import PLAYBOOK_RUN, run_place
from bastion.api.scope import AnySite, FromQuery, FromResource, Missing, only_site
from bastion.auth.permissions import Permission
from bastion.automation.playbooks import service
from bastion.automation.playbooks.api import mark_at_roll_call
from bastion.automation.playbooks.runtime import PlaybookRuntime, runtime_for
from bastion.automation.playbooks.schemas import MusterRead, RunRead
from bastion.core.context import Context
from bastion.core.errors import BastionError, Conflict, Forbidden, InvalidInput, NotFound
from bastion.core.events import EVENT_SENSOR_STATE, SensorStatePayload
from bastion.hub import Hub
from bastion.safety import guide as safety_guide
from bastion.safety.schemas import ThreatCallCreate
from bastion.site.schemas import DeviceType
from bastion.web.dashboard import visible_sites
from bastion.web.render import not_found, page
from bastion.web.templating import display_zone
from bastion.web.visitors import Form, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
THE_RUN = FromResource("run_id", PLAYBOOK_RUN)
ONLY_SITE = FromQuery("site_id", missing=Missing.ONLY_SITE)
Lister = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))]
Viewer = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=THE_RUN))]
Actor = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=THE_RUN))]
Starter = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=ONLY_SITE))]
DEMO_PANIC_KEY = "demo_panic_button"
"""Set in ``hub.extras`` by the demo: the device id its console panic button presses."""


def _visible(principal: Principal, run: RunRead) -> bool:
    return principal.may(Permission.ALARMS_READ, run_place(run.site_id, run.zone_id), reading=True)


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
    muster = await _muster(runtime, hub, run)
    roll_calls = runtime.roll_call_steps(run.playbook_id)
    return {
        "run": run,
        "muster": muster,
        "roll_call_steps": roll_calls,
        "roll_call_warning": (
            service.roll_call_warning(service.outstanding(muster)) if muster is not None else ""
        ),
        "can_act": principal.may(
            Permission.ALARMS_WORK, run_place(run.site_id, run.zone_id), reading=False
        ),
    }


@router.get("/console/emergency", response_class=HTMLResponse)
async def emergency_page(request: Request, hub: HubDep, principal: Lister) -> HTMLResponse:
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
            # Several sites loaded: a run (and the packet) is for one site, so say which.
            "act_sites": [
                (sid, site.site.name)
                for sid, site in visible_sites(hub, principal, Permission.ALARMS_WORK).items()
            ],
            "demo_panic": hub.extras.get(DEMO_PANIC_KEY),
            "mailbox": hub.extras.get("demo_mailbox"),
        },
    )


@router.post("/console/emergency/start/{playbook_id}")
async def start(
    playbook_id: str,
    hub: HubDep,
    principal: Starter,
    drill: bool = False,
    site_id: str | None = None,
) -> Response:
    """Start a playbook (or its drill) at the site (the only one unless named); open its run."""
    runtime = runtime_for(hub)
    run = await runtime.start_run(
        playbook_id, site_id=site_id or only_site(hub), drill=drill, context=principal.context()
    )
    return Response(status_code=204, headers={"HX-Redirect": f"/console/emergency/runs/{run.id}"})


@router.post("/console/emergency/panic")
async def demo_panic(hub: HubDep, principal: Starter, site_id: str | None = None) -> Response:
    """Press the demo's simulated panic button (only when the demo enabled it)."""
    device_id = hub.extras.get(DEMO_PANIC_KEY)
    runtime = runtime_for(hub)
    site = runtime.site(site_id or only_site(hub))
    if not device_id or site is None:
        raise NotFound("this installation has no demo panic button")
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


CHECKLIST_CHOICES = ("voice", "background", "steps_taken")
"""The checklist's multiple-choice fields (the rest are single values)."""
CHECKLIST_DONE = {
    "filed": "Checklist saved; the threat-call report was filed and security alerted.",
    "drill": "Drill: checklist checked and timed; no report was filed.",
}


def _checklist_context(
    request: Request, hub: Hub, context: dict[str, Any], values: dict[str, Any] | None
) -> dict[str, Any]:
    """Add the pending form steps and the guide's checklist choices to a run page."""
    run: RunRead = context["run"]
    forms = [
        s
        for s in run.steps
        if s.kind == "form" and s.status == "pending" and run.status == "active"
    ]
    called = hub.clock.now().astimezone(display_zone(request)).strftime("%Y-%m-%dT%H:%M")
    return {
        **context,
        "forms": forms if context["can_act"] else [],
        "checklist": values or {"call_time": called},
        "call_steps": safety_guide.THREAT_CALL_STEPS,
        "voice_traits": safety_guide.VOICE_TRAITS,
        "background_noises": safety_guide.BACKGROUND_NOISES,
        "notice": CHECKLIST_DONE.get(request.query_params.get("done") or ""),
    }


async def _acting_context(
    request: Request, hub: Hub, principal: Principal, run_id: str
) -> dict[str, Any] | HTMLResponse:
    """Return the panel context of a run the principal may act on, or the not-found page."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    if not context["can_act"]:
        raise Forbidden("your role cannot act on this run")
    return context


@router.get("/console/emergency/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: str, hub: HubDep, principal: Viewer) -> HTMLResponse:
    """Show one run with its live steps, muster board and any checklist to fill in."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    ctx = _checklist_context(request, hub, context, None)
    return page(request, "emergency_run.html", principal, ctx)


@router.get("/console/emergency/runs/{run_id}/panel", response_class=HTMLResponse)
async def run_panel(request: Request, run_id: str, hub: HubDep, principal: Viewer) -> HTMLResponse:
    """Return the live part of a run page (htmx polls it)."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    return page(request, "emergency_panel.html", principal, context)


@router.post("/console/emergency/runs/{run_id}/steps/{step_id}", response_class=HTMLResponse)
async def step_done(
    request: Request,
    run_id: str,
    step_id: str,
    hub: HubDep,
    principal: Actor,
    confirm: bool = False,
) -> HTMLResponse:
    """Mark a manual step done from the console and return the refreshed panel.

    A roll-call step with people still unaccounted is refused with their names unless
    the operator confirmed (the panel's button says how many and asks first).
    """
    context = await _acting_context(request, hub, principal, run_id)
    if isinstance(context, HTMLResponse):
        return context
    runtime = runtime_for(hub)
    run: RunRead = context["run"]
    detail = ""
    if step_id in context["roll_call_steps"]:
        site = runtime.site(run.site_id)
        if site is None:
            raise NotFound(f"site {run.site_id!r} is not loaded")
        now = hub.clock.now()
        muster = await runtime.read(
            lambda s: service.muster_read(
                session=s, site=site, run=service.get_run(session=s, run_id=run_id), now=now
            )
        )
        try:
            detail = service.check_roll_call(muster, confirmed=confirm)
        except Conflict as exc:
            context["error"] = str(exc)
            # Shown in the panel (htmx swaps only successful answers), with the confirm button.
            return page(request, "emergency_panel.html", principal, context)
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
            detail=detail,
        ),
    )
    return await run_panel(request, run_id, hub, principal)


@router.post("/console/emergency/runs/{run_id}/finish", response_class=HTMLResponse)
async def finish(request: Request, run_id: str, hub: HubDep, principal: Actor) -> HTMLResponse:
    """Finish a run or drill from the console; the panel then links to its report."""
    context = await _acting_context(request, hub, principal, run_id)
    if isinstance(context, HTMLResponse):
        return context
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.finish_run(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            context=principal.context(),
            now=now,
        ),
    )
    return await run_panel(request, run_id, hub, principal)


@router.get("/console/emergency/runs/{run_id}/report", response_class=HTMLResponse)
async def report_page(
    request: Request, run_id: str, hub: HubDep, principal: Viewer
) -> HTMLResponse:
    """Show a run's (or drill's) report: timed steps, gaps, who acknowledged, who was missing."""
    context = await _panel_context(hub, principal, run_id)
    if context is None:
        return not_found(request, principal, "playbook run")
    runtime = runtime_for(hub)
    notify_runs = await runtime.notify_runs(run_id)
    now = hub.clock.now()
    report = await runtime.read(
        lambda s: service.run_report(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            notify_runs=notify_runs,
            now=now,
        )
    )
    return page(request, "emergency_report.html", principal, {**context, "report": report})


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
    context = await _acting_context(request, hub, principal, run_id)
    if isinstance(context, HTMLResponse):
        return context
    runtime = runtime_for(hub)
    site = runtime.site(context["run"].site_id)
    await mark_at_roll_call(
        hub, principal, run_id, subject, "missing" if status == "missing" else "safe", site
    )
    return await run_panel(request, run_id, hub, principal)


def threat_call_answers(form: Form, zone: Any) -> ThreatCallCreate:
    """Read the threat-call checklist from a submitted form; refuse unknown choices."""
    duration = form.text("duration_s", required=False)
    if duration is not None and not duration.isdigit():
        raise InvalidInput("duration: give whole seconds")
    try:
        answers = ThreatCallCreate(
            exact_words=form.req("exact_words"),
            call_time=form.when("call_time", zone),
            caller_number=form.text("caller_number", required=False),
            duration_s=int(duration) if duration is not None else None,
            voice=form.many("voice"),
            background=form.many("background"),
            notes=form.text("notes", required=False),
            steps_taken=form.many("steps_taken"),
        )
    except ValidationError as exc:
        raise InvalidInput(f"threat-call checklist: {problem_text(exc)}") from None
    service.check_threat_call(answers)
    return answers


@router.post("/console/emergency/runs/{run_id}/steps/{step_id}/form", response_class=HTMLResponse)
async def submit_checklist(
    request: Request, run_id: str, step_id: str, hub: HubDep, principal: Actor
) -> Response:
    """Fill in a run's threat-call checklist step (filed as a report unless it is a drill)."""
    context = await _acting_context(request, hub, principal, run_id)
    if isinstance(context, HTMLResponse):
        return context
    run: RunRead = context["run"]
    step = next((s for s in run.steps if s.step_id == step_id and s.kind == "form"), None)
    if step is None:
        raise NotFound(f"run {run_id!r} has no checklist step {step_id!r}")
    form = await read_form(request)
    zone = display_zone(request)
    now = hub.clock.now()
    actor = principal.context()

    def work(session: Session) -> str:
        answers = threat_call_answers(form, zone)
        filed = service.complete_threat_call(
            session=session,
            run=service.get_run(session=session, run_id=run_id),
            step_id=step_id,
            answers=answers,
            reporter_id=principal.user_id,
            context=actor,
            now=now,
            note=form.text("note", required=False),
        )
        return "filed" if filed else "drill"

    try:
        done = await run_unit_of_work(hub, work)
    except BastionError as exc:
        # Show the page again with everything typed so far, and say what to fix.
        fresh = await _panel_context(hub, principal, run_id) or context
        values: dict[str, Any] = {k: form.many(k) for k in CHECKLIST_CHOICES}
        values.update({k: v[0] for k, v in form.data.items() if v and k not in values})
        ctx = _checklist_context(request, hub, fresh, values)
        ctx["error"] = problem_text(exc)
        return page(request, "emergency_run.html", principal, ctx, status_code=exc.status_code)
    return RedirectResponse(f"/console/emergency/runs/{run_id}?done={done}", status_code=303)
