"""Alarm lifecycle, priority, correlation into incidents, procedures and reaction times.

Keyword-only functions taking a session; they stage their events with the changes and
never commit (the caller's unit of work does).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.alarms.models import OPEN_STATES, Alarm, AlarmEvidence, AlarmStep, Incident
from bastion.alarms.sop import LoggedStep, Progress, SopCatalogue, progress
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_ALARM_STATE,
    EVENT_INCIDENT,
    EVENT_NOTIFY,
    EVENT_SOP_STEP,
    AlarmPayload,
    AlarmStatePayload,
    Event,
    IncidentPayload,
    NotifyPayload,
    SopStepPayload,
    make_event,
)
from bastion.site.graph import SiteGraph
from bastion.site.schemas import DeviceType, Layer, Site
from bastion.store.ledger import stage

BASE_PRIORITY: dict[str, int] = {
    "panic": 1,
    "duress": 1,
    "door_forced": 2,
    "intrusion": 2,
    "glass_break": 2,
    "tamper": 3,
    "loitering": 3,
    "stationary_vehicle": 3,
    "lockout": 3,
    "environmental": 3,
    "door_held": 4,
    "device_offline": 4,
    "integration_offline": 4,
    "device_trouble": 5,
}
"""Priority of each alarm type before the zone's layer is considered (1 is most urgent)."""

LAYER_BOOST: dict[Layer, int] = {Layer.VAULT: 2, Layer.RESTRICTED: 1}
"""How many steps more urgent an alarm becomes in a deep zone."""

CAUSE: dict[str, str] = {
    "panic": "life_safety",
    "duress": "life_safety",
    "door_forced": "intrusion",
    "intrusion": "intrusion",
    "glass_break": "intrusion",
    "door_held": "door_held",
    "tamper": "device",
    "device_offline": "device",
    "integration_offline": "device",
    "device_trouble": "device",
    "loitering": "suspicious",
    "stationary_vehicle": "suspicious",
}
"""The cause family of each alarm type: only alarms of one cause share an incident."""

CORRELATION_WINDOW_S = 300.0
"""An incident collects related alarms for this long after it opened, never longer."""
REPEAT_WINDOW_S = 120.0
"""Default for folding repeats: same type, door or device and site, since the last occurrence."""
SUPERVISOR_ROLE = "supervisor"

Adjacency = Callable[[str], Iterable[str]]


def priority_for(alarm_type: str, layer: Layer | None) -> int:
    """Return the priority of an alarm type raised in a zone of ``layer``."""
    base = BASE_PRIORITY.get(alarm_type, 3)
    boost = LAYER_BOOST.get(layer, 0) if layer is not None else 0
    return max(1, min(5, base - boost))


def zone_layer(site: Site | None, zone_id: str | None) -> Layer | None:
    """Return the layer of a zone when both are known."""
    if site is None or zone_id is None:
        return None
    try:
        return site.zone(zone_id).layer
    except KeyError:
        return None


def adjacency_of(site: Site | None) -> Adjacency:
    """Return a function giving the ids of the zones adjacent to a zone of ``site``."""
    if site is None:
        return lambda _zone: ()
    graph = SiteGraph(site)

    def adjacent(zone_id: str) -> list[str]:
        try:
            return [z.id for z in graph.adjacent_zones(zone_id)]
        except KeyError:
            return []

    return adjacent


def covering_cameras(site: Site | None, zone_id: str | None, door_id: str | None) -> list[str]:
    """Return ids of the cameras covering a zone (or the zones of a door)."""
    if site is None:
        return []
    zones: set[str] = set()
    if zone_id is not None:
        zones.add(zone_id)
    if door_id is not None:
        try:
            door = site.door(door_id)
            zones.update({door.from_zone, door.to_zone})
        except KeyError:
            pass
    return sorted(
        d.id
        for d in site.devices
        if d.type is DeviceType.CAMERA and (zones & set(d.covers) or d.zone in zones)
    )


@dataclass(frozen=True)
class AlarmSpec:
    """What to raise: the facts of an alarm before it exists."""

    alarm_type: str
    message: str
    zone_id: str | None = None
    door_id: str | None = None
    device_id: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class RaiseResult:
    """The outcome of :func:`raise_alarm`."""

    alarm: Alarm
    created: bool
    incident: Incident | None


