"""Safety logic: keyword-only functions taking a session; they stage events, never commit.

Personal data (answers, task descriptions, locations, report text, caller numbers) is
kept in encrypted columns and never written to logs, events or alarm messages.
"""

from __future__ import annotations

import json
import secrets
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_LONE_WORKER,
    EVENT_SAFETY_REPORT,
    AlarmPayload,
    LoneWorkerPayload,
    SafetyReportPayload,
    make_event,
)
from bastion.core.sitetime import local_to_utc, site_zone
from bastion.safety import guide, trees
from bastion.safety.models import Assessment, CaseStep, Pins, PlanItem, Report, Routine, Timer, Trip
from bastion.safety.schemas import (
    ActionUpdate,
    AssessmentCreate,
    AssessmentRead,
    CaseStepRead,
    CheckIn,
    DoxingCreate,
    DoxingStepCreate,
    Extend,
    Finish,
    GuideItem,
    GuideRead,
    PinsRead,
    PinsUpdate,
    PlanItemRead,
    ReportRead,
    RoutineAnalysis,
    RoutineCreate,
    RoutineRead,
    Suggestion,
    SuspiciousActivityCreate,
    SuspiciousItemCreate,
    ThreatCallCreate,
    TimerCreate,
    TripCreate,
)
from bastion.site.schemas import Site
from bastion.store.crypto import keyring
from bastion.store.ledger import stage

PIN_PURPOSE = "safety-pin"
ANONYMOUS_ACTOR = "safety:anonymous"
WRONG_PIN = "the PIN was not recognised, so nothing was recorded; type your check-in PIN again"
NO_PINS = "no check-in PIN is set; set your PINs first or check in without a PIN"
ReportKind = Literal["suspicious_activity", "suspicious_item", "threat_call", "doxing"]
REPORT_PRIORITY: dict[str, int] = {
    "threat_call": 2,
    "suspicious_item": 2,
    "suspicious_activity": 3,
    "doxing": 3,
}
REPORT_TITLE: dict[str, str] = {
    "threat_call": "Threatening call reported",
    "suspicious_item": "Suspicious or unattended item reported",
    "suspicious_activity": "Suspicious activity reported",
    "doxing": "Doxing reported by a worker",
}


def _actor(owner_id: int) -> str:
    return f"user:{owner_id}"


def _raise_alarm(
    session: Session,
    *,
    alarm_type: str,
    priority: int,
    message: str,
    context: Context,
    now: datetime,
    source_event_id: str | None = None,
) -> str:
    """Stage an ``alarm.raised`` event for the alarms runtime; return its event id."""
    event = make_event(
        EVENT_ALARM_RAISED,
        AlarmPayload(
            alarm_type=alarm_type,
            priority=priority,
            message=message,
            source_event_id=source_event_id,
        ),
        context=context,
        time=now,
    )
    stage(session, event)
    return event.id


# --- guide -----------------------------------------------------------------------------------


def guide_read() -> GuideRead:
    """Return the guide's factors, sections and checklists."""
    return GuideRead(
        factors=[GuideItem(id=f.id, text=f.question, group=f.group) for f in guide.FACTORS],
        sections=dict(guide.SECTIONS),
        warning_signs=[GuideItem(id=i.id, text=i.text) for i in guide.WARNING_SIGNS],
        item_indicators=[GuideItem(id=i.id, text=i.text) for i in guide.ITEM_INDICATORS],
        threat_call_steps=[GuideItem(id=i.id, text=i.text) for i in guide.THREAT_CALL_STEPS],
        voice_traits=list(guide.VOICE_TRAITS),
        background_noises=list(guide.BACKGROUND_NOISES),
        doxing_steps=[GuideItem(id=i.id, text=i.text) for i in guide.DOXING_STEPS],
        exposure_kinds=list(guide.EXPOSURE_KINDS),
    )


def _check_codes(
    values: Sequence[str], allowed: frozenset[str] | tuple[str, ...], what: str
) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown {what}: {', '.join(unknown)}; see GET /api/safety/guide")


# --- risk self-assessment --------------------------------------------------------------------


