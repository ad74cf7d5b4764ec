"""Filter a site's ledger events and describe each row for people.

Filters run in the database (time, kinds, places, people, outcome, text) so paging is
exact; names come from :class:`~bastion.search.names.Names` afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_time
from bastion.search.names import Names
from bastion.store.ledger import LedgerRow

KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "access": ("Access", ("access.decision", "door.request_to_exit")),
    "doors": ("Doors", ("door.*", "site.lockdown")),
    "alarms": ("Alarms", ("alarm.*", "incident.*")),
    "devices": ("Devices", ("device.*", "reader.*", "sensor.*", "zone.arming")),
    "video": ("Video", ("camera.*", "video.*")),
    "people": ("People", ("people.*", "access.credential", "access.level", "muster.*")),
    "cash": ("Cash", ("cash.*",)),
    "safety": ("Safety", ("safety.*", "playbook.*", "notify.*")),
    "admin": ("Sign-ins and changes", ("auth.*", "admin.*", "site.imported", "ledger.*")),
}
"""Kind → (label, event types; ``x.*`` is every type starting ``x.``)."""

Outcome = Literal["granted", "denied"]
PAGE_SIZE = 50


@dataclass(frozen=True)
class EventFilter:
    """What to look for; every given part must match."""

    since: datetime | None = None
    until: datetime | None = None
    kinds: tuple[str, ...] = ()
    zone: str | None = None
    door: str | None = None
    person: str | None = None
    """Part of a person's name."""
    outcome: Outcome | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            choices = ", ".join(KINDS)
            raise InvalidInput(f"unknown kind of event {unknown[0]!r}; choose from {choices}")
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("the start of the time range must be before its end")


@dataclass(frozen=True)
class EventLine:
    """One event as a person reads it."""

    seq: int
    time: datetime
    local_time: str
    type: str
    what: str
    where: str
    who: str
    outcome: str
    source_device: str = ""
    """The camera the event names (``camera_id``), else the device that reported it."""
    source_event: str = ""
    """An analytics system's event id (video detections), for its recorded clip."""


@dataclass
class EventPage:
    """One page of results."""

    lines: list[EventLine]
    page: int
    has_more: bool
    filters: EventFilter = field(default_factory=EventFilter)


def parse_local(text: str | None, zone: tzinfo, *, what: str) -> datetime | None:
    """Read a site-local ``YYYY-MM-DDTHH:MM`` (or a date) as an aware time in ``zone``."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{what}: {text!r} is not a date and time like 2026-12-01T08:00"
        ) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _type_clause(kinds: Sequence[str]) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    for kind in kinds:
        for pattern in KINDS[kind][1]:
            if pattern.endswith(".*"):
                parts.append(LedgerRow.type.like(pattern[:-1] + "%"))
            else:
                parts.append(LedgerRow.type == pattern)
    return or_(*parts)


def _payload_has(key: str, values: Sequence[str]) -> list[ColumnElement[bool]]:
    return [
        LedgerRow.payload.contains(json.dumps({key: v}, separators=(",", ":"))[1:-1])
        for v in values
    ]


def _where(site_id: str, filt: EventFilter, names: Names) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [LedgerRow.site == site_id]
    if filt.since:
        clauses.append(LedgerRow.time >= filt.since)
    if filt.until:
        clauses.append(LedgerRow.time < filt.until)
    if filt.kinds:
        clauses.append(_type_clause(filt.kinds))
    if filt.door:
        devices = [filt.door, *(d for d, door in names.door_of.items() if door == filt.door)]
        clauses.append(or_(LedgerRow.device.in_(devices), *_payload_has("door_id", [filt.door])))
    if filt.zone:
        inside = [d for d, zone in names.zone_of.items() if zone == filt.zone]
        clauses.append(or_(LedgerRow.device.in_(inside), *_payload_has("zone_id", [filt.zone])))
    if filt.person:
        ids = sorted(names.people_matching(filt.person))
        accounts = [a for a, n in names.accounts.items() if filt.person.casefold() in n.casefold()]
        if not ids and not accounts:
            clauses.append(false())
        else:
            clauses.append(
                or_(
                    LedgerRow.subject.in_(ids + accounts),
                    LedgerRow.actor.in_(accounts),
                    *_payload_has("subject", ids),
                )
            )
    if filt.outcome:
        clauses.append(LedgerRow.type == "access.decision")
        flag = "true" if filt.outcome == "granted" else "false"
        clauses.append(LedgerRow.payload.contains(f'"granted":{flag}'))
    if filt.text and filt.text.strip():
        needle = f"%{filt.text.strip().casefold()}%"
        clauses.append(
            or_(func.lower(LedgerRow.payload).like(needle), func.lower(LedgerRow.type).like(needle))
        )
    return clauses


def describe(row: LedgerRow, names: Names, zone: tzinfo) -> EventLine:
    """Return ``row`` with names, a short description and the site's local time."""
    payload: dict[str, Any] = json.loads(row.payload)
    outcome = ""
    if row.type == "access.decision":
        outcome = "granted" if payload.get("granted") else "denied"
        reason = str(payload.get("reason") or "").replace("_", " ")
        what = outcome.capitalize() + (f": {reason}" if reason and reason != outcome else "")
    else:
        what = next(
            (
                str(payload[k])
                for k in ("message", "reason", "title", "state", "command", "detail", "answer")
                if payload.get(k)
            ),
            "",
        )
    door_id = payload.get("door_id") or names.door_of.get(row.device or "") or None
    zone_id = payload.get("zone_id") or names.zone_of.get(door_id or row.device or "") or None
    place = names.doors.get(door_id, "") if door_id else names.place(row.device)
    where = " · ".join(p for p in (place, names.zone(zone_id)) if p)
    subject = row.subject or payload.get("subject")
    who = names.person(subject) if subject else names.actor(row.actor)
    local = row.time.astimezone(zone)
    return EventLine(
        seq=row.seq,
        time=row.time,
        local_time=site_time(local, zone, seconds=True),
        type=row.type,
        what=what,
        where=where,
        who=who,
        outcome=outcome,
        source_device=str(payload.get("camera_id") or row.device or ""),
        source_event=str(payload.get("source_id") or "") if row.type == "video.detection" else "",
    )


def search_events(
    session: Session,
    *,
    site_id: str,
    names: Names,
    zone: tzinfo,
    filters: EventFilter,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> EventPage:
    """Return one page (newest first) of the site's events matching ``filters``."""
    if page < 1:
        raise InvalidInput("page numbers start at 1")
    stmt = (
        select(LedgerRow)
        .where(*_where(site_id, filters, names))
        .order_by(LedgerRow.seq.desc())
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(session.execute(stmt).scalars())
    lines = [describe(row, names, zone) for row in rows[:page_size]]
    return EventPage(lines=lines, page=page, has_more=len(rows) > page_size, filters=filters)
