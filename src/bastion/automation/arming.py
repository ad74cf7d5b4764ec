"""Arming: zones armed and disarmed by schedule, rule or operator; entry/exit delays; bypasses.

The :class:`ArmingBoard` is the in-memory view the alarms domain and the rules engine read
(conditions never touch the database). It is loaded from the database once and then kept
current by applying ``zone.arming`` and ``sensor.bypass`` events. 24-hour zones
(``always_armed`` in the site model) are armed whatever the board says, and can never be
disarmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.automation.models import SensorBypass, ZoneArming
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_SENSOR_BYPASS,
    EVENT_ZONE_ARMING,
    ArmingPayload,
    DeviceHoldPayload,
    Event,
    SensorBypassPayload,
    make_event,
)
from bastion.site.schemas import Site
from bastion.store.ledger import stage


@dataclass(frozen=True)
class ZoneStatus:
    """Arming of one zone as the board holds it."""

    state: str
    effective_at: datetime
    entry_delay_s: float = 0.0


class ArmingBoard:
    """In-memory arming state of every zone and the active sensor bypasses."""

    def __init__(self, sites: dict[str, Site] | None = None) -> None:
        self._zones: dict[tuple[str | None, str], ZoneStatus] = {}
        self._bypass: dict[tuple[str | None, str], datetime] = {}
        self._always: set[tuple[str | None, str]] = set()
        self._held: dict[tuple[str | None, str], datetime] = {}
        self.set_sites(sites or {})

    def set_sites(self, sites: dict[str, Site]) -> None:
        """Take the 24-hour zones from the site models."""
        self._always = {
            (sid, z.id) for sid, site in sites.items() for z in site.zones if z.always_armed
        }

    def load(self, *, session: Session) -> None:
        """Read the stored arming states and active bypasses."""
        for row in session.execute(select(ZoneArming)).scalars():
            self._zones[(row.site_id, row.zone_id)] = ZoneStatus(
                row.state, row.effective_at, row.entry_delay_s
            )
        for bypass in session.execute(
            select(SensorBypass).where(SensorBypass.cleared_at.is_(None))
        ).scalars():
            self._bypass[(bypass.site_id, bypass.device_id)] = bypass.until

    def apply(self, event: Event[Any]) -> None:
        """Update the board from a ``zone.arming`` or ``sensor.bypass`` event."""
        payload = event.payload
        if isinstance(payload, ArmingPayload):
            effective = event.time + timedelta(seconds=payload.exit_delay_s)
            self._zones[(event.site, payload.zone_id)] = ZoneStatus(
                payload.state, effective, payload.entry_delay_s
            )
        elif isinstance(payload, SensorBypassPayload):
            key = (event.site, payload.device_id)
            if payload.active and payload.until is not None:
                self._bypass[key] = payload.until
            else:
                self._bypass.pop(key, None)
        elif isinstance(payload, DeviceHoldPayload):
            for device_id in payload.device_ids:
                if payload.active and payload.until is not None:
                    self.hold(event.site, device_id, payload.until)
                else:
                    self._held.pop((event.site, device_id), None)

    def hold(self, site_id: str | None, device_id: str, until: datetime) -> None:
        """Put a device on hold until ``until`` (a walk test): no alarm, no rule fires on it."""
        self._held[(site_id, device_id)] = until

    def is_held(self, site_id: str | None, device_id: str | None, now: datetime) -> bool:
        """Return True while a device is on hold (being walk-tested)."""
        if device_id is None or not self._held:
            return False
        until = self._held.get((site_id, device_id))
        return until is not None and now < until

    def always_armed(self, site_id: str | None, zone_id: str) -> bool:
        """Return True for a 24-hour zone."""
        return (site_id, zone_id) in self._always

    def is_armed(self, site_id: str | None, zone_id: str | None, now: datetime) -> bool:
        """Return True when the zone is armed now (exit delay over) or is a 24-hour zone."""
        if zone_id is None:
            return False
        if (site_id, zone_id) in self._always:
            return True
        status = self._zones.get((site_id, zone_id))
        return status is not None and status.state == "armed" and now >= status.effective_at

    def state(self, site_id: str | None, zone_id: str, now: datetime) -> str:
        """Return ``armed``, ``exit_delay`` or ``disarmed``."""
        if self.is_armed(site_id, zone_id, now):
            return "armed"
        status = self._zones.get((site_id, zone_id))
        if status is not None and status.state == "armed":
            return "exit_delay"
        return "disarmed"

    def entry_delay(self, site_id: str | None, zone_id: str) -> float:
        """Return the entry delay of an armed zone (0 for 24-hour zones)."""
        if (site_id, zone_id) in self._always:
            return 0.0
        status = self._zones.get((site_id, zone_id))
        return status.entry_delay_s if status is not None else 0.0

    def is_bypassed(self, site_id: str | None, device_id: str, now: datetime) -> bool:
        """Return True while a bypass of the sensor is in force."""
        until = self._bypass.get((site_id, device_id))
        return until is not None and now < until


def _zone_or_fail(site: Site, zone_id: str) -> None:
    try:
        site.zone(zone_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no zone {zone_id!r}") from None


def set_arming(
    *,
    session: Session,
    site: Site,
    zone_id: str,
    armed: bool,
    context: Context,
    now: datetime,
    exit_delay_s: float = 0.0,
    entry_delay_s: float = 0.0,
    reason: str = "",
) -> Event[ArmingPayload]:
    """Arm or disarm a zone and stage the ``zone.arming`` event; 24-hour zones stay armed."""
    _zone_or_fail(site, zone_id)
    if not armed and site.zone(zone_id).always_armed:
        raise Conflict(f"zone {zone_id!r} is a 24-hour zone and cannot be disarmed")
    if exit_delay_s < 0 or entry_delay_s < 0:
        raise InvalidInput("delays cannot be negative")
    state = "armed" if armed else "disarmed"
    exit_delay = exit_delay_s if armed else 0.0
    row = session.get(ZoneArming, (site.site.id, zone_id))
    if row is None:
        row = ZoneArming(site_id=site.site.id, zone_id=zone_id)
        session.add(row)
    row.state = state
    row.effective_at = now + timedelta(seconds=exit_delay)
    row.exit_delay_s = exit_delay
    row.entry_delay_s = entry_delay_s if armed else 0.0
    row.changed_at = now
    row.changed_by = context.actor
    row.reason = reason
    event = make_event(
        EVENT_ZONE_ARMING,
        ArmingPayload(
            zone_id=zone_id,
            state=state,
            exit_delay_s=exit_delay,
            entry_delay_s=row.entry_delay_s,
            reason=reason,
        ),
        context=context,
        time=now,
        site=site.site.id,
    )
    stage(session, event)
    return event


def bypass_sensor(
    *,
    session: Session,
    site: Site,
    device_id: str,
    reason: str,
    until: datetime,
    context: Context,
    now: datetime,
) -> Event[SensorBypassPayload]:
    """Bypass a faulty sensor until ``until``; a reason and a future expiry are required."""
    try:
        site.device(device_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no device {device_id!r}") from None
    if not reason.strip():
        raise InvalidInput("a bypass needs a reason")
    if until <= now:
        raise InvalidInput("a bypass needs an expiry in the future")
    if until - now > timedelta(days=30):
        raise InvalidInput("a bypass may last at most 30 days")
    zone = site.device(device_id).zone
    if zone is not None and site.zone(zone).always_armed and site.device(device_id).type == "panic":
        raise Conflict("panic buttons in 24-hour zones cannot be bypassed")
    session.add(
        SensorBypass(
            site_id=site.site.id,
            device_id=device_id,
            reason=reason.strip(),
            until=until,
            created_by=context.actor,
            created_at=now,
        )
    )
    event = make_event(
        EVENT_SENSOR_BYPASS,
        SensorBypassPayload(device_id=device_id, active=True, reason=reason.strip(), until=until),
        context=context,
        time=now,
        site=site.site.id,
    )
    stage(session, event)
    return event


def clear_bypass(
    *, session: Session, site: Site, device_id: str, context: Context, now: datetime
) -> Event[SensorBypassPayload]:
    """End every active bypass of a sensor."""
    rows = session.execute(
        select(SensorBypass).where(
            SensorBypass.site_id == site.site.id,
            SensorBypass.device_id == device_id,
            SensorBypass.cleared_at.is_(None),
        )
    ).scalars()
    found = False
    for row in rows:
        row.cleared_at = now
        found = True
    if not found:
        raise NotFound(f"sensor {device_id!r} is not bypassed")
    event = make_event(
        EVENT_SENSOR_BYPASS,
        SensorBypassPayload(device_id=device_id, active=False, reason="restored"),
        context=context,
        time=now,
        site=site.site.id,
    )
    stage(session, event)
    return event


def list_arming(*, session: Session, site_id: str) -> list[ZoneArming]:
    """Return the stored arming rows of a site."""
    return list(
        session.execute(
            select(ZoneArming).where(ZoneArming.site_id == site_id).order_by(ZoneArming.zone_id)
        ).scalars()
    )


def shared_board(hub: Any) -> ArmingBoard:
    """Return the hub's arming board, creating and loading it on first use."""
    board = hub.extras.get("arming_board")
    if board is None:
        board = ArmingBoard(hub.extras.get("sites", {}))
        with hub.db.sessions() as session:
            board.load(session=session)
        hub.extras["arming_board"] = board
    return board  # type: ignore[no-any-return]
