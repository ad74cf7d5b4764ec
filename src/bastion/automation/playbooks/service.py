"""Playbook runs, timed steps, muster roll calls, run reports and a person's timeline.

Keyword-only functions taking a session; they stage their ledger events with the
changes and never commit. Sending and door commands happen in the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bastion.automation.playbooks.config import PlaybookConfig
from bastion.automation.playbooks.models import MusterEntry, PlaybookRun, PlaybookStep
from bastion.automation.playbooks.presence import Presence, on_site
from bastion.automation.playbooks.schemas import (
    Gap,
    MusterEntryRead,
    MusterRead,
    RunRead,
    RunReport,
    StepRead,
    TimelineItem,
)
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_MUSTER,
    EVENT_PLAYBOOK_RUN,
    Event,
    MusterPayload,
    PlaybookRunPayload,
    make_event,
)
from bastion.notify.schemas import CallTreeRun
from bastion.safety import guide as safety_guide
from bastion.safety import service as safety_service
from bastion.safety.schemas import ThreatCallCreate
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow, stage

TIMELINE_ALARM_WINDOW = timedelta(minutes=10)


def _elapsed(run: PlaybookRun, now: datetime) -> float:
    return round(max(0.0, (now - run.started_at).total_seconds()), 3)


def _stage_run(
    session: Session,
    run: PlaybookRun,
    action: str,
    *,
    context: Context,
    now: datetime,
    step_id: str | None = None,
    outcome: str = "",
) -> None:
    stage(
        session,
        make_event(
            EVENT_PLAYBOOK_RUN,
            PlaybookRunPayload(
                run_id=run.id,
                playbook_id=run.playbook_id,
                action=action,
                drill=run.drill,
                step_id=step_id,
                outcome=outcome,
                elapsed_s=_elapsed(run, now),
                zone_id=run.zone_id,
                trigger_event_id=run.trigger_event_id,
            ),
            context=context,
            time=now,
            site=run.site_id,
        ),
    )


def run_context(run: PlaybookRun, actor: str | None = None) -> Context:
    """Return a child context of the run (its actions are caused by the run)."""
    return Context(actor=actor or f"playbook:{run.playbook_id}", parent_id=run.context_id)


# --- runs -------------------------------------------------------------------------------------


def create_run(
    *,
    session: Session,
    playbook: PlaybookConfig,
    site_id: str | None,
    zone_id: str | None,
    drill: bool,
    context: Context,
    now: datetime,
    trigger: Event[Any] | None = None,
    note: str = "",
) -> PlaybookRun:
    """Record a run with one pending row per step; stage ``playbook.run`` started."""
    run = PlaybookRun(
        id=new_id(),
        playbook_id=playbook.id,
        playbook_name=playbook.name,
        site_id=site_id,
        zone_id=zone_id,
        drill=drill,
        status="active",
        trigger_event_id=trigger.id if trigger is not None else None,
        trigger_type=trigger.type.name if trigger is not None else None,
        started_at=now,
        started_by=context.actor,
        context_id=context.id,
        note=note or None,
        steps=[
            PlaybookStep(
                position=i,
                step_id=s.id,
                title=s.title,
                kind=s.kind,
                after=s.after,
                target_s=s.target_s,
                status="pending",
                detail="",
            )
            for i, s in enumerate(playbook.steps)
        ],
    )
    session.add(run)
    session.flush()
    _stage_run(session, run, "started", context=context, now=now)
    return run


def active_run(*, session: Session, playbook_id: str, site_id: str | None) -> PlaybookRun | None:
    """Return the real (not drill) run of a playbook in progress at a site, if any."""
    query = select(PlaybookRun).where(
        PlaybookRun.playbook_id == playbook_id,
        PlaybookRun.status == "active",
        PlaybookRun.drill.is_(False),
    )
    query = query.where(
        PlaybookRun.site_id.is_(None) if site_id is None else PlaybookRun.site_id == site_id
    )
    return session.scalars(query.order_by(PlaybookRun.started_at.desc())).first()


def record_skipped_trigger(
    *, session: Session, run: PlaybookRun, trigger: Event[Any], now: datetime
) -> None:
    """Note in the ledger that a trigger found the run already in progress."""
    stage(
        session,
        make_event(
            EVENT_PLAYBOOK_RUN,
            PlaybookRunPayload(
                run_id=run.id,
                playbook_id=run.playbook_id,
                action="skipped",
                drill=run.drill,
                outcome="already running",
                trigger_event_id=trigger.id,
            ),
            context=trigger.context.child(actor=f"playbook:{run.playbook_id}"),
            time=now,
            site=run.site_id,
        ),
    )


def get_run(*, session: Session, run_id: str) -> PlaybookRun:
    """Return a run; raise NotFound."""
    run = session.get(PlaybookRun, run_id)
    if run is None:
        raise NotFound(f"no playbook run {run_id!r}")
    return run


def list_runs(
    *, session: Session, active_only: bool = False, limit: int = 50, site_ids: Iterable[str] | None
) -> list[PlaybookRun]:
    """Return the newest runs first (only those of ``site_ids`` when given)."""
    query = select(PlaybookRun).order_by(PlaybookRun.started_at.desc(), PlaybookRun.id.desc())
    if active_only:
        query = query.where(PlaybookRun.status == "active")
    if site_ids is not None:
        query = query.where(PlaybookRun.site_id.in_(sorted(site_ids)))
    return list(session.scalars(query.limit(limit)))


def get_step(*, session: Session, run: PlaybookRun, step_id: str) -> PlaybookStep:
    """Return a step of a run; raise NotFound."""
    for step in run.steps:
        if step.step_id == step_id:
            return step
    raise NotFound(f"run {run.id!r} has no step {step_id!r}")


def check_threat_call(answers: ThreatCallCreate) -> None:
    """Refuse checklist choices the personal-security guide does not list."""
    for values, known, what in (
        (answers.voice, safety_guide.VOICE_TRAITS, "voice trait"),
        (answers.background, safety_guide.BACKGROUND_NOISES, "background noise"),
        (answers.steps_taken, tuple(i.id for i in safety_guide.THREAT_CALL_STEPS), "step"),
    ):
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidInput(f"threat-call checklist: unknown {what}(s) {', '.join(unknown)}")


def complete_threat_call(
    *,
    session: Session,
    run: PlaybookRun,
    step_id: str,
    answers: ThreatCallCreate,
    reporter_id: int,
    context: Context,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Complete a threat-call checklist step; file it as a safety report unless in a drill.

    Returns True when a report was filed.
    """
    check_threat_call(answers)
    filed = not run.drill
    if filed:
        report = safety_service.file_threat_call(
            session=session, reporter_id=reporter_id, data=answers, context=context, now=now
        )
        detail = f"threat-call report {report.id} filed"
    else:
        detail = "drill: threat-call form checked, not filed"
    complete_step(
        session=session,
        run=run,
        step_id=step_id,
        status="done",
        context=context,
        now=now,
        detail=detail,
        note=note,
        answers=answers.model_dump_json(),
    )
    return filed


