"""Personal-security routes (thin; logic in service).

Workers use their own items with ``safety:self``; every item is looked up by owner,
so anyone else's reads as not found. Security staff read shared assessments and
reports with ``events:read``/``alarms:work``. These records belong to a worker, not to
a site, so security staff of any site see them (a lone worker in trouble may be
anywhere).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import FromBody, Global, Missing
from bastion.auth.permissions import Permission
from bastion.core.sitetime import default_zone, zone_name
from bastion.hub import Hub
from bastion.safety import service, trees
from bastion.safety.models import Report, Timer
from bastion.safety.schemas import (
    ActionUpdate,
    AssessmentCreate,
    AssessmentRead,
    CheckIn,
    DoxingCreate,
    DoxingStepCreate,
    Extend,
    Finish,
    GuideRead,
    PinsRead,
    PinsUpdate,
    ReportFiled,
    ReportRead,
    RoutineAnalysis,
    RoutineCreate,
    RoutineRead,
    SharingUpdate,
    StaffTimerRead,
    SuspiciousActivityCreate,
    SuspiciousItemCreate,
    ThreatCallCreate,
    TimerCreate,
    TimerRead,
    TripCreate,
)

router = APIRouter(tags=["safety"])
HubDep = Annotated[Hub, Depends(get_hub)]
Self = Annotated[Principal, Depends(Require(Permission.SAFETY_SELF, site=Global()))]
# A timer may name the site whose call tree it alerts; that site must be one of the worker's.
SelfAtSite = Annotated[
    Principal,
    Depends(Require(Permission.SAFETY_SELF, site=FromBody("site_id", missing=Missing.ANY_SITE))),
]
StaffReader = Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=Global()))]
Staff = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=Global()))]
PREFIX = "/api/safety"


def _timer(timer: Timer) -> TimerRead:
    return TimerRead(
        id=timer.id,
        task=timer.task,
        location=timer.location,
        interval_s=timer.interval_s,
        status=timer.status,
        started_at=timer.started_at,
        due_at=timer.due_at,
        last_checkin_at=timer.last_checkin_at,
        checkins=timer.checkins,
        finished_at=timer.finished_at,
    )


def _filed(report: Report) -> ReportFiled:
    return ReportFiled(
        id=report.id, kind=report.kind, status=report.status, created_at=report.created_at
    )


# --- guide and assessments -------------------------------------------------------------------


@router.get(f"{PREFIX}/guide", response_model=GuideRead)
def read_guide(_: Self) -> GuideRead:
    """Return the guide's risk factors, plan sections and checklists."""
    return service.guide_read()


@router.post(f"{PREFIX}/assessments", response_model=AssessmentRead, status_code=201)
def create_assessment(
    data: AssessmentCreate, session: SessionDep, hub: HubDep, me: Self
) -> AssessmentRead:
    """Assess your own risk: a level and a tailored action plan (private to you)."""
    row = service.create_assessment(
        session=session, owner_id=me.user_id, data=data, now=hub.clock.now()
    )
    return service.assessment_read(session=session, assessment=row)


@router.get(f"{PREFIX}/assessments", response_model=list[AssessmentRead])
def list_assessments(session: SessionDep, me: Self) -> list[AssessmentRead]:
    """Return your own assessments, newest first."""
    rows = service.list_assessments(session=session, owner_id=me.user_id)
    return [service.assessment_read(session=session, assessment=r) for r in rows]


@router.get(f"{PREFIX}/assessments/{{assessment_id}}", response_model=AssessmentRead)
def read_assessment(assessment_id: str, session: SessionDep, me: Self) -> AssessmentRead:
    """Return one of your assessments with its plan and progress."""
    row = service.get_own_assessment(
        session=session, assessment_id=assessment_id, owner_id=me.user_id
    )
    return service.assessment_read(session=session, assessment=row)