def create_assessment(
    *, session: Session, owner_id: int, data: AssessmentCreate, now: datetime
) -> Assessment:
    """Score the answers, derive the level and store the tailored plan (private)."""
    _check_codes(list(data.answers), guide.FACTOR_IDS, "risk factor(s)")
    answers = {f.id: bool(data.answers.get(f.id, False)) for f in guide.FACTORS}
    assessment = Assessment(
        id=new_id(),
        owner_id=owner_id,
        answers=json.dumps(answers, sort_keys=True),
        notes=data.notes,
        level=guide.level_for(answers),
        shared=False,
        created_at=now,
        updated_at=now,
    )
    session.add(assessment)
    for position, action in enumerate(guide.plan_for(answers)):
        session.add(PlanItem(assessment_id=assessment.id, position=position, action_id=action.id))
    session.flush()
    return assessment


def list_assessments(*, session: Session, owner_id: int) -> list[Assessment]:
    """Return the worker's own assessments, newest first."""
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.owner_id == owner_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )
    return list(rows)


def get_own_assessment(*, session: Session, assessment_id: str, owner_id: int) -> Assessment:
    """Return the worker's assessment; anyone else's reads as not found."""
    row = session.get(Assessment, assessment_id)
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no assessment {assessment_id!r} of yours")
    return row


def get_shared_assessment(*, session: Session, assessment_id: str) -> Assessment:
    """Return an assessment its owner shared; an unshared one reads as not found."""
    row = session.get(Assessment, assessment_id)
    if row is None or not row.shared:
        raise NotFound(f"no shared assessment {assessment_id!r}")
    return row


def list_shared_assessments(*, session: Session) -> list[Assessment]:
    """Return the assessments workers chose to share, newest first."""
    rows = session.scalars(
        select(Assessment).where(Assessment.shared.is_(True)).order_by(Assessment.updated_at.desc())
    )
    return list(rows)


def assessment_read(*, session: Session, assessment: Assessment) -> AssessmentRead:
    """Return the assessment with its plan and progress."""
    actions = {a.id: a for a in guide.ACTIONS}
    items = session.scalars(
        select(PlanItem).where(PlanItem.assessment_id == assessment.id).order_by(PlanItem.position)
    ).all()
    plan = [
        PlanItemRead(
            action_id=i.action_id,
            section=actions[i.action_id].section,
            text=actions[i.action_id].text,
            done=i.done_at is not None,
            done_at=i.done_at,
        )
        for i in items
        if i.action_id in actions
    ]
    answers: dict[str, bool] = json.loads(assessment.answers)
    done = sum(1 for p in plan if p.done)
    return AssessmentRead(
        id=assessment.id,
        owner_id=assessment.owner_id,
        answers=answers,
        notes=assessment.notes,
        level=assessment.level,
        score=guide.score(answers),
        shared=assessment.shared,
        created_at=assessment.created_at,
        updated_at=assessment.updated_at,
        plan=plan,
        done=done,
        total=len(plan),
        progress=round(done / len(plan), 3) if plan else 1.0,
    )


def set_action(
    *, session: Session, assessment: Assessment, action_id: str, data: ActionUpdate, now: datetime
) -> None:
    """Mark one plan action done (or not done)."""
    item = session.scalars(
        select(PlanItem).where(
            PlanItem.assessment_id == assessment.id, PlanItem.action_id == action_id
        )
    ).first()
    if item is None:
        raise NotFound(f"action {action_id!r} is not part of this plan")
    if data.done and item.done_at is None:
        item.done_at = now
    elif not data.done:
        item.done_at = None
    assessment.updated_at = now


def set_sharing(*, session: Session, assessment: Assessment, shared: bool, now: datetime) -> None:
    """Share the assessment with security staff, or withdraw it."""
    assessment.shared = shared
    assessment.updated_at = now
    session.flush()


# --- PINs ------------------------------------------------------------------------------------


def _pin_hash(owner_id: int, pin: str) -> str:
    return keyring().keyed_hash(f"{owner_id}:{pin}", purpose=PIN_PURPOSE)