def complete_step(
    *,
    session: Session,
    run: PlaybookRun,
    step_id: str,
    status: str,
    context: Context,
    now: datetime,
    detail: str = "",
    note: str | None = None,
    answers: str | None = None,
    notify_run_id: str | None = None,
) -> PlaybookStep:
    """Mark a pending step done, skipped, failed or simulated, timed from the run's start."""
    if run.status != "active":
        raise Conflict(f"run {run.id!r} is {run.status}")
    step = get_step(session=session, run=run, step_id=step_id)
    if step.status != "pending":
        raise Conflict(f"step {step_id!r} is already {step.status}")
    if status == "skipped" and not (note or "").strip():
        raise InvalidInput("give a reason to skip a step")
    step.status = status
    step.completed_at = now
    step.elapsed_s = _elapsed(run, now)
    step.completed_by = context.actor
    step.detail = detail[:2000]
    step.note = note or None
    step.answers = answers
    step.notify_run_id = notify_run_id
    session.flush()
    _stage_run(session, run, "step", context=context, now=now, step_id=step_id, outcome=status)
    return step


def finish_run(
    *, session: Session, run: PlaybookRun, context: Context, now: datetime, cancel: bool = False
) -> PlaybookRun:
    """Close a run; pending steps stay pending (the report shows them as missed)."""
    if run.status != "active":
        raise Conflict(f"run {run.id!r} is already {run.status}")
    run.status = "cancelled" if cancel else "finished"
    run.finished_at = now
    session.flush()
    _stage_run(session, run, "cancelled" if cancel else "finished", context=context, now=now)
    return run


