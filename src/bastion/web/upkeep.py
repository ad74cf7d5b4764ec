"""Console page for upkeep: device health, recording coverage, camera views, walk tests, work.

One page per site (``?site=``): the device health board (trouble now, uptime per day,
MTBF), the latest recording proof per camera with its timeline, camera views that
failed their check with both images, walk tests (start one, finish it), and the
maintenance calendar with open work orders and their checklists. Actions are plain
forms; a refusal re-renders the page with the reason and what was typed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.maintenance import checks, hardening, planning, report, walktests
from bastion.maintenance.api import health_board, settings_of
from bastion.maintenance.models import RecordingCheck
from bastion.site.schemas import DeviceType, Site
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.visitors import act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.UPKEEP_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
TesterForm = Annotated[Principal, Depends(Require(Permission.UPKEEP_TEST, site=FromBody("site")))]
DONE = {
    "walk": "Walk test started: the zone's sensors are on hold. Trigger each of them once.",
    "finished": "Walk test finished; the hold is released.",
    "work": "Work order completed.",
    "recordings": "Recordings checked.",
}
TIMELINE_W = 600


def _site(hub: Hub, principal: Principal, wanted: str | None) -> Site:
    sites = loaded_sites(hub)
    allowed = sorted(sid for sid in sites if principal.allows(Permission.UPKEEP_READ, sid))
    if wanted is not None:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the upkeep:read permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may see upkeep")
    return sites[allowed[0]]


def timeline(check: RecordingCheck) -> list[dict[str, float]]:
    """Return the gaps of a check as x/width on a bar of TIMELINE_W pixels."""
    lo, hi = check.period_start.timestamp(), check.period_end.timestamp()
    span = max(hi - lo, 1.0)
    return [
        {
            "x": round((a - lo) / span * TIMELINE_W, 1),
            "w": max(1.0, round((b - a) / span * TIMELINE_W, 1)),
            "seconds": round(b - a),
        }
        for a, b in check.gaps
    ]


def _context(hub: Hub, site: Site, principal: Principal, session: Session) -> dict[str, Any]:
    sid = site.site.id
    latest: dict[str, RecordingCheck] = {}
    for row in checks.recording_checks(session=session, site_id=sid, limit=500):
        latest.setdefault(row.camera_id, row)
    names = {d.id: d.name or d.id for d in site.devices}
    views = [v for v in checks.view_checks(session=session, site_id=sid, limit=50)]
    tests = walktests.recent(session=session, site_id=sid, limit=10)
    zones_with_sensors = [z for z in site.zones if walktests.devices_of(site, z.id)]
    return {
        "site": site,
        "tz": ZoneInfo(site.site.timezone),
        "names": names,
        "health": health_board(hub, site, 7),
        "recordings": [
            {"check": latest[c], "gaps": timeline(latest[c]), "name": names.get(c, c)}
            for c in sorted(latest)
        ],
        "cameras": [d for d in site.devices if d.type is DeviceType.CAMERA],
        "areas": [
            {"zone": z, "cameras": report.cameras_of(site, z.id)}
            for z in site.zones
            if z.camera_required
        ],
        "views": [v for v in views if v.verdict != "ok"][:12],
        "views_ok": sum(1 for v in views if v.verdict == "ok"),
        "tests": [
            {"test": t, "devices": walktests.results(session=session, test_id=t.id)} for t in tests
        ],
        "zones": zones_with_sensors,
        "schedules": planning.list_schedules(session=session, site_id=sid),
        "orders": planning.work_orders(session=session, site_id=sid, state="open"),
        "hardening": hardening.assess(
            session=session,
            ledger=hub.ledger,
            site=site,
            settings=settings_of(hub, sid),
            host=hub.settings.host,
            cookie_secure=hub.settings.cookie_secure,
            now=hub.clock.now(),
        ),
        "trend": hardening.trend(hub.ledger, sid),
        "width": TIMELINE_W,
        "can_test": principal.allows(Permission.UPKEEP_TEST, sid),
    }


def _render(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        context = _context(hub, site, principal, session)
    done = request.query_params.get("done")
    context.update(
        notice=DONE.get(done or "") if not error else None, error=error, typed=typed or {}
    )
    return page(request, "upkeep.html", principal, context, status_code=status_code)


@router.get("/console/upkeep", response_class=HTMLResponse)
def upkeep_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show device health, recording coverage, camera views, walk tests and work orders."""
    site = _site(hub, principal, request.query_params.get("site"))
    return _render(request, hub, principal, site)