@router.put(
    f"{PREFIX}/assessments/{{assessment_id}}/actions/{{action_id}}", response_model=AssessmentRead
)
def update_action(
    assessment_id: str,
    action_id: str,
    data: ActionUpdate,
    session: SessionDep,
    hub: HubDep,
    me: Self,
) -> AssessmentRead:
    """Mark an action of your plan done or not done; return the updated progress."""
    row = service.get_own_assessment(
        session=session, assessment_id=assessment_id, owner_id=me.user_id
    )
    service.set_action(
        session=session, assessment=row, action_id=action_id, data=data, now=hub.clock.now()
    )
    return service.assessment_read(session=session, assessment=row)


@router.put(f"{PREFIX}/assessments/{{assessment_id}}/sharing", response_model=AssessmentRead)
def update_sharing(
    assessment_id: str, data: SharingUpdate, session: SessionDep, hub: HubDep, me: Self
) -> AssessmentRead:
    """Share your assessment with security staff, or withdraw it."""
    row = service.get_own_assessment(
        session=session, assessment_id=assessment_id, owner_id=me.user_id
    )
    service.set_sharing(session=session, assessment=row, shared=data.shared, now=hub.clock.now())
    return service.assessment_read(session=session, assessment=row)


@router.get(f"{PREFIX}/shared-assessments", response_model=list[AssessmentRead])
def list_shared_assessments(session: SessionDep, _: StaffReader) -> list[AssessmentRead]:
    """Return the assessments workers shared with security staff."""
    rows = service.list_shared_assessments(session=session)
    return [service.assessment_read(session=session, assessment=r) for r in rows]


@router.get(f"{PREFIX}/shared-assessments/{{assessment_id}}", response_model=AssessmentRead)
def read_shared_assessment(
    assessment_id: str, session: SessionDep, _: StaffReader
) -> AssessmentRead:
    """Return a shared assessment; an unshared one is not found."""
    row = service.get_shared_assessment(session=session, assessment_id=assessment_id)
    return service.assessment_read(session=session, assessment=row)


# --- PINs and lone-worker timers -------------------------------------------------------------


@router.get(f"{PREFIX}/pins", response_model=PinsRead)
def read_pins(session: SessionDep, me: Self) -> PinsRead:
    """Return whether your check-in and duress PINs are set."""
    return service.pins_status(session=session, owner_id=me.user_id)


@router.put(f"{PREFIX}/pins", response_model=PinsRead)
def update_pins(data: PinsUpdate, session: SessionDep, hub: HubDep, me: Self) -> PinsRead:
    """Set your check-in PIN and duress PIN."""
    service.set_pins(session=session, owner_id=me.user_id, data=data, now=hub.clock.now())
    return service.pins_status(session=session, owner_id=me.user_id)


@router.post(f"{PREFIX}/timers", response_model=TimerRead, status_code=201)
def start_timer(data: TimerCreate, session: SessionDep, hub: HubDep, me: SelfAtSite) -> TimerRead:
    """Start a lone-worker timer for a task or visit (refused when it would alert nobody)."""
    sites = trees.worker_sites(
        sites=hub.extras.get("sites", {}),
        allowed=me.sites_with(Permission.SAFETY_SELF),
        site_id=data.site_id,
    )
    row = service.start_timer(
        session=session,
        owner_id=me.user_id,
        data=data,
        sites=sites,
        context=me.context(),
        now=hub.clock.now(),
    )
    return _timer(row)


@router.get(f"{PREFIX}/timers", response_model=list[TimerRead])
def list_timers(
    session: SessionDep,
    me: Self,
    open_only: Annotated[bool, Query(description="Only active or missed timers.")] = False,
) -> list[TimerRead]:
    """Return your timers, newest first."""
    rows = service.list_timers(session=session, owner_id=me.user_id, open_only=open_only)
    return [_timer(r) for r in rows]


@router.get(f"{PREFIX}/timers/{{timer_id}}", response_model=TimerRead)
def read_timer(timer_id: str, session: SessionDep, me: Self) -> TimerRead:
    """Return one of your timers."""
    return _timer(service.get_own_timer(session=session, timer_id=timer_id, owner_id=me.user_id))


