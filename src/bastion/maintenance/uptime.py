"""Uptime per device per day and mean time between failures, from the ledgered health decisions.

The health tracker's decisions (``device.health``: offline / trouble / tamper, then
restored) are security events, so they are in the ledger already; uptime is read from
there rather than kept twice. A device is *down* from an ``offline`` decision to its
``restored``; every offline, trouble or tamper decision counts as a failure. Days are the
site's calendar days.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from bastion.core.events import EVENT_DEVICE_HEALTH
from bastion.site.schemas import DeviceType, Site
from bastion.store.ledger import Ledger

DOWN = "offline"
FAILURES = frozenset({"offline", "trouble", "tamper"})
KIND_OF: dict[DeviceType, str] = {DeviceType.READER: "reader", DeviceType.CAMERA: "camera"}
"""Health kind of each device type of the site model (every other type is a sensor)."""
HISTORY_DAYS = 30
"""How far before a period its starting state is looked up."""


@dataclass(frozen=True)
class Transition:
    """One health decision: a device went down (or into trouble), or came back."""

    at: datetime
    device_id: str
    status: str


@dataclass
class DeviceUptime:
    """Uptime of one device over a period, day by day, with its failures."""

    device_id: str
    name: str
    kind: str
    period_s: float
    down_s: float = 0.0
    failures: int = 0
    days: dict[date, float] = field(default_factory=dict)
    down_now: bool = False

    @property
    def uptime_pct(self) -> float:
        """Return the share of the period the device was up, 0–100."""
        return 100.0 * (1 - self.down_s / self.period_s) if self.period_s > 0 else 100.0

    @property
    def mtbf_h(self) -> float | None:
        """Return the mean hours up between failures (None when it never failed)."""
        if not self.failures:
            return None
        return (self.period_s - self.down_s) / self.failures / 3600


def transitions_from(
    ledger: Ledger, site_id: str, start: datetime, end: datetime
) -> list[Transition]:
    """Read the health decisions of a site from the ledger, oldest first."""
    rows = ledger.query(
        types=[EVENT_DEVICE_HEALTH.name],
        sites=[site_id],
        since=start - timedelta(days=HISTORY_DAYS),
        until=end,
        limit=1_000_000,
        newest_first=False,
    )
    found = []
    for row in rows:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            continue
        status = payload.get("status")
        device = payload.get("device_id")
        if isinstance(status, str) and isinstance(device, str):
            found.append(Transition(row.time, device, status))
    return found


def compute(
    site: Site,
    transitions: Iterable[Transition],
    start: datetime,
    end: datetime,
    tz: tzinfo,
) -> list[DeviceUptime]:
    """Return the uptime of every device of the site (and any other device that reported)."""
    period = (end - start).total_seconds()
    result: dict[str, DeviceUptime] = {
        d.id: DeviceUptime(d.id, d.name or d.id, KIND_OF.get(d.type, "sensor"), period)
        for d in site.devices
    }
    down_since: dict[str, datetime] = {}
    for item in sorted(transitions, key=lambda t: t.at):
        entry = result.setdefault(
            item.device_id, DeviceUptime(item.device_id, item.device_id, "service", period)
        )
        if item.at >= start and item.status in FAILURES:
            entry.failures += 1
        if item.status == DOWN:
            down_since.setdefault(item.device_id, item.at)
        elif item.status == "restored" and item.device_id in down_since:
            began = down_since.pop(item.device_id)
            _add_down(entry, max(began, start), item.at, start, end, tz)
    for device_id, began in down_since.items():
        entry = result[device_id]
        entry.down_now = True
        _add_down(entry, max(began, start), end, start, end, tz)
    for entry in result.values():
        day = start.astimezone(tz).date()
        while datetime.combine(day, time(), tz) < end:
            entry.days.setdefault(day, 0.0)
            day += timedelta(days=1)
        for key, down in list(entry.days.items()):
            lo = max(datetime.combine(key, time(), tz), start)
            hi = min(datetime.combine(key + timedelta(days=1), time(), tz), end)
            length = (hi - lo).total_seconds()
            entry.days[key] = 100.0 * (1 - down / length) if length > 0 else 100.0
    return sorted(result.values(), key=lambda e: (e.uptime_pct, e.device_id))


def _add_down(
    entry: DeviceUptime, lo: datetime, hi: datetime, start: datetime, end: datetime, tz: tzinfo
) -> None:
    hi = min(hi, end)
    if hi <= lo:
        return
    entry.down_s += (hi - lo).total_seconds()
    cursor = lo
    while cursor < hi:
        day = cursor.astimezone(tz).date()
        next_day = datetime.combine(day + timedelta(days=1), time(), tz)
        stop = min(hi, next_day)
        entry.days[day] = entry.days.get(day, 0.0) + (stop - cursor).total_seconds()
        cursor = stop