def _back(site: Site, code: str) -> RedirectResponse:
    return RedirectResponse(f"/console/upkeep?site={site.site.id}&done={code}", status_code=303)


@router.post("/console/upkeep/walk-tests", response_class=HTMLResponse)
async def start_walk(request: Request, hub: HubDep, principal: TesterForm) -> Response:
    """Start a walk test of the chosen zone."""
    form = await read_form(request)
    site = _site(hub, principal, form.text("site"))
    zone = form.text("zone", required=False) or ""
    minutes_text = form.text("minutes", required=False) or "30"
    try:
        try:
            minutes = float(minutes_text)
        except ValueError:
            raise InvalidInput(f"the window {minutes_text!r} is not a number of minutes") from None
        await act(
            hub,
            lambda session: walktests.start(
                session=session,
                site=site,
                zone_id=zone,
                minutes=minutes,
                context=principal.context(),
                now=hub.clock.now(),
            ),
        )
    except BastionError as exc:
        typed = {"zone": zone, "minutes": minutes_text}
        return _render(
            request, hub, principal, site, error=problem_text(exc), typed=typed, status_code=422
        )
    return _back(site, "walk")


@router.post("/console/upkeep/walk-tests/{test_id}/finish", response_class=HTMLResponse)
async def finish_walk(
    test_id: str, request: Request, hub: HubDep, principal: TesterForm
) -> Response:
    """Finish a walk test now: devices that did not report fail."""
    form = await read_form(request)
    site = _site(hub, principal, form.text("site"))
    try:
        await act(
            hub,
            lambda session: walktests.finish(
                session=session,
                site=site,
                test_id=test_id,
                context=principal.context(),
                now=hub.clock.now(),
            ),
        )
    except BastionError as exc:
        return _render(request, hub, principal, site, error=problem_text(exc), status_code=409)
    return _back(site, "finished")


@router.post("/console/upkeep/work-orders/{order_id}/complete", response_class=HTMLResponse)
async def complete_order(
    order_id: str, request: Request, hub: HubDep, principal: TesterForm
) -> Response:
    """Complete a work order with its ticked checklist."""
    form = await read_form(request)
    site = _site(hub, principal, form.text("site"))
    done = form.many("done")
    note = form.text("note", required=False) or ""
    try:
        await act(
            hub,
            lambda session: planning.complete(
                session=session,
                site_id=site.site.id,
                order_id=order_id,
                done_items=done,
                note=note,
                context=principal.context(),
                now=hub.clock.now(),
            ),
        )
    except BastionError as exc:
        return _render(
            request,
            hub,
            principal,
            site,
            error=problem_text(exc),
            typed={"note": note, "order": order_id},
            status_code=422,
        )
    return _back(site, "work")


@router.post("/console/upkeep/recordings", response_class=HTMLResponse)
async def check_recordings(request: Request, hub: HubDep, principal: TesterForm) -> Response:
    """Check every camera's recordings over the last N hours."""
    form = await read_form(request)
    site = _site(hub, principal, form.text("site"))
    hours_text = form.text("hours", required=False) or "24"
    try:
        try:
            hours = float(hours_text)
        except ValueError:
            raise InvalidInput(f"{hours_text!r} is not a number of hours") from None
        if not 0 < hours <= 24 * 31:
            raise InvalidInput("check between a few minutes and 31 days")
        end: datetime = hub.clock.now()
        start = end - timedelta(hours=hours)
        settings = settings_of(hub, site.site.id)
        cameras = [d.id for d in site.devices if d.type is DeviceType.CAMERA]
        gathered = {
            c: await run_in_threadpool(checks.gather, settings, c, start, end) for c in cameras
        }

        def store(session: Session) -> None:
            for camera_id in cameras:
                checks.record_recording_check(
                    session=session,
                    site=site,
                    camera_id=camera_id,
                    start=start,
                    end=end,
                    gathered=gathered[camera_id],
                    settings=settings,
                    context=principal.context(),
                    now=end,
                )

        await act(hub, store)
    except BastionError as exc:
        return _render(
            request,
            hub,
            principal,
            site,
            error=problem_text(exc),
            typed={"hours": hours_text},
            status_code=422,
        )
    return _back(site, "recordings")