def _by_raised_event(session: Session, event_id: str) -> Alarm | None:
    return session.execute(
        select(Alarm).where(Alarm.raised_event_id == event_id)
    ).scalar_one_or_none()


def find_duplicate(
    *, session: Session, source_event_id: str | None, raised_event_id: str | None = None
) -> Alarm | None:
    """Return an alarm already raised for the same source event or by the same event."""
    if raised_event_id is not None:
        found = _by_raised_event(session, raised_event_id)
        if found is not None:
            return found
    if source_event_id is None:
        return None
    return session.execute(
        select(Alarm).where(Alarm.source_event_id == source_event_id).limit(1)
    ).scalar_one_or_none()


def _repeat_of(
    session: Session, site_id: str | None, spec: AlarmSpec, now: datetime, window_s: float
) -> Alarm | None:
    """Return the open alarm ``spec`` repeats: same type, door/device and site, recent enough.

    The window slides: it is measured from the alarm's last occurrence, so a storm that
    never pauses for ``window_s`` stays one alarm however long it lasts.
    """
    if spec.door_id is None and spec.device_id is None:
        return None
    since = now - timedelta(seconds=window_s)
    stmt = select(Alarm).where(
        Alarm.alarm_type == spec.alarm_type,
        Alarm.state.in_(OPEN_STATES),
        Alarm.last_occurrence_at >= since,
    )
    stmt = stmt.where(Alarm.site_id == site_id) if site_id else stmt.where(Alarm.site_id.is_(None))
    if spec.door_id is not None:
        stmt = stmt.where(Alarm.door_id == spec.door_id)
    if spec.device_id is not None:
        stmt = stmt.where(Alarm.device_id == spec.device_id)
    return session.execute(stmt.order_by(Alarm.raised_at.desc()).limit(1)).scalar_one_or_none()