def set_pins(*, session: Session, owner_id: int, data: PinsUpdate, now: datetime) -> Pins:
    """Store the check-in and duress PINs as keyed hashes."""
    row = session.get(Pins, owner_id)
    if row is None:
        row = Pins(owner_id=owner_id, checkin_hash="", duress_hash="", updated_at=now)
        session.add(row)
    row.checkin_hash = _pin_hash(owner_id, data.checkin_pin)
    row.duress_hash = _pin_hash(owner_id, data.duress_pin)
    row.updated_at = now
    session.flush()
    return row


def pins_status(*, session: Session, owner_id: int) -> PinsRead:
    """Return whether PINs are set."""
    row = session.get(Pins, owner_id)
    return PinsRead(configured=row is not None, updated_at=row.updated_at if row else None)


def classify_pin(*, session: Session, owner_id: int, pin: str | None) -> bool:
    """Return True for the duress PIN, False for the check-in PIN or no PIN.

    Anything else is neither: it raises InvalidInput and nothing is recorded.
    """
    if pin is None:
        return False
    row = session.get(Pins, owner_id)
    if row is None:
        raise InvalidInput(NO_PINS)
    digest = _pin_hash(owner_id, pin)
    if secrets.compare_digest(digest, row.duress_hash):
        return True
    if secrets.compare_digest(digest, row.checkin_hash):
        return False
    raise InvalidInput(WRONG_PIN)


# --- lone-worker timers ----------------------------------------------------------------------


def _timer_event(timer: Timer, action: str, context: Context, now: datetime) -> Any:
    return make_event(
        EVENT_LONE_WORKER,
        LoneWorkerPayload(
            timer_id=timer.id,
            subject=_actor(timer.owner_id),
            action=action,
            due_at=timer.due_at if timer.status != "finished" else None,
        ),
        context=context,
        time=now,
    )


def start_timer(
    *,
    session: Session,
    owner_id: int,
    data: TimerCreate,
    sites: Sequence[Site],
    context: Context,
    now: datetime,
) -> Timer:
    """Start a lone-worker timer; the first check-in is due after the interval.

    The timer keeps the call tree it will alert (the one chosen, else the site's safety
    tree of ``sites``, the worker's); one that would reach nobody is refused.
    """
    tree_id = trees.timer_call_tree(session=session, chosen=data.call_tree_id, sites=sites)
    timer = Timer(
        id=new_id(),
        owner_id=owner_id,
        task=data.task,
        location=data.location,
        interval_s=data.interval_minutes * 60,
        call_tree_id=tree_id,
        status="active",
        started_at=now,
        due_at=now + timedelta(minutes=data.interval_minutes),
        checkins=0,
    )
    session.add(timer)
    session.flush()
    stage(session, _timer_event(timer, "started", context, now))
    return timer


def get_own_timer(*, session: Session, timer_id: str, owner_id: int) -> Timer:
    """Return the worker's timer; anyone else's reads as not found."""
    row = session.get(Timer, timer_id)
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no lone-worker timer {timer_id!r} of yours")
    return row


def list_timers(
    *, session: Session, owner_id: int | None = None, open_only: bool = False
) -> list[Timer]:
    """Return timers (one worker's, or everyone's), newest first."""
    query = select(Timer).order_by(Timer.started_at.desc(), Timer.id.desc())
    if owner_id is not None:
        query = query.where(Timer.owner_id == owner_id)
    if open_only:
        query = query.where(Timer.status.in_(("active", "missed")))
    return list(session.scalars(query))


def _require_open(timer: Timer) -> None:
    if timer.status == "finished":
        raise Conflict("this timer is finished; start a new timer for the next task")


def _duress(session: Session, timer: Timer, context: Context, now: datetime) -> None:
    """Raise the silent priority-1 duress alarm (no location or task in the message)."""
    _raise_alarm(
        session,
        alarm_type="duress",
        priority=1,
        message=f"Duress signal from a lone worker (timer {timer.id})",
        context=context.child(actor="safety"),
        now=now,
    )


