"""Who is on site and in which zone: access events plus pluggable presence sources.

The ``access`` source replays today's granted access decisions from the ledger (an
entry-side read puts a person in the door's inner zone, an exit-side read in its outer
zone; ``outside`` means gone). Other domains add their own, e.g. the visitor log::

    register_presence_source("visitors", visitors_on_site)

A source is ``fn(session, site, now) -> Iterable[Presence]``; a failing source is
logged and skipped so a muster never fails because of one list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.events import EVENT_ACCESS_DECISION
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow

_LOGGER = logging.getLogger(__name__)
LOOKBACK = timedelta(hours=18)
"""How far back access events place someone on site (a shift plus overtime)."""


@dataclass(frozen=True)
class Presence:
    """One person believed to be on site."""

    subject: str
    name: str
    zone_id: str | None
    since: datetime | None
    source: str


PresenceSource = Callable[[Session, Site, datetime], Iterable[Presence]]
PRESENCE_SOURCES: dict[str, PresenceSource] = {}
"""Registered presence sources by name."""


def register_presence_source(name: str, fn: PresenceSource) -> None:
    """Add (or replace) a presence source; mustering asks every source."""
    PRESENCE_SOURCES[name] = fn


def unregister_presence_source(name: str) -> None:
    """Remove a presence source (tests, unloading integrations)."""
    PRESENCE_SOURCES.pop(name, None)


def _names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    from bastion.people.models import Person

    rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted))).all()
    return {str(pid): str(name) for pid, name in rows}


def access_presence(session: Session, site: Site, now: datetime) -> list[Presence]:
    """Return the people whose latest granted access left them inside ``site``."""
    doors = {d.id: d for d in site.doors}
    exit_readers = {d.id for d in site.devices if d.side == "exit"}
    rows = session.execute(
        select(LedgerRow.time, LedgerRow.payload)
        .where(
            LedgerRow.type == EVENT_ACCESS_DECISION.name,
            LedgerRow.site == site.site.id,
            LedgerRow.time >= now - LOOKBACK,
            LedgerRow.time <= now,
        )
        .order_by(LedgerRow.seq)
    ).all()
    where: dict[str, tuple[str, datetime]] = {}
    for time, raw in rows:
        payload = json.loads(raw)
        person = payload.get("subject")
        door = doors.get(payload.get("door_id", ""))
        if not payload.get("granted") or not person or door is None:
            continue
        exit_side = payload.get("reader_id") in exit_readers
        where[person] = (door.from_zone if exit_side else door.to_zone, time)
    inside = {p: zt for p, zt in where.items() if zt[0] != "outside"}
    names = _names(session, inside)
    return [
        Presence(
            subject=f"person:{pid}",
            name=names.get(pid, pid),
            zone_id=zone,
            since=since,
            source="access",
        )
        for pid, (zone, since) in sorted(inside.items())
    ]


def visitor_presence(session: Session, site: Site, now: datetime) -> list[Presence]:
    """Return the visitors checked in at ``site`` (the visitor log), with their host.

    A visitor who has badged in is already placed by ``access`` under the same subject,
    so the log adds those who have not (yet) used a door.
    """
    from bastion.people.visitors import visitors_on_site

    return [
        Presence(
            subject=f"person:{v.person_id}" if v.person_id else f"visit:{v.visit_id}",
            name=f"{v.name} (visitor of {v.host})",
            zone_id=v.zone,
            since=v.checked_in_at,
            source="visitor log",
        )
        for v in visitors_on_site(session, site.site.id)
    ]


register_presence_source("access", access_presence)
register_presence_source("visitors", visitor_presence)


def on_site(session: Session, site: Site, now: datetime) -> list[Presence]:
    """Ask every presence source; the first source to name a subject wins."""
    found: dict[str, Presence] = {}
    for name, source in list(PRESENCE_SOURCES.items()):
        try:
            for item in source(session, site, now):
                found.setdefault(item.subject, item)
        except Exception:
            _LOGGER.exception("presence source %s failed", name)
    return sorted(found.values(), key=lambda p: (p.zone_id or "", p.name))