def run_read(run: PlaybookRun, *, now: datetime) -> RunRead:
    """Return the API shape of a run; a pending step past its target is late."""
    elapsed = _elapsed(run, run.finished_at or now)
    return RunRead(
        id=run.id,
        playbook_id=run.playbook_id,
        playbook_name=run.playbook_name,
        site_id=run.site_id,
        zone_id=run.zone_id,
        drill=run.drill,
        status=run.status,
        trigger_type=run.trigger_type,
        trigger_event_id=run.trigger_event_id,
        started_at=run.started_at,
        started_by=run.started_by,
        finished_at=run.finished_at,
        muster_started_at=run.muster_started_at,
        steps=[
            StepRead(
                step_id=s.step_id,
                title=s.title,
                kind=s.kind,
                after=s.after,
                target_s=s.target_s,
                status=s.status,
                completed_at=s.completed_at,
                elapsed_s=s.elapsed_s,
                completed_by=s.completed_by,
                detail=s.detail,
                notify_run_id=s.notify_run_id,
                late=s.target_s is not None
                and (
                    (s.elapsed_s or 0) > s.target_s
                    if s.completed_at is not None
                    else elapsed > s.target_s
                ),
            )
            for s in run.steps
        ],
    )


def run_report(
    *, session: Session, run: PlaybookRun, notify_runs: Iterable[CallTreeRun], now: datetime
) -> RunReport:
    """Return the gaps of a run: steps missed or slow, failures, unacknowledged, unaccounted."""
    read = run_read(run, now=now)
    end = run.finished_at or now
    gaps: list[Gap] = []
    for step in read.steps:
        if step.status == "pending" and not step.after:
            gaps.append(Gap(kind="missed", step_id=step.step_id, detail=f"{step.title}: not done"))
        elif step.status == "failed":
            gaps.append(Gap(kind="failed", step_id=step.step_id, detail=step.detail or step.title))
        elif step.late and step.elapsed_s is not None and step.target_s is not None:
            gaps.append(
                Gap(
                    kind="slow",
                    step_id=step.step_id,
                    detail=f"{step.title}: {step.elapsed_s:.0f} s (target {step.target_s:.0f} s)",
                )
            )
    acknowledged: list[str] = []
    unacknowledged: list[str] = []
    for notify_run in notify_runs:
        for recipient in notify_run.recipients:
            if recipient.acknowledged_at is not None:
                acknowledged.append(recipient.contact_name)
            else:
                unacknowledged.append(recipient.contact_name)
                gaps.append(
                    Gap(
                        kind="unacknowledged",
                        detail=f"{recipient.contact_name} (tier {recipient.tier + 1}, "
                        f"{recipient.status}) did not acknowledge {notify_run.tree_name}",
                    )
                )
    for entry in session.scalars(
        select(MusterEntry).where(MusterEntry.run_id == run.id, MusterEntry.status != "safe")
    ):
        gaps.append(
            Gap(
                kind="unaccounted",
                detail=f"{entry.name} ({entry.status}, last seen {entry.zone_id or 'nowhere recorded'})",
            )
        )
    return RunReport(
        run=read,
        duration_s=round((end - run.started_at).total_seconds(), 3),
        gaps=gaps,
        # One name once, though several notify steps may each have reached the person.
        acknowledged=list(dict.fromkeys(acknowledged)),
        unacknowledged=list(dict.fromkeys(unacknowledged)),
    )


# --- mustering --------------------------------------------------------------------------------