def check_in(
    *, session: Session, timer: Timer, data: CheckIn, context: Context, now: datetime
) -> Timer:
    """Record a check-in; the duress PIN or flag also raises a silent alarm.

    The timer changes exactly as for a normal check-in, so the answer looks the same.
    """
    duress = classify_pin(session=session, owner_id=timer.owner_id, pin=data.pin) or data.duress
    _require_open(timer)
    if data.location is not None:
        timer.location = data.location
    timer.status = "active"
    timer.last_checkin_at = now
    timer.checkins += 1
    timer.due_at = now + timedelta(seconds=timer.interval_s)
    session.flush()
    stage(session, _timer_event(timer, "checked_in", context, now))
    if duress:
        _duress(session, timer, context, now)
    return timer


def extend(
    *, session: Session, timer: Timer, data: Extend, context: Context, now: datetime
) -> Timer:
    """Push the next check-in out by ``data.minutes`` (counts as a sign of life)."""
    duress = classify_pin(session=session, owner_id=timer.owner_id, pin=data.pin)
    _require_open(timer)
    timer.status = "active"
    timer.last_checkin_at = now
    timer.due_at = max(timer.due_at, now) + timedelta(minutes=data.minutes)
    session.flush()
    stage(session, _timer_event(timer, "extended", context, now))
    if duress:
        _duress(session, timer, context, now)
    return timer


def finish(
    *, session: Session, timer: Timer, data: Finish, context: Context, now: datetime
) -> Timer:
    """End the timer; finishing with the duress PIN still raises the silent alarm."""
    duress = classify_pin(session=session, owner_id=timer.owner_id, pin=data.pin)
    _require_open(timer)
    timer.status = "finished"
    timer.finished_at = now
    timer.last_checkin_at = now
    session.flush()
    stage(session, _timer_event(timer, "finished", context, now))
    if duress:
        _duress(session, timer, context, now)
    return timer


@dataclass(frozen=True, slots=True)
class MissedTimer:
    """A timer that just went overdue: which call tree to start, under which context."""

    timer_id: str
    call_tree_id: str | None
    context: Context


def mark_missed(*, session: Session, now: datetime) -> list[MissedTimer]:
    """Mark every active timer past due as missed and raise an alarm for each."""
    due = session.scalars(
        select(Timer).where(Timer.status == "active", Timer.due_at <= now).order_by(Timer.due_at)
    ).all()
    missed: list[MissedTimer] = []
    for timer in due:
        timer.status = "missed"
        timer.missed_at = now
        context = Context(actor="safety")
        event = _timer_event(timer, "missed", context, now)
        stage(session, event)
        _raise_alarm(
            session,
            alarm_type="lone_worker_missed",
            priority=2,
            message=f"Lone worker missed a check-in (timer {timer.id})",
            context=context,
            now=now,
            source_event_id=event.id,
        )
        missed.append(MissedTimer(timer.id, timer.call_tree_id, context))
    session.flush()
    return missed


def record_run(*, session: Session, timer_id: str, run_id: str) -> None:
    """Remember the call-tree run started for a missed timer."""
    timer = session.get(Timer, timer_id)
    if timer is not None:
        timer.run_id = run_id


# --- reports ---------------------------------------------------------------------------------


def _file(
    session: Session,
    *,
    kind: ReportKind,
    reporter_id: int | None,
    indicators: list[str],
    details: dict[str, Any],
    occurred_at: datetime | None,
    context: Context,
    now: datetime,
) -> Report:
    report_id = new_id()
    anonymous = reporter_id is None
    event = make_event(
        EVENT_SAFETY_REPORT,
        SafetyReportPayload(
            report_id=report_id,
            kind=kind,
            action="filed",
            anonymous=anonymous,
            subject=None if anonymous else _actor(reporter_id or 0),
        ),
        context=context,
        time=now,
    )
    stage(session, event)
    priority = REPORT_PRIORITY[kind]
    alarm_id = _raise_alarm(
        session,
        alarm_type=kind,
        priority=priority,
        message=f"{REPORT_TITLE[kind]} (report {report_id})",
        context=context.child(actor="safety"),
        now=now,
        source_event_id=event.id,
    )
    report = Report(
        id=report_id,
        kind=kind,
        reporter_id=reporter_id,
        anonymous=anonymous,
        indicators=sorted(set(indicators)),
        details=json.dumps(details, sort_keys=True, default=str),
        priority=priority,
        status="open",
        occurred_at=occurred_at or now,
        alarm_event_id=alarm_id,
        created_at=now,
    )
    session.add(report)
    session.flush()
    return report


