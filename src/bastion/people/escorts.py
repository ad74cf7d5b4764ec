"""Escort watch: a visitor seen at a door without their own host raises an alarm.

The access engine's escort rule only asks for *some* employee badge before a visitor
at doors that require an escort, and doors without the rule let a visitor through
alone. The state rules ask more: the visitor stays with the host who signed them in.
:class:`EscortMonitor` follows access decisions on the bus, remembers when each
employee was last granted at each door, and when an on-site visitor's credential is
used at a door their host was not granted at within the door's escort window (30 s
when the engine does not say), stages an ``alarm.raised`` event the alarms runtime
turns into an alarm. One alarm per visit and door per window, so a visitor badging
again and again does not flood the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bastion.access.runtime import engine_of
from bastion.access.snapshot import door_key
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ALARM_RAISED,
    AccessDecisionPayload,
    AlarmPayload,
    Event,
    make_event,
)
from bastion.people.models import Visit, VisitStatus
from bastion.site.schemas import Site
from bastion.store.ledger import stage, take_staged

_LOGGER = logging.getLogger(__name__)
ACTOR = Context(actor="people:escorts")
DEFAULT_WINDOW_S = 30.0
"""The escort window when the access engine has no policy for the door."""
ALARM_TYPE = "visitor_unescorted"
ALARM_PRIORITY = 2
KEEP_S = 3600.0
"""How long a grant is remembered at most; older ones cannot be within any sane window."""


@dataclass(frozen=True)
class VisitRef:
    """The facts of an on-site visit the watch needs (ids only, no personal data)."""

    visit_id: str
    host_id: str
    site_id: str


class EscortMonitor:
    """Watch access decisions for visitors badging without their host nearby."""

    def __init__(self, hub: Any, *, default_window_s: float = DEFAULT_WINDOW_S) -> None:
        self.hub = hub
        self.default_window_s = default_window_s
        self._grants: dict[str, dict[str, float]] = {}
        self._alarmed: dict[tuple[str, str], float] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self.raised: list[tuple[str, str]] = []

    def start(self) -> None:
        """Subscribe to access decisions. Must run in the event loop."""
        self._unsubscribe = self.hub.bus.subscribe(self.handle, types=[EVENT_ACCESS_DECISION])

    async def stop(self) -> None:
        """Unsubscribe."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- facts from the engine and the site model --------------------------------------------

    def window_s(self, key: str) -> float:
        """Return the escort window of the door ``key`` (site/door), from the engine if known."""
        engine = engine_of(self.hub)
        door = engine.snapshot.doors.get(key) if engine is not None else None
        return float(door.escort_window_s) if door is not None else self.default_window_s

    def _kind(self, person_id: str) -> str | None:
        """Return the cardholder kind the engine knows, or None when there is no engine."""
        engine = engine_of(self.hub)
        if engine is None:
            return None
        entry = engine.snapshot.people.get(person_id)
        return entry.kind if entry is not None else ""

    def _visit_of(self, person_id: str) -> VisitRef | None:
        with self.hub.db.sessions() as session:
            visit = session.execute(
                select(Visit).where(
                    Visit.person_id == person_id, Visit.status == VisitStatus.ON_SITE.value
                )
            ).scalar_one_or_none()
            if visit is None:
                return None
            return VisitRef(visit.id, visit.host_id, visit.site_id)

    def _door_facts(self, site_id: str, door_id: str) -> tuple[str, str | None]:
        site: Site | None = self.hub.extras.get("sites", {}).get(site_id)
        if site is None:
            return f"door {door_id}", None
        try:
            door = site.door(door_id)
        except KeyError:
            return f"door {door_id}", None
        return door.name, door.to_zone

    # -- the watch ----------------------------------------------------------------------------

    async def handle(self, event: Event[Any]) -> None:
        """Follow one access decision (errors are logged by the bus)."""
        payload = event.payload
        if not isinstance(payload, AccessDecisionPayload) or payload.subject is None:
            return
        subject = payload.subject
        t = event.time.timestamp()
        kind = self._kind(subject)
        if kind is not None and kind != "visitor":
            if payload.granted:
                self._remember(event, payload, t)
            return
        visit = await asyncio.to_thread(self._visit_of, subject)
        if visit is None:
            if payload.granted:
                self._remember(event, payload, t)
            return
        site_id = event.site or visit.site_id
        key = door_key(site_id, payload.door_id)
        window = self.window_s(key)
        host_at = self._grants.get(key, {}).get(visit.host_id)
        if host_at is not None and 0.0 <= t - host_at <= window:
            return
        last = self._alarmed.get((visit.visit_id, key))
        if last is not None and 0.0 <= t - last < window:
            return
        self._alarmed[(visit.visit_id, key)] = t
        self._prune_alarms(t)
        await self._raise(event, payload, visit, site_id, window)

    def _remember(self, event: Event[Any], payload: AccessDecisionPayload, t: float) -> None:
        if event.site is None or payload.subject is None:
            return
        key = door_key(event.site, payload.door_id)
        seen = self._grants.setdefault(key, {})
        seen[payload.subject] = t
        if len(seen) > 64:
            for person, at in list(seen.items()):
                if t - at > KEEP_S:
                    del seen[person]

    def _prune_alarms(self, t: float) -> None:
        if len(self._alarmed) > 256:
            for item, at in list(self._alarmed.items()):
                if t - at > KEEP_S:
                    del self._alarmed[item]

    async def _raise(
        self,
        event: Event[Any],
        payload: AccessDecisionPayload,
        visit: VisitRef,
        site_id: str,
        window: float,
    ) -> None:
        name, zone = self._door_facts(site_id, payload.door_id)
        outcome = "let through" if payload.granted else "refused"
        message = (
            f"Visitor of visit {visit.visit_id} at {name} without their host "
            f"(no host badge within {window:.0f} s; {outcome})"
        )
        alarm = make_event(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type=ALARM_TYPE,
                priority=ALARM_PRIORITY,
                message=message,
                zone_id=zone,
                door_id=payload.door_id,
                source_event_id=event.id,
            ),
            context=event.context.child(ACTOR.actor),
            time=event.time,
            site=site_id,
        )

        def commit() -> None:
            with self.hub.db.unit_of_work() as session:
                stage(session, alarm)
                take_staged(session)

        await asyncio.to_thread(commit)
        self.hub.deliver([alarm])
        self.raised.append((visit.visit_id, payload.door_id))
        _LOGGER.info("unescorted visitor alarm for visit %s at %s", visit.visit_id, name)