def outstanding(muster: MusterRead) -> list[MusterEntryRead]:
    """Return the people a roll call has not accounted for (unaccounted or missing)."""
    return [p for p in muster.people if p.status != "safe"]


def roll_call_warning(people: list[MusterEntryRead]) -> str:
    """Return the plain-words warning about people not accounted for (empty: none)."""
    if not people:
        return ""
    names = ", ".join(f"{p.name} ({p.status})" for p in people[:10])
    more = f" and {len(people) - 10} more" if len(people) > 10 else ""
    count = f"{len(people)} {'person is' if len(people) == 1 else 'people are'}"
    return f"{count} not accounted for: {names}{more}"


def check_roll_call(muster: MusterRead, *, confirmed: bool) -> str:
    """Refuse to call a roll call complete while people are unaccounted, unless confirmed.

    Return the detail to record on the step (who was still not accounted for).
    """
    warning = roll_call_warning(outstanding(muster))
    if not warning:
        return "everyone accounted for"
    if not confirmed:
        raise Conflict(
            f"{warning}. Confirm to complete the roll call anyway (the names are recorded)."
        )
    return f"completed with confirmation; {warning}"[:2000]


def start_muster(
    *, session: Session, run: PlaybookRun, site: Site, context: Context, now: datetime
) -> list[MusterEntry]:
    """Record who is on site now as the people to account for (idempotent per run)."""
    if run.muster_started_at is not None:
        return list(session.scalars(select(MusterEntry).where(MusterEntry.run_id == run.id)))
    run.muster_started_at = now
    entries = [_entry(run, p) for p in on_site(session, site, now)]
    session.add_all(entries)
    session.flush()
    return entries


def _entry(run: PlaybookRun, presence: Presence) -> MusterEntry:
    return MusterEntry(
        run_id=run.id,
        subject=presence.subject,
        name=presence.name,
        source=presence.source,
        zone_id=presence.zone_id,
        status="unaccounted",
    )


def mark(
    *,
    session: Session,
    run: PlaybookRun,
    subject: str,
    status: str,
    context: Context,
    now: datetime,
    site: Site | None = None,
) -> MusterEntry:
    """Mark a person at the roll call; someone who arrived after the start is added."""
    if run.muster_started_at is None:
        raise Conflict("mustering has not started for this run")
    entry = session.scalar(
        select(MusterEntry).where(MusterEntry.run_id == run.id, MusterEntry.subject == subject)
    )
    if entry is None:
        live = {p.subject: p for p in on_site(session, site, now)} if site is not None else {}
        if subject not in live:
            raise NotFound(f"{subject!r} is not on the muster list")
        entry = _entry(run, live[subject])
        session.add(entry)
    entry.status = status
    entry.marked_at = now if status != "unaccounted" else None
    entry.marked_by = context.actor
    entry.elapsed_s = (
        round((now - run.muster_started_at).total_seconds(), 3) if status == "safe" else None
    )
    session.flush()
    stage(
        session,
        make_event(
            EVENT_MUSTER,
            MusterPayload(
                run_id=run.id,
                subject=subject,
                status=status,
                zone_id=entry.zone_id,
                drill=run.drill,
            ),
            context=context,
            time=now,
            site=run.site_id,
        ),
    )
    return entry