def file_suspicious_activity(
    *,
    session: Session,
    reporter_id: int,
    data: SuspiciousActivityCreate,
    context: Context,
    now: datetime,
) -> Report:
    """File a suspicious-activity report (anonymous on request) and alert security."""
    _check_codes(data.warning_signs, guide.WARNING_SIGN_IDS, "warning sign(s)")
    anonymous = data.anonymous
    return _file(
        session,
        kind="suspicious_activity",
        reporter_id=None if anonymous else reporter_id,
        indicators=data.warning_signs,
        details={"description": data.description, "location": data.location},
        occurred_at=data.occurred_at,
        context=Context(actor=ANONYMOUS_ACTOR) if anonymous else context,
        now=now,
    )


def file_suspicious_item(
    *,
    session: Session,
    reporter_id: int,
    data: SuspiciousItemCreate,
    context: Context,
    now: datetime,
) -> Report:
    """File a suspicious or unattended item report and alert security."""
    _check_codes(data.indicators, guide.ITEM_INDICATOR_IDS, "item indicator(s)")
    return _file(
        session,
        kind="suspicious_item",
        reporter_id=reporter_id,
        indicators=data.indicators,
        details={"description": data.description, "location": data.location},
        occurred_at=data.occurred_at,
        context=context,
        now=now,
    )


def file_threat_call(
    *, session: Session, reporter_id: int, data: ThreatCallCreate, context: Context, now: datetime
) -> Report:
    """File a threatening-call report from the threat-call checklist and alert security."""
    _check_codes(data.voice, guide.VOICE_TRAITS, "voice trait(s)")
    _check_codes(data.background, guide.BACKGROUND_NOISES, "background noise(s)")
    _check_codes(data.steps_taken, tuple(i.id for i in guide.THREAT_CALL_STEPS), "step(s)")
    if data.call_time > now + timedelta(minutes=5):
        raise InvalidInput("call_time is in the future")
    return _file(
        session,
        kind="threat_call",
        reporter_id=reporter_id,
        indicators=data.steps_taken,
        details={
            "exact_words": data.exact_words,
            "caller_number": data.caller_number,
            "duration_s": data.duration_s,
            "voice": sorted(set(data.voice)),
            "background": sorted(set(data.background)),
            "notes": data.notes,
        },
        occurred_at=data.call_time,
        context=context,
        now=now,
    )


def open_doxing(
    *, session: Session, reporter_id: int, data: DoxingCreate, context: Context, now: datetime
) -> Report:
    """Open a doxing response case (an incident for security) for the worker."""
    return _file(
        session,
        kind="doxing",
        reporter_id=reporter_id,
        indicators=[],
        details={"description": data.description},
        occurred_at=None,
        context=context,
        now=now,
    )


def get_report(*, session: Session, report_id: str) -> Report:
    """Return a report."""
    row = session.get(Report, report_id)
    if row is None:
        raise NotFound(f"no safety report {report_id!r}")
    return row


def get_own_report(
    *, session: Session, report_id: str, reporter_id: int, kind: str | None = None
) -> Report:
    """Return a report the worker filed under their name (anonymous ones are nobody's)."""
    row = session.get(Report, report_id)
    if row is None or row.reporter_id != reporter_id or (kind is not None and row.kind != kind):
        raise NotFound(f"no {kind or 'safety'} report {report_id!r} of yours")
    return row


def list_reports(
    *, session: Session, kind: str | None = None, reporter_id: int | None = None, limit: int = 100
) -> list[Report]:
    """Return reports, newest first (optionally one kind or one reporter's)."""
    query = select(Report).order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Report.kind == kind)
    if reporter_id is not None:
        query = query.where(Report.reporter_id == reporter_id)
    return list(session.scalars(query))


def _steps(session: Session, report_id: str) -> list[CaseStep]:
    return list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.report_id == report_id)
            .order_by(CaseStep.recorded_at, CaseStep.id)
        )
    )


