"""Console page for personal security: your own risk plan, lone-worker timer and reports.

Everything here needs ``safety:self`` and acts only on the signed-in worker's own
items (the service looks each one up by owner). A duress PIN or the duress box
answers exactly like a normal check-in. The doxing response walks the guide's steps
on a case security is alerted to; varied routines record trips and show how
predictable they have become, with varied departures to use next. Roles that work
alarms also see everyone's open timers and the recent reports routed to security.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import Global
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError
from bastion.core.sitetime import zone_name
from bastion.hub import Hub
from bastion.safety import service, trees
from bastion.safety.schemas import (
    AssessmentCreate,
    CheckIn,
    DoxingCreate,
    DoxingStepCreate,
    Finish,
    PinsUpdate,
    RoutineCreate,
    SuspiciousActivityCreate,
    SuspiciousItemCreate,
    ThreatCallCreate,
    TimerCreate,
    TripCreate,
)
from bastion.web.render import page
from bastion.web.templating import display_zone
from bastion.web.visitors import Form, act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Self = Annotated[Principal, Depends(Require(Permission.SAFETY_SELF, site=Global()))]

DONE = {
    "assessed": "Assessment saved; your plan is below.",
    "action": "Plan updated.",
    "pins": "PINs saved.",
    "timer": "Timer started; check in before it is due.",
    "checked_in": "Checked in.",
    "finished": "Timer finished.",
    "reported": "Report filed; security has been alerted.",
    "doxing": "Doxing case opened; security has been alerted. Work through the steps below.",
    "doxing_step": "Step recorded.",
    "routine": "Routine saved; log each trip to see how predictable it is.",
    "trip": "Trip logged.",
}
DOXING_CASES = 10


def _context(hub: Hub, principal: Principal, session: Session) -> dict[str, Any]:
    me = principal.user_id
    assessments = service.list_assessments(session=session, owner_id=me)
    latest = (
        service.assessment_read(session=session, assessment=assessments[0]) if assessments else None
    )
    staff = principal.allows(Permission.ALARMS_WORK)
    now = hub.clock.now()
    cases = service.list_reports(session=session, kind="doxing", reporter_id=me, limit=DOXING_CASES)
    routines = service.list_routines(session=session, owner_id=me)
    return {
        "guide": service.guide_read(),
        "assessment": latest,
        "pins": service.pins_status(session=session, owner_id=me),
        "timers": service.list_timers(session=session, owner_id=me, open_only=True),
        "reports": service.list_reports(session=session, reporter_id=me)[:20],
        "doxing_cases": [service.report_read(session=session, report=r) for r in cases],
        "routines": [
            (
                service.routine_read(session=session, routine=r),
                service.analyse_routine(session=session, routine=r, now=now),
            )
            for r in routines
        ],
        "timer_sites": trees.worker_sites(
            sites=hub.extras.get("sites", {}), allowed=principal.sites_with(Permission.SAFETY_SELF)
        ),
        "staff": staff,
        "staff_timers": service.list_timers(session=session, open_only=True) if staff else [],
        "staff_reports": service.list_reports(session=session, limit=25) if staff else [],
        "now": now,
    }


def _render(
    request: Request,
    hub: Hub,
    principal: Principal,
    *,
    error: str | None = None,
    status_code: int = 200,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        ctx = _context(hub, principal, session)
    ctx["notice"] = DONE.get(request.query_params.get("done") or "")
    ctx["error"] = error
    ctx["typed"] = typed or {}
    ctx["zone_name"] = zone_name(display_zone(request))
    return page(request, "safety.html", principal, ctx, status_code=status_code)


@router.get("/console/safety", response_class=HTMLResponse)
def safety_page(request: Request, hub: HubDep, principal: Self) -> HTMLResponse:
    """Show your risk plan, PINs, lone-worker timers and reports (staff: everyone's)."""
    return _render(request, hub, principal)


async def _do(
    request: Request,
    hub: Hub,
    principal: Principal,
    work: Callable[[Session, Form], object],
    done: str,
    *,
    keep: bool = False,
) -> Response:
    form = await read_form(request)
    try:
        await act(hub, lambda session: work(session, form))
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        typed = {k: v[0] for k, v in form.data.items() if k != "csrf_token" and v} if keep else {}
        return _render(
            request, hub, principal, error=problem_text(exc), status_code=status, typed=typed
        )
    return RedirectResponse(f"/console/safety?done={done}", status_code=303)


@router.post("/console/safety/assessment", response_class=HTMLResponse)
async def assess(request: Request, hub: HubDep, principal: Self) -> Response:
    """Answer the guide's risk factors; get a level and a tailored plan (private to you)."""

    def work(session: Session, form: Form) -> object:
        factors = [f.id for f in service.guide_read().factors]
        data = AssessmentCreate(
            answers={f: form.flag(f"factor_{f}") for f in factors},
            notes=form.text("notes", required=False),
        )
        return service.create_assessment(
            session=session, owner_id=principal.user_id, data=data, now=hub.clock.now()
        )

    return await _do(request, hub, principal, work, "assessed")


@router.post("/console/safety/assessment/{assessment_id}/actions/{action_id}")
async def plan_action(
    assessment_id: str, action_id: str, request: Request, hub: HubDep, principal: Self
) -> Response:
    """Mark one plan action done (or not done)."""
    from bastion.safety.schemas import ActionUpdate

    def work(session: Session, form: Form) -> object:
        row = service.get_own_assessment(
            session=session, assessment_id=assessment_id, owner_id=principal.user_id
        )
        service.set_action(
            session=session,
            assessment=row,
            action_id=action_id,
            data=ActionUpdate(done=form.flag("done")),
            now=hub.clock.now(),
        )
        return row

    return await _do(request, hub, principal, work, "action")


@router.post("/console/safety/pins", response_class=HTMLResponse)
async def set_pins(request: Request, hub: HubDep, principal: Self) -> Response:
    """Set your check-in PIN and duress PIN."""

    def work(session: Session, form: Form) -> object:
        data = PinsUpdate(checkin_pin=form.req("checkin_pin"), duress_pin=form.req("duress_pin"))
        return service.set_pins(
            session=session, owner_id=principal.user_id, data=data, now=hub.clock.now()
        )

    return await _do(request, hub, principal, work, "pins")


@router.post("/console/safety/timers", response_class=HTMLResponse)
async def start_timer(request: Request, hub: HubDep, principal: Self) -> Response:
    """Start a lone-worker timer."""

    def work(session: Session, form: Form) -> object:
        data = TimerCreate(
            task=form.req("task"),
            interval_minutes=int(form.req("interval_minutes")),
            location=form.text("location", required=False),
            site_id=form.text("site_id", required=False),
        )
        sites = trees.worker_sites(
            sites=hub.extras.get("sites", {}),
            allowed=principal.sites_with(Permission.SAFETY_SELF),
            site_id=data.site_id,
        )
        return service.start_timer(
            session=session,
            owner_id=principal.user_id,
            data=data,
            sites=sites,
            context=principal.context(),
            now=hub.clock.now(),
        )

    try:
        return await _do(request, hub, principal, work, "timer")
    except ValueError:
        return _render(
            request, hub, principal, error="interval: give whole minutes", status_code=422
        )


@router.post("/console/safety/timers/{timer_id}/check-in", response_class=HTMLResponse)
async def check_in(timer_id: str, request: Request, hub: HubDep, principal: Self) -> Response:
    """Check in (a duress PIN or the duress box silently raises an alarm)."""

    def work(session: Session, form: Form) -> object:
        row = service.get_own_timer(session=session, timer_id=timer_id, owner_id=principal.user_id)
        data = CheckIn(
            pin=form.text("pin", required=False),
            location=form.text("location", required=False),
            duress=form.flag("duress"),
        )
        return service.check_in(
            session=session, timer=row, data=data, context=principal.context(), now=hub.clock.now()
        )

    return await _do(request, hub, principal, work, "checked_in")


@router.post("/console/safety/timers/{timer_id}/finish", response_class=HTMLResponse)
async def finish(timer_id: str, request: Request, hub: HubDep, principal: Self) -> Response:
    """Finish a timer: the task or visit is over."""

    def work(session: Session, form: Form) -> object:
        row = service.get_own_timer(session=session, timer_id=timer_id, owner_id=principal.user_id)
        data = Finish(pin=form.text("pin", required=False))
        return service.finish(
            session=session, timer=row, data=data, context=principal.context(), now=hub.clock.now()
        )

    return await _do(request, hub, principal, work, "finished")


@router.post("/console/safety/reports/{kind}", response_class=HTMLResponse)
async def file_report(kind: str, request: Request, hub: HubDep, principal: Self) -> Response:
    """File a suspicious-activity (optionally anonymous), unattended-item or threat-call report."""
    zone = display_zone(request)

    def work(session: Session, form: Form) -> object:
        now = hub.clock.now()
        context = principal.context()
        me = principal.user_id
        if kind == "suspicious-activity":
            return service.file_suspicious_activity(
                session=session,
                reporter_id=me,
                data=SuspiciousActivityCreate(
                    description=form.req("description"),
                    location=form.text("location", required=False),
                    warning_signs=form.many("warning_signs"),
                    anonymous=form.flag("anonymous"),
                ),
                context=context,
                now=now,
            )
        if kind == "suspicious-item":
            return service.file_suspicious_item(
                session=session,
                reporter_id=me,
                data=SuspiciousItemCreate(
                    description=form.req("description"),
                    location=form.text("location", required=False),
                    indicators=form.many("indicators"),
                ),
                context=context,
                now=now,
            )
        if kind == "threat-call":
            return service.file_threat_call(
                session=session,
                reporter_id=me,
                data=ThreatCallCreate(
                    exact_words=form.req("exact_words"),
                    call_time=form.when("call_time", zone) or now,
                    caller_number=form.text("caller_number", required=False),
                    voice=form.many("voice"),
                    background=form.many("background"),
                    notes=form.text("notes", required=False),
                ),
                context=context,
                now=now,
            )
        from bastion.core.errors import NotFound

        raise NotFound(f"no report kind {kind!r}")

    return await _do(request, hub, principal, work, "reported")


def _names(text: str | None) -> list[str]:
    """Split a comma- or line-separated field into unique names, in order."""
    if not text:
        return []
    parts = (p.strip() for line in text.splitlines() for p in line.split(","))
    return list(dict.fromkeys(p for p in parts if p))


@router.post("/console/safety/doxing", response_class=HTMLResponse)
async def open_doxing(request: Request, hub: HubDep, principal: Self) -> Response:
    """Open a doxing response case; security is alerted and the guided steps begin."""

    def work(session: Session, form: Form) -> object:
        return service.open_doxing(
            session=session,
            reporter_id=principal.user_id,
            data=DoxingCreate(description=form.req("description")),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, work, "doxing")


@router.post("/console/safety/doxing/{case_id}/steps", response_class=HTMLResponse)
async def doxing_step(case_id: str, request: Request, hub: HubDep, principal: Self) -> Response:
    """Record one guided step (document, assess, report, lock down, monitor) of your case."""

    def work(session: Session, form: Form) -> object:
        row = service.get_own_report(
            session=session, report_id=case_id, reporter_id=principal.user_id, kind="doxing"
        )
        data = DoxingStepCreate.model_validate(
            {
                "step": form.req("step"),
                "notes": form.text("notes", required=False) or "",
                "exposed": form.many("exposed"),
                "platforms": _names(form.text("platforms", required=False)),
            }
        )
        return service.record_doxing_step(
            session=session, report=row, data=data, context=principal.context(), now=hub.clock.now()
        )

    return await _do(request, hub, principal, work, "doxing_step")


@router.post("/console/safety/routines", response_class=HTMLResponse)
async def create_routine(request: Request, hub: HubDep, principal: Self) -> Response:
    """Register a recurring trip (a cash pickup, a bank run) and its departure window."""
    zone = zone_name(display_zone(request))

    def work(session: Session, form: Form) -> object:
        data = RoutineCreate(
            name=form.req("name"),
            window_start=form.req("window_start"),
            window_end=form.req("window_end"),
            routes=_names(form.text("routes", required=False)),
        )
        return service.create_routine(
            session=session, owner_id=principal.user_id, data=data, now=hub.clock.now(), zone=zone
        )

    return await _do(request, hub, principal, work, "routine", keep=True)


@router.post("/console/safety/routines/{routine_id}/trips", response_class=HTMLResponse)
async def log_trip(routine_id: str, request: Request, hub: HubDep, principal: Self) -> Response:
    """Log one departure of your routine (a new route name joins the routine's routes)."""
    zone = display_zone(request)

    def work(session: Session, form: Form) -> object:
        row = service.get_own_routine(
            session=session, routine_id=routine_id, owner_id=principal.user_id
        )
        departed = form.when("departed_at", zone)
        data = TripCreate(
            departed_at=departed,
            route=form.text("new_route", required=False) or form.text("route", required=False),
        )
        return service.add_trip(session=session, routine=row, data=data)

    return await _do(request, hub, principal, work, "trip")