@router.post(f"{PREFIX}/timers/{{timer_id}}/check-in", response_model=TimerRead)
def check_in(timer_id: str, data: CheckIn, session: SessionDep, hub: HubDep, me: Self) -> TimerRead:
    """Check in (the duress PIN or flag answers exactly like a normal check-in)."""
    row = service.get_own_timer(session=session, timer_id=timer_id, owner_id=me.user_id)
    service.check_in(
        session=session, timer=row, data=data, context=me.context(), now=hub.clock.now()
    )
    return _timer(row)


@router.post(f"{PREFIX}/timers/{{timer_id}}/extend", response_model=TimerRead)
def extend_timer(
    timer_id: str, data: Extend, session: SessionDep, hub: HubDep, me: Self
) -> TimerRead:
    """Push your next check-in out by some minutes."""
    row = service.get_own_timer(session=session, timer_id=timer_id, owner_id=me.user_id)
    service.extend(session=session, timer=row, data=data, context=me.context(), now=hub.clock.now())
    return _timer(row)


@router.post(f"{PREFIX}/timers/{{timer_id}}/finish", response_model=TimerRead)
def finish_timer(
    timer_id: str, data: Finish, session: SessionDep, hub: HubDep, me: Self
) -> TimerRead:
    """End your timer: the task or visit is over."""
    row = service.get_own_timer(session=session, timer_id=timer_id, owner_id=me.user_id)
    service.finish(session=session, timer=row, data=data, context=me.context(), now=hub.clock.now())
    return _timer(row)


@router.get(f"{PREFIX}/staff/timers", response_model=list[StaffTimerRead])
def staff_timers(
    session: SessionDep,
    _: Staff,
    open_only: Annotated[bool, Query(description="Only active or missed timers.")] = True,
) -> list[StaffTimerRead]:
    """Return lone workers' timers for security staff (open ones by default)."""
    rows = service.list_timers(session=session, open_only=open_only)
    return [
        StaffTimerRead(
            **_timer(r).model_dump(), owner_id=r.owner_id, missed_at=r.missed_at, run_id=r.run_id
        )
        for r in rows
    ]


# --- reports and doxing ----------------------------------------------------------------------


@router.post(f"{PREFIX}/reports/suspicious-activity", response_model=ReportFiled, status_code=201)
def report_suspicious_activity(
    data: SuspiciousActivityCreate, session: SessionDep, hub: HubDep, me: Self
) -> ReportFiled:
    """Report suspicious activity (optionally anonymously); security is alerted."""
    row = service.file_suspicious_activity(
        session=session,
        reporter_id=me.user_id,
        data=data,
        context=me.context(),
        now=hub.clock.now(),
    )
    return _filed(row)


@router.post(f"{PREFIX}/reports/suspicious-item", response_model=ReportFiled, status_code=201)
def report_suspicious_item(
    data: SuspiciousItemCreate, session: SessionDep, hub: HubDep, me: Self
) -> ReportFiled:
    """Report a suspicious or unattended item; security is alerted."""
    row = service.file_suspicious_item(
        session=session,
        reporter_id=me.user_id,
        data=data,
        context=me.context(),
        now=hub.clock.now(),
    )
    return _filed(row)


@router.post(f"{PREFIX}/reports/threat-call", response_model=ReportFiled, status_code=201)
def report_threat_call(
    data: ThreatCallCreate, session: SessionDep, hub: HubDep, me: Self
) -> ReportFiled:
    """Report a threatening call with the threat-call checklist; security is alerted."""
    row = service.file_threat_call(
        session=session,
        reporter_id=me.user_id,
        data=data,
        context=me.context(),
        now=hub.clock.now(),
    )
    return _filed(row)


@router.get(f"{PREFIX}/reports", response_model=list[ReportRead])
def my_reports(session: SessionDep, me: Self) -> list[ReportRead]:
    """Return the reports you filed under your name (anonymous ones are not linked to you)."""
    rows = service.list_reports(session=session, reporter_id=me.user_id)
    return [service.report_read(session=session, report=r) for r in rows]