def record_doxing_step(
    *, session: Session, report: Report, data: DoxingStepCreate, context: Context, now: datetime
) -> CaseStep:
    """Record one step of the doxing response on its case."""
    if report.kind != "doxing":
        raise Conflict("steps are recorded on doxing cases only")
    _check_codes(data.exposed, guide.EXPOSURE_KINDS, "exposure kind(s)")
    if data.step == "assess" and not data.exposed:
        raise InvalidInput("the assess step needs at least one exposed item (see exposure_kinds)")
    step = CaseStep(
        report_id=report.id,
        step=data.step,
        data=json.dumps(
            {"notes": data.notes, "exposed": data.exposed, "platforms": data.platforms}
        ),
        recorded_at=now,
    )
    session.add(step)
    done = {s.step for s in _steps(session, report.id)} | {data.step}
    if all(s in done for s in guide.DOXING_STEP_IDS):
        report.status = "closed"
    stage(
        session,
        make_event(
            EVENT_SAFETY_REPORT,
            SafetyReportPayload(
                report_id=report.id,
                kind="doxing",
                action="step_recorded",
                subject=_actor(report.reporter_id or 0),
                step=data.step,
            ),
            context=context,
            time=now,
        ),
    )
    session.flush()
    return step


def report_read(*, session: Session, report: Report) -> ReportRead:
    """Return a report with its details (decrypted) and doxing steps."""
    steps = []
    for s in _steps(session, report.id):
        data = json.loads(s.data)
        steps.append(
            CaseStepRead(
                step=s.step,
                notes=data.get("notes", ""),
                exposed=data.get("exposed", []),
                platforms=data.get("platforms", []),
                recorded_at=s.recorded_at,
            )
        )
    next_step = None
    if report.kind == "doxing":
        done = {s.step for s in steps}
        next_step = next((s for s in guide.DOXING_STEP_IDS if s not in done), None)
    return ReportRead(
        id=report.id,
        kind=report.kind,
        anonymous=report.anonymous,
        reporter_id=report.reporter_id,
        indicators=list(report.indicators),
        details=json.loads(report.details),
        priority=report.priority,
        status=report.status,
        occurred_at=report.occurred_at,
        created_at=report.created_at,
        steps=steps,
        next_step=next_step,
    )


# --- varied routines -------------------------------------------------------------------------

MIN_TRIPS = 4
RECENT_TRIPS = 10


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def create_routine(
    *, session: Session, owner_id: int, data: RoutineCreate, now: datetime, zone: str = "UTC"
) -> Routine:
    """Record a recurring trip and its departure window (HH:MM on the clock of ``zone``).

    The window's own ``timezone`` wins over ``zone`` (the site's, from the caller).
    """
    routine = Routine(
        id=new_id(),
        owner_id=owner_id,
        name=data.name,
        window_start_min=_minutes(data.window_start),
        window_end_min=_minutes(data.window_end),
        timezone=data.timezone or zone,
        routes=json.dumps(list(dict.fromkeys(data.routes))),
        created_at=now,
    )
    session.add(routine)
    session.flush()
    return routine


def get_own_routine(*, session: Session, routine_id: str, owner_id: int) -> Routine:
    """Return the worker's routine; anyone else's reads as not found."""
    row = session.get(Routine, routine_id)
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no routine {routine_id!r} of yours")
    return row


def list_routines(*, session: Session, owner_id: int) -> list[Routine]:
    """Return the worker's routines."""
    query = select(Routine).where(Routine.owner_id == owner_id).order_by(Routine.created_at)
    return list(session.scalars(query))