def add_evidence(
    *,
    session: Session,
    alarm_id: str,
    kind: str,
    ref: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AlarmEvidence:
    """Attach evidence (``event``, ``bookmark`` or ``note``) to an alarm."""
    if kind not in ("event", "bookmark", "note"):
        raise InvalidInput(f"unknown evidence kind {kind!r}")
    row = AlarmEvidence(alarm_id=alarm_id, kind=kind, ref=ref[:200], detail=detail or {}, at=now)
    session.add(row)
    return row


PER_THING = frozenset({"door_held", "device"})
"""Causes that belong to one door or device: two held doors are two causes."""


def cause_of(alarm_type: str, door_id: str | None = None, device_id: str | None = None) -> str:
    """Return the cause of an alarm: its type's family, plus the door or device for some.

    An unlisted type is its own family. A held-open door or a failing device is a cause
    of its own, so trouble at several doors or devices never chains into one incident.
    """
    family = CAUSE.get(alarm_type, alarm_type)
    if family in PER_THING:
        thing = door_id if family == "door_held" else device_id or door_id
        if thing:
            return f"{family}:{thing}"[:100]
    return family


def correlate(
    *,
    session: Session,
    site_id: str | None,
    zone_id: str | None,
    adjacent: Adjacency,
    now: datetime,
    window_s: float = CORRELATION_WINDOW_S,
    alarm_type: str | None = None,
    priority: int | None = None,
    door_id: str | None = None,
    device_id: str | None = None,
) -> Incident | None:
    """Return the open incident this alarm belongs to, or None to open a new one.

    An alarm joins an incident only when it has the same cause, is in the incident's
    first zone or a zone adjacent to it, and comes within ``window_s`` of the
    incident's opening. The window is anchored at the opening and the zone at the
    first alarm, so an incident cannot grow by chaining one neighbour to the next.
    With ``priority``, only incidents at least that urgent are candidates; an alarm
    joins a less urgent incident of its cause only through :func:`_attach`, and a
    rule's request through :func:`escalate_incident`, both escalating on the record.
    """
    if zone_id is None:
        return None
    cause = cause_of(alarm_type, door_id, device_id) if alarm_type is not None else None
    near = {zone_id, *adjacent(zone_id)}
    since = now - timedelta(seconds=window_s)
    stmt = select(Incident).where(Incident.status == "open", Incident.opened_at >= since)
    stmt = stmt.where(Incident.site_id == site_id) if site_id else stmt
    for incident in session.execute(stmt.order_by(Incident.opened_at.desc())).scalars():
        if cause is not None and incident.cause is not None and incident.cause != cause:
            continue
        if priority is not None and priority < incident.priority:
            continue
        origin = incident.origin_zone_id
        zones = {origin} if origin else set(incident.zone_ids or ())
        if near & zones:
            return incident
    return None


def open_incident(
    *,
    session: Session,
    site_id: str | None,
    title: str,
    priority: int,
    zone_ids: Iterable[str],
    context: Context,
    now: datetime,
    source_event_id: str | None = None,
    cause: str | None = None,
) -> Incident:
    """Open a new incident and stage its ``incident.changed`` (opened) event."""
    zone_list = list(zone_ids)
    incident = Incident(
        cause=cause,
        origin_zone_id=zone_list[0] if zone_list else None,
        id=new_id(),
        site_id=site_id,
        title=title[:200],
        status="open",
        priority=priority,
        zone_ids=sorted(set(zone_list)),
        opened_at=now,
        last_activity_at=now,
        opened_by=context.actor,
        context_id=context.id,
    )
    session.add(incident)
    stage(
        session,
        make_event(
            EVENT_INCIDENT,
            IncidentPayload(
                incident_id=incident.id,
                action="opened",
                title=incident.title,
                priority=priority,
                zone_ids=tuple(incident.zone_ids),
                source_event_id=source_event_id,
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    return incident


def escalate_incident(
    session: Session,
    incident: Incident,
    *,
    priority: int,
    reason: str,
    context: Context,
    now: datetime,
) -> None:
    """Make an incident more urgent on the record (``escalated``), saying why."""
    incident.last_activity_at = now
    if priority >= incident.priority:
        return
    incident.title = f"{reason} (escalated from P{incident.priority})"[:200]
    incident.priority = priority
    stage(
        session,
        make_event(
            EVENT_INCIDENT,
            IncidentPayload(
                incident_id=incident.id,
                action="escalated",
                title=incident.title,
                priority=incident.priority,
                zone_ids=tuple(incident.zone_ids or ()),
            ),
            context=context,
            time=now,
            site=incident.site_id,
        ),
    )


def _attach(
    session: Session, incident: Incident, alarm: Alarm, context: Context, now: datetime
) -> None:
    """Attach an alarm; a more urgent one escalates the incident, loudly (``escalated``)."""
    zones = set(incident.zone_ids or ())
    if alarm.zone_id:
        zones.add(alarm.zone_id)
    incident.zone_ids = sorted(zones)
    incident.last_activity_at = now
    escalated = alarm.priority < incident.priority
    if escalated:
        incident.title = f"{alarm.message} (escalated from P{incident.priority})"[:200]
        incident.priority = alarm.priority
    alarm.incident_id = incident.id
    stage(
        session,
        make_event(
            EVENT_INCIDENT,
            IncidentPayload(
                incident_id=incident.id,
                action="escalated" if escalated else "updated",
                title=incident.title,
                priority=incident.priority,
                zone_ids=tuple(incident.zone_ids),
                alarm_id=alarm.id,
            ),
            context=context,
            time=now,
            site=incident.site_id,
        ),
    )


def raise_alarm(
    *,
    session: Session,
    spec: AlarmSpec,
    site: Site | None,
    site_id: str | None,
    context: Context,
    now: datetime,
    sops: SopCatalogue,
    source_event: Event[Any] | None = None,
    raised_event: Event[Any] | None = None,
    adjacent: Adjacency | None = None,
    window_s: float = CORRELATION_WINDOW_S,
    repeat_window_s: float = REPEAT_WINDOW_S,
) -> RaiseResult:
    """Raise an alarm (or count a repeat), correlate it into an incident, attach evidence.

    ``raised_event`` is an ``alarm.raised`` event another component already published;
    otherwise one is staged here. Duplicates (same source event, same raised event) are
    returned unchanged with ``created`` False. A repeat within ``repeat_window_s`` adds one
    to the open alarm's count and links the repeating event as evidence (the event itself
    is in the ledger already), so a storm is one alarm to work, not fifty.
    """
    source_id = source_event.id if source_event is not None else None
    if raised_event is not None and isinstance(raised_event.payload, AlarmPayload):
        source_id = raised_event.payload.source_event_id or source_id
    duplicate = find_duplicate(
        session=session,
        source_event_id=source_id,
        raised_event_id=raised_event.id if raised_event is not None else None,
    )
    if duplicate is not None:
        return RaiseResult(duplicate, False, None)
    repeat = _repeat_of(session, site_id, spec, now, repeat_window_s)
    if repeat is not None:
        repeat.occurrences += 1
        repeat.last_occurrence_at = now
        ref = source_id or (raised_event.id if raised_event is not None else None)
        if ref is not None:
            add_evidence(
                session=session,
                alarm_id=repeat.id,
                kind="event",
                ref=ref,
                now=now,
                detail={"repeat": repeat.occurrences},
            )
        return RaiseResult(repeat, False, None)
    layer = zone_layer(site, spec.zone_id)
    priority = spec.priority or priority_for(spec.alarm_type, layer)
    sop = sops.for_type(spec.alarm_type)
    alarm = Alarm(
        id=new_id(),
        site_id=site_id,
        alarm_type=spec.alarm_type,
        priority=priority,
        message=spec.message[:500],
        zone_id=spec.zone_id,
        door_id=spec.door_id,
        device_id=spec.device_id,
        state="raised",
        source_event_id=source_id,
        raised_at=now,
        last_occurrence_at=now,
        occurrences=1,
        sop_id=sop.id if sop is not None else None,
        raised_by=context.actor,
        reason="",
    )
    if raised_event is None:
        raised_event = make_event(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type=spec.alarm_type,
                priority=priority,
                message=alarm.message,
                zone_id=spec.zone_id,
                door_id=spec.door_id,
                device_id=spec.device_id,
                source_event_id=source_id,
            ),
            context=context,
            time=now,
            site=site_id,
        )
        stage(session, raised_event)
    alarm.raised_event_id = raised_event.id
    alarm.context_id = raised_event.context.id
    session.add(alarm)
    session.flush()
    if source_id is not None:
        add_evidence(session=session, alarm_id=alarm.id, kind="event", ref=source_id, now=now)
    add_evidence(
        session=session,
        alarm_id=alarm.id,
        kind="event",
        ref=raised_event.id,
        now=now,
        detail={"context_id": raised_event.context.id, "parent_id": raised_event.context.parent_id},
    )
    for camera in covering_cameras(site, spec.zone_id, spec.door_id):
        add_evidence(
            session=session,
            alarm_id=alarm.id,
            kind="bookmark",
            ref=camera,
            now=now,
            detail={"from": (now - timedelta(seconds=30)).isoformat(), "at": now.isoformat()},
        )
    incident = correlate(
        session=session,
        site_id=site_id,
        zone_id=spec.zone_id,
        adjacent=adjacent or adjacency_of(site),
        now=now,
        window_s=window_s,
        alarm_type=spec.alarm_type,
        door_id=spec.door_id,
        device_id=spec.device_id,
    )
    child = context.child(actor="alarms")
    if incident is None:
        incident = open_incident(
            session=session,
            site_id=site_id,
            title=alarm.message,
            priority=priority,
            zone_ids=[spec.zone_id] if spec.zone_id else [],
            context=child,
            now=now,
            source_event_id=raised_event.id,
            cause=cause_of(spec.alarm_type, spec.door_id, spec.device_id),
        )
        alarm.incident_id = incident.id
    else:
        _attach(session, incident, alarm, child, now)
    return RaiseResult(alarm, True, incident)


def get_alarm(*, session: Session, alarm_id: str) -> Alarm:
    """Return the alarm ``alarm_id`` or raise NotFound."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(f"alarm {alarm_id!r} not found")
    return alarm


def list_alarms(
    *,
    session: Session,
    states: Iterable[str] | None = None,
    site_id: str | None = None,
    site_ids: Iterable[str] | None = None,
    limit: int = 100,
    priority: int | None = None,
    zone_id: str | None = None,
) -> list[Alarm]:
    """Return alarms (of ``site_ids``; None: all), most urgent and newest first.

    ``priority`` and ``zone_id`` narrow a flooded queue to one priority or one zone.
    """
    stmt = _in_sites(select(Alarm), site_ids)
    if states:
        stmt = stmt.where(Alarm.state.in_(list(states)))
    if priority is not None:
        stmt = stmt.where(Alarm.priority == priority)
    if zone_id:
        stmt = stmt.where(Alarm.zone_id == zone_id)
    if site_id is not None:
        stmt = stmt.where(Alarm.site_id == site_id)
    stmt = stmt.order_by(Alarm.priority, Alarm.raised_at.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def _state_event(
    session: Session,
    alarm: Alarm,
    state: str,
    operator: str,
    context: Context,
    now: datetime,
    reason: str = "",
) -> Event[AlarmStatePayload]:
    event = make_event(
        EVENT_ALARM_STATE,
        AlarmStatePayload(
            alarm_id=alarm.id,
            state=state,  # type: ignore[arg-type,unused-ignore]
            operator=operator,
            reason=reason,
            incident_id=alarm.incident_id,
        ),
        context=context,
        time=now,
        site=alarm.site_id,
    )
    stage(session, event)
    return event


def acknowledge(
    *,
    session: Session,
    alarm_id: str,
    operator: str,
    context: Context,
    now: datetime,
    reason: str = "",
) -> Alarm:
    """Acknowledge a raised alarm and record the raise→acknowledge reaction time."""
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    if alarm.state != "raised":
        raise Conflict(f"alarm {alarm_id!r} is {alarm.state}, not raised")
    alarm.state = "acknowledged"
    alarm.acknowledged_at = now
    alarm.acknowledged_by = operator
    alarm.ack_seconds = max(0.0, (now - alarm.raised_at).total_seconds())
    _state_event(session, alarm, "acknowledged", operator, context, now, reason)
    return alarm


@dataclass(frozen=True)
class BulkAckResult:
    """What a bulk acknowledge did: the alarms acknowledged, and those left as they were."""

    acknowledged: list[Alarm]
    skipped: dict[str, str]
    """Alarm id → why it was not acknowledged (already acknowledged, closed)."""


def acknowledge_many(
    *,
    session: Session,
    alarms: Iterable[Alarm],
    reason: str,
    operator: str,
    context: Context,
    now: datetime,
) -> BulkAckResult:
    """Acknowledge several raised alarms at once with one reason (a flood worked as one).

    The caller has already checked that the operator may work every one of ``alarms``.
    Each acknowledgement is its own ledger event carrying the reason; alarms no longer
    raised are skipped, not failed, since a colleague may have taken them meanwhile.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("give a reason for acknowledging several alarms at once")
    done: list[Alarm] = []
    skipped: dict[str, str] = {}
    for alarm in alarms:
        if alarm.state != "raised":
            skipped[alarm.id] = f"already {alarm.state}"
            continue
        done.append(
            acknowledge(
                session=session,
                alarm_id=alarm.id,
                operator=operator,
                context=context,
                now=now,
                reason=reason,
            )
        )
    return BulkAckResult(done, skipped)


def investigate(
    *, session: Session, alarm_id: str, operator: str, context: Context, now: datetime
) -> Alarm:
    """Move an acknowledged alarm to investigating."""
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    if alarm.state != "acknowledged":
        raise Conflict(f"alarm {alarm_id!r} is {alarm.state}; acknowledge it first")
    alarm.state = "investigating"
    alarm.investigating_at = now
    _state_event(session, alarm, "investigating", operator, context, now)
    return alarm


def _close(
    session: Session,
    alarm: Alarm,
    state: str,
    operator: str,
    reason: str,
    context: Context,
    now: datetime,
) -> None:
    alarm.state = state
    alarm.closed_at = now
    alarm.closed_by = operator
    alarm.reason = reason
    started = alarm.acknowledged_at or alarm.raised_at
    alarm.resolve_seconds = max(0.0, (now - started).total_seconds())
    _state_event(session, alarm, state, operator, context, now, reason)
    if alarm.incident_id is not None:
        incident = session.get(Incident, alarm.incident_id)
        if incident is not None:
            incident.last_activity_at = now
            still_open = session.execute(
                select(Alarm.id).where(
                    Alarm.incident_id == incident.id,
                    Alarm.state.in_(OPEN_STATES),
                    Alarm.id != alarm.id,
                )
            ).first()
            if still_open is None and incident.status == "open":
                incident.status = "closed"
                incident.closed_at = now
                stage(
                    session,
                    make_event(
                        EVENT_INCIDENT,
                        IncidentPayload(
                            incident_id=incident.id,
                            action="closed",
                            title=incident.title,
                            priority=incident.priority,
                            zone_ids=tuple(incident.zone_ids),
                            alarm_id=alarm.id,
                        ),
                        context=context,
                        time=now,
                        site=incident.site_id,
                    ),
                )


def resolve(
    *,
    session: Session,
    alarm_id: str,
    operator: str,
    context: Context,
    now: datetime,
    sops: SopCatalogue,
    note: str = "",
) -> Alarm:
    """Resolve an acknowledged alarm once its procedure is complete; record ack→resolve time."""
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    if alarm.state not in ("acknowledged", "investigating"):
        raise Conflict(f"alarm {alarm_id!r} is {alarm.state}; acknowledge it first")
    state = sop_progress(session=session, alarm=alarm, sops=sops)
    if state is not None and not state.complete:
        raise Conflict(f"procedure step {state.current!r} is still open; complete or skip it")
    _close(session, alarm, "resolved", operator, note, context, now)
    return alarm


def mark_false_alarm(
    *, session: Session, alarm_id: str, operator: str, reason: str, context: Context, now: datetime
) -> Alarm:
    """Close an open alarm as a false alarm; a reason is required."""
    if not reason.strip():
        raise InvalidInput("a false alarm needs a reason")
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    if alarm.state not in OPEN_STATES:
        raise Conflict(f"alarm {alarm_id!r} is already {alarm.state}")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = now
        alarm.acknowledged_by = operator
        alarm.ack_seconds = max(0.0, (now - alarm.raised_at).total_seconds())
    _close(session, alarm, "false_alarm", operator, reason.strip(), context, now)
    return alarm


def clear_device_trouble(
    *,
    session: Session,
    site_id: str | None,
    device_id: str,
    alarm_types: Iterable[str],
    reason: str,
    context: Context,
    now: datetime,
) -> list[Alarm]:
    """Close a device's open trouble alarms once the trouble went away by itself.

    The device is back (its own report, not an operator's finding), so the alarms are
    resolved by the system and no reaction time is recorded for them.
    """
    stmt = select(Alarm).where(
        Alarm.device_id == device_id,
        Alarm.alarm_type.in_(list(alarm_types)),
        Alarm.state.in_(OPEN_STATES),
    )
    stmt = stmt.where(Alarm.site_id == site_id) if site_id else stmt.where(Alarm.site_id.is_(None))
    alarms = list(session.execute(stmt.order_by(Alarm.raised_at)).scalars())
    for alarm in alarms:
        _close(session, alarm, "resolved", "system", reason, context, now)
        alarm.resolve_seconds = None
    return alarms


def step_log(*, session: Session, alarm_id: str) -> list[AlarmStep]:
    """Return the logged procedure steps of an alarm in order."""
    return list(
        session.execute(
            select(AlarmStep).where(AlarmStep.alarm_id == alarm_id).order_by(AlarmStep.id)
        ).scalars()
    )


def sop_progress(*, session: Session, alarm: Alarm, sops: SopCatalogue) -> Progress | None:
    """Return where the alarm's procedure stands (None when it has no procedure)."""
    if alarm.sop_id is None:
        return None
    sop = sops.get(alarm.sop_id)
    log = [
        LoggedStep(row.step_id, row.outcome, row.answer)
        for row in step_log(session=session, alarm_id=alarm.id)
    ]
    return progress(sop, log)


def _current_step(session: Session, alarm: Alarm, sops: SopCatalogue, step_id: str) -> str:
    if alarm.state not in ("acknowledged", "investigating"):
        raise Conflict(f"alarm {alarm.id!r} is {alarm.state}; acknowledge it first")
    state = sop_progress(session=session, alarm=alarm, sops=sops)
    if state is None:
        raise Conflict(f"alarm {alarm.id!r} has no procedure")
    if state.current is None:
        raise Conflict("the procedure is already complete")
    if step_id != state.current:
        raise Conflict(f"step {step_id!r} is not due; the current step is {state.current!r}")
    return alarm.sop_id or ""


def complete_step(
    *,
    session: Session,
    alarm_id: str,
    step_id: str,
    answer: str,
    operator: str,
    context: Context,
    now: datetime,
    sops: SopCatalogue,
) -> AlarmStep:
    """Log the current procedure step as done with its answer, operator and time."""
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    sop_id = _current_step(session, alarm, sops, step_id)
    sop = sops.get(sop_id)
    sop.following(step_id, answer)  # validates the answer against the branches
    event = make_event(
        EVENT_SOP_STEP,
        SopStepPayload(
            alarm_id=alarm.id,
            sop_id=sop_id,
            step_id=step_id,
            outcome="done",
            answer=answer.strip().lower() if sop.step(step_id).answers else answer.strip(),
            operator=operator,
        ),
        context=context,
        time=now,
        site=alarm.site_id,
    )
    row = AlarmStep(
        alarm_id=alarm.id,
        step_id=step_id,
        outcome="done",
        answer=event.payload.answer,
        reason="",
        operator=operator,
        at=now,
        event_id=event.id,
    )
    session.add(row)
    if alarm.state == "acknowledged":
        alarm.state = "investigating"
        alarm.investigating_at = now
    stage(session, event)
    session.flush()
    return row


def skip_step(
    *,
    session: Session,
    alarm_id: str,
    step_id: str,
    reason: str,
    operator: str,
    context: Context,
    now: datetime,
    sops: SopCatalogue,
    answer: str = "",
) -> AlarmStep:
    """Skip the current step with a reason and notify the supervisor role."""
    if not reason.strip():
        raise InvalidInput("skipping a procedure step needs a reason")
    alarm = get_alarm(session=session, alarm_id=alarm_id)
    sop_id = _current_step(session, alarm, sops, step_id)
    if answer:
        sops.get(sop_id).following(step_id, answer)
    event = make_event(
        EVENT_SOP_STEP,
        SopStepPayload(
            alarm_id=alarm.id,
            sop_id=sop_id,
            step_id=step_id,
            outcome="skipped",
            answer=answer,
            reason=reason.strip(),
            operator=operator,
        ),
        context=context,
        time=now,
        site=alarm.site_id,
    )
    notice = make_event(
        EVENT_NOTIFY,
        NotifyPayload(
            roles=(SUPERVISOR_ROLE,),
            message=(
                f"{operator} skipped step {step_id!r} of procedure {sop_id!r} on alarm "
                f"{alarm.id} ({alarm.alarm_type}): {reason.strip()}"
            ),
            priority=min(alarm.priority + 1, 5),
            alarm_id=alarm.id,
            incident_id=alarm.incident_id,
            zone_id=alarm.zone_id,
        ),
        context=context.child(),
        time=now,
        site=alarm.site_id,
    )
    row = AlarmStep(
        alarm_id=alarm.id,
        step_id=step_id,
        outcome="skipped",
        answer=answer,
        reason=reason.strip(),
        operator=operator,
        at=now,
        event_id=event.id,
    )
    session.add(row)
    if alarm.state == "acknowledged":
        alarm.state = "investigating"
        alarm.investigating_at = now
    stage(session, event, notice)
    session.flush()
    return row


def evidence_of(*, session: Session, alarm_id: str) -> list[AlarmEvidence]:
    """Return the evidence attached to an alarm, oldest first."""
    return list(
        session.execute(
            select(AlarmEvidence)
            .where(AlarmEvidence.alarm_id == alarm_id)
            .order_by(AlarmEvidence.id)
        ).scalars()
    )


def get_incident(*, session: Session, incident_id: str) -> Incident:
    """Return the incident ``incident_id`` or raise NotFound."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id!r} not found")
    return incident


def list_incidents(
    *,
    session: Session,
    status: str | None = None,
    limit: int = 100,
    site_ids: Iterable[str] | None = None,
) -> list[Incident]:
    """Return incidents (of ``site_ids``; None: all), newest activity first."""
    stmt = select(Incident)
    if site_ids is not None:
        stmt = stmt.where(Incident.site_id.in_(sorted(site_ids)))
    if status is not None:
        stmt = stmt.where(Incident.status == status)
    return list(
        session.execute(stmt.order_by(Incident.last_activity_at.desc()).limit(limit)).scalars()
    )


def alarms_of_incident(*, session: Session, incident_id: str) -> list[Alarm]:
    """Return the alarms of an incident, oldest first."""
    return list(
        session.execute(
            select(Alarm).where(Alarm.incident_id == incident_id).order_by(Alarm.raised_at)
        ).scalars()
    )


@dataclass(frozen=True)
class ReactionStats:
    """Operator reaction times over closed or acknowledged alarms, in seconds."""

    acknowledged: int
    median_ack_s: float | None
    max_ack_s: float | None
    closed: int
    median_resolve_s: float | None
    max_resolve_s: float | None


def reaction_stats(
    *, session: Session, since: datetime | None = None, site_ids: Iterable[str] | None = None
) -> ReactionStats:
    """Return median and worst raise→ack and ack→resolve times (of ``site_ids``; None: all)."""
    stmt = _in_sites(select(Alarm.ack_seconds, Alarm.resolve_seconds), site_ids)
    if since is not None:
        stmt = stmt.where(Alarm.raised_at >= since)
    rows = session.execute(stmt).all()
    acks = [r[0] for r in rows if r[0] is not None]
    res = [r[1] for r in rows if r[1] is not None]
    return ReactionStats(
        acknowledged=len(acks),
        median_ack_s=statistics.median(acks) if acks else None,
        max_ack_s=max(acks) if acks else None,
        closed=len(res),
        median_resolve_s=statistics.median(res) if res else None,
        max_resolve_s=max(res) if res else None,
    )


# --- read models for the console ---------------------------------------------------------------


def _in_sites(stmt: Any, site_ids: Iterable[str] | None) -> Any:
    """Restrict ``stmt`` to alarms of ``site_ids`` (None: every site, and site-less alarms)."""
    if site_ids is None:
        return stmt
    return stmt.where(Alarm.site_id.in_(sorted(site_ids)))


def alarm_queue(
    *, session: Session, site_ids: Iterable[str] | None = None, limit: int = 100
) -> list[Alarm]:
    """Return the open alarms, most urgent first and, within a priority, longest waiting first."""
    stmt = select(Alarm).where(Alarm.state.in_(OPEN_STATES))
    stmt = _in_sites(stmt, site_ids).order_by(Alarm.priority, Alarm.raised_at, Alarm.id)
    return list(session.execute(stmt.limit(limit)).scalars())


def alarms_by_zone(
    *, session: Session, since: datetime, site_ids: Iterable[str] | None = None
) -> list[tuple[str | None, int]]:
    """Return how many alarms each zone raised since ``since``, most first."""
    count = func.count(Alarm.id)
    stmt = select(Alarm.zone_id, count).where(Alarm.raised_at >= since)
    stmt = _in_sites(stmt, site_ids).group_by(Alarm.zone_id).order_by(count.desc(), Alarm.zone_id)
    return [(zone, int(n)) for zone, n in session.execute(stmt).all()]


def recently_closed(
    *, session: Session, limit: int = 20, site_ids: Iterable[str] | None = None
) -> list[Alarm]:
    """Return the newest resolved or false alarms (their reaction times), newest first."""
    stmt = select(Alarm).where(Alarm.state.in_(("resolved", "false_alarm")))
    stmt = _in_sites(stmt, site_ids).order_by(Alarm.closed_at.desc(), Alarm.id.desc())
    return list(session.execute(stmt.limit(limit)).scalars())