@router.get(f"{PREFIX}/staff/reports", response_model=list[ReportRead])
def staff_reports(
    session: SessionDep,
    _: Staff,
    kind: Annotated[str | None, Query(description="Only this kind of report.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReportRead]:
    """Return safety reports routed to security, newest first."""
    rows = service.list_reports(session=session, kind=kind, limit=limit)
    return [service.report_read(session=session, report=r) for r in rows]


@router.get(f"{PREFIX}/staff/reports/{{report_id}}", response_model=ReportRead)
def staff_report(report_id: str, session: SessionDep, _: Staff) -> ReportRead:
    """Return one safety report for security staff."""
    row = service.get_report(session=session, report_id=report_id)
    return service.report_read(session=session, report=row)


@router.post(f"{PREFIX}/doxing", response_model=ReportRead, status_code=201)
def open_doxing(data: DoxingCreate, session: SessionDep, hub: HubDep, me: Self) -> ReportRead:
    """Open a doxing response; security is alerted and the guided steps begin."""
    row = service.open_doxing(
        session=session,
        reporter_id=me.user_id,
        data=data,
        context=me.context(),
        now=hub.clock.now(),
    )
    return service.report_read(session=session, report=row)


@router.get(f"{PREFIX}/doxing/{{case_id}}", response_model=ReportRead)
def read_doxing(case_id: str, session: SessionDep, me: Self) -> ReportRead:
    """Return your doxing case with its recorded steps and the next step."""
    row = service.get_own_report(
        session=session, report_id=case_id, reporter_id=me.user_id, kind="doxing"
    )
    return service.report_read(session=session, report=row)


@router.post(f"{PREFIX}/doxing/{{case_id}}/steps", response_model=ReportRead, status_code=201)
def record_doxing_step(
    case_id: str, data: DoxingStepCreate, session: SessionDep, hub: HubDep, me: Self
) -> ReportRead:
    """Record a step of your doxing response (document, assess, report, lock down, monitor)."""
    row = service.get_own_report(
        session=session, report_id=case_id, reporter_id=me.user_id, kind="doxing"
    )
    service.record_doxing_step(
        session=session, report=row, data=data, context=me.context(), now=hub.clock.now()
    )
    return service.report_read(session=session, report=row)


# --- varied routines -------------------------------------------------------------------------


@router.post(f"{PREFIX}/routines", response_model=RoutineRead, status_code=201)
def create_routine(data: RoutineCreate, session: SessionDep, hub: HubDep, me: Self) -> RoutineRead:
    """Record a recurring trip and its departure window (site time unless a zone is given)."""
    zone = zone_name(default_zone(hub.extras.get("sites", {})))
    row = service.create_routine(
        session=session, owner_id=me.user_id, data=data, now=hub.clock.now(), zone=zone
    )
    return service.routine_read(session=session, routine=row)


@router.get(f"{PREFIX}/routines", response_model=list[RoutineRead])
def list_routines(session: SessionDep, me: Self) -> list[RoutineRead]:
    """Return your recurring trips."""
    rows = service.list_routines(session=session, owner_id=me.user_id)
    return [service.routine_read(session=session, routine=r) for r in rows]


@router.post(f"{PREFIX}/routines/{{routine_id}}/trips", response_model=RoutineRead, status_code=201)
def add_trip(routine_id: str, data: TripCreate, session: SessionDep, me: Self) -> RoutineRead:
    """Record a departure of one of your routines."""
    row = service.get_own_routine(session=session, routine_id=routine_id, owner_id=me.user_id)
    service.add_trip(session=session, routine=row, data=data)
    return service.routine_read(session=session, routine=row)


@router.get(f"{PREFIX}/routines/{{routine_id}}/analysis", response_model=RoutineAnalysis)
def analyse_routine(
    routine_id: str,
    session: SessionDep,
    hub: HubDep,
    me: Self,
    count: Annotated[int, Query(ge=1, le=14, description="How many departures to suggest.")] = 3,
) -> RoutineAnalysis:
    """Flag a predictable routine and suggest varied departures within its window."""
    row = service.get_own_routine(session=session, routine_id=routine_id, owner_id=me.user_id)
    return service.analyse_routine(session=session, routine=row, now=hub.clock.now(), count=count)