def _trips(session: Session, routine_id: str, limit: int | None = None) -> list[Trip]:
    query = select(Trip).where(Trip.routine_id == routine_id).order_by(Trip.departed_at.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def routine_read(*, session: Session, routine: Routine) -> RoutineRead:
    """Return a routine as the API shows it."""
    return RoutineRead(
        id=routine.id,
        name=routine.name,
        window_start=_hhmm(routine.window_start_min),
        window_end=_hhmm(routine.window_end_min),
        timezone=routine.timezone,
        routes=json.loads(routine.routes),
        trips=len(_trips(session, routine.id)),
        created_at=routine.created_at,
    )


def add_trip(*, session: Session, routine: Routine, data: TripCreate) -> Trip:
    """Record a departure (a route not yet known is added to the routine's routes)."""
    if data.route is not None:
        routes: list[str] = json.loads(routine.routes)
        if data.route not in routes:
            routine.routes = json.dumps([*routes, data.route])
    trip = Trip(routine_id=routine.id, departed_at=data.departed_at, route=data.route)
    session.add(trip)
    session.flush()
    return trip


def _minute_of_day(when: datetime, zone: tzinfo) -> int:
    """Return the minute of the day ``when`` falls on, on the clock of ``zone``."""
    local = when.astimezone(zone)
    return local.hour * 60 + local.minute


def time_spread(minutes: Sequence[int]) -> float:
    """Return the population standard deviation of departure minutes of the day."""
    return float(statistics.pstdev(minutes)) if len(minutes) > 1 else 0.0


def spread_threshold(window_minutes: int) -> float:
    """Return the spread below which departures count as predictable for a window."""
    return max(5.0, min(15.0, window_minutes / 6))


def suggest_minutes(
    *,
    start: int,
    end: int,
    recent: Sequence[int],
    count: int,
    rng: secrets.SystemRandom | None = None,
) -> list[int]:
    """Pick ``count`` departure minutes in [start, end], away from recent and each other."""
    chooser = rng or secrets.SystemRandom()
    width = end - start
    gap = max(1, width // (count + 3))
    taken = list(recent)
    picks: list[int] = []
    for _ in range(count):
        candidates = list(range(start, end + 1))
        far = [m for m in candidates if all(abs(m - t) >= gap for t in taken)]
        pick = chooser.choice(far or candidates)
        picks.append(pick)
        taken.append(pick)
    return picks


def analyse_routine(
    *, session: Session, routine: Routine, now: datetime, count: int = 3
) -> RoutineAnalysis:
    """Flag a predictable routine (time spread, single route) and suggest varied departures."""
    trips = _trips(session, routine.id, RECENT_TRIPS)
    zone = site_zone(routine.timezone)
    minutes = [_minute_of_day(t.departed_at, zone) for t in trips]
    width = routine.window_end_min - routine.window_start_min
    findings: list[str] = []
    spread: float | None = None
    predictable_time = False
    if len(trips) >= MIN_TRIPS:
        spread = round(time_spread(minutes), 1)
        threshold = spread_threshold(width)
        if spread < threshold:
            predictable_time = True
            findings.append(
                f"the last {len(trips)} departures are within ±{spread:.0f} minutes of each "
                f"other (less than {threshold:.0f}); vary the time across the whole window"
            )
    else:
        findings.append(f"record at least {MIN_TRIPS} trips to judge how predictable this is")
    routes: list[str] = json.loads(routine.routes)
    taken = [t.route for t in trips if t.route]
    predictable_route = False
    if len(taken) >= MIN_TRIPS and len(set(taken)) == 1:
        predictable_route = True
        findings.append(
            "every recent trip took the same route; alternate between routes"
            if len(routes) > 1
            else "only one route is known; plan at least one alternative route"
        )
    picks = suggest_minutes(
        start=routine.window_start_min,
        end=routine.window_end_min,
        recent=minutes[:3],
        count=count,
    )
    last_used = {route: i for i, route in reversed(list(enumerate(taken)))}
    order = sorted(routes, key=lambda r: -last_used.get(r, len(taken) + 1))
    suggestions = []
    today = now.astimezone(zone).date()
    for day, minute in enumerate(picks, start=1):
        wall = time(minute // 60, minute % 60)
        depart = local_to_utc(today + timedelta(days=day), wall, zone)
        route = order[(day - 1) % len(order)] if order else None
        suggestions.append(Suggestion(depart_at=depart, route=route))
    return RoutineAnalysis(
        routine_id=routine.id,
        trips_considered=len(trips),
        time_spread_minutes=spread,
        predictable_time=predictable_time,
        predictable_route=predictable_route,
        findings=findings,
        suggestions=suggestions,
    )