def muster_read(
    *, session: Session, site: Site, run: PlaybookRun | None, now: datetime
) -> MusterRead:
    """Return the roll call of a run, refreshed with where people are now.

    Without a run (or before mustering starts) it is simply who is on site now.
    """
    zone_names = {z.id: z.name for z in site.zones}
    live = {p.subject: p for p in on_site(session, site, now)}
    people: list[MusterEntryRead] = []
    started = run.muster_started_at if run is not None else None
    if run is not None and started is not None:
        rows = list(session.scalars(select(MusterEntry).where(MusterEntry.run_id == run.id)))
        listed = {r.subject for r in rows}
        for row in rows:
            zone = live[row.subject].zone_id if row.subject in live else row.zone_id
            people.append(
                MusterEntryRead(
                    subject=row.subject,
                    name=row.name,
                    source=row.source,
                    zone_id=zone,
                    zone_name=zone_names.get(zone or ""),
                    status=row.status,
                    marked_at=row.marked_at,
                    elapsed_s=row.elapsed_s,
                )
            )
        extra = [p for s, p in live.items() if s not in listed]
        late = True
    else:
        extra, late = list(live.values()), False
    for p in extra:
        people.append(
            MusterEntryRead(
                subject=p.subject,
                name=p.name,
                source=p.source,
                zone_id=p.zone_id,
                zone_name=zone_names.get(p.zone_id or ""),
                status="unaccounted",
                marked_at=None,
                elapsed_s=None,
                late_arrival=late,
            )
        )
    people.sort(key=lambda e: (e.status == "safe", e.zone_id or "", e.name))
    by_zone: dict[str, int] = {}
    for entry in people:
        if entry.status != "safe":
            key = entry.zone_name or entry.zone_id or "unknown"
            by_zone[key] = by_zone.get(key, 0) + 1
    return MusterRead(
        run_id=run.id if run is not None else None,
        site_id=site.site.id,
        started_at=started,
        total=len(people),
        safe=sum(1 for e in people if e.status == "safe"),
        missing=sum(1 for e in people if e.status == "missing"),
        unaccounted=sum(1 for e in people if e.status == "unaccounted"),
        by_zone=by_zone,
        people=people,
    )


# --- investigation timeline -------------------------------------------------------------------


def timeline(
    *,
    session: Session,
    person_id: str,
    since: datetime,
    until: datetime,
    limit: int = 500,
    site_ids: Collection[str] | None = None,
) -> list[TimelineItem]:
    """Join a person's access events, alarms at the doors they used, and their ledger events.

    With ``site_ids``, only what happened at those sites.
    """
    subjects = [person_id, f"person:{person_id}"]
    stmt = select(LedgerRow).where(
        or_(LedgerRow.subject.in_(subjects), LedgerRow.actor.in_(subjects)),
        LedgerRow.time >= since,
        LedgerRow.time <= until,
    )
    if site_ids is not None:
        stmt = stmt.where(LedgerRow.site.in_(sorted(site_ids)))
    rows = list(session.scalars(stmt.order_by(LedgerRow.seq).limit(limit)))
    items: list[TimelineItem] = []
    visits: list[tuple[datetime, str]] = []
    for row in rows:
        payload = json.loads(row.payload)
        if row.type == EVENT_ACCESS_DECISION.name:
            door = payload.get("door_id", "?")
            verdict = "granted" if payload.get("granted") else "denied"
            items.append(
                TimelineItem(
                    time=row.time,
                    source="access",
                    type=row.type,
                    summary=f"{door}: {verdict} ({payload.get('reason', '')})",
                    event_id=row.id,
                )
            )
            visits.append((row.time, door))
        else:
            items.append(
                TimelineItem(
                    time=row.time,
                    source="ledger",
                    type=row.type,
                    summary=str(payload.get("action") or payload.get("reason") or row.type),
                    event_id=row.id,
                )
            )
    if visits:
        from bastion.alarms.models import Alarm

        doors = sorted({d for _, d in visits})
        seen: set[str] = set()
        near_doors = select(Alarm).where(
            Alarm.door_id.in_(doors),
            Alarm.raised_at >= since - TIMELINE_ALARM_WINDOW,
            Alarm.raised_at <= until + TIMELINE_ALARM_WINDOW,
        )
        if site_ids is not None:
            near_doors = near_doors.where(Alarm.site_id.in_(sorted(site_ids)))
        for alarm in session.scalars(near_doors):
            near = any(
                d == alarm.door_id and abs(alarm.raised_at - t) <= TIMELINE_ALARM_WINDOW
                for t, d in visits
            )
            if near and alarm.id not in seen:
                seen.add(alarm.id)
                items.append(
                    TimelineItem(
                        time=alarm.raised_at,
                        source="alarm",
                        type=alarm.alarm_type,
                        summary=alarm.message,
                        event_id=alarm.raised_event_id,
                    )
                )
    items.sort(key=lambda i: i.time)
    return items
