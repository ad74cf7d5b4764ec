"""What the console shows at a glance, read from the ledger, the site model and the alarms domain.

These are projections: each function reads committed facts (ledger rows, alarm rows,
the loaded site) and returns plain values for the templates; none of them writes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from bastion.alarms.models import Alarm
from bastion.api.deps import Principal
from bastion.auth.models import User
from bastion.auth.permissions import Permission
from bastion.core.errors import Forbidden, NotFound
from bastion.hub import Hub
from bastion.site.schemas import DeviceType, Site
from bastion.store.ledger import LedgerRow

HEALTH_TYPES = ("device.health", "reader.status")
THREAT_TYPE = "site.threat_level"
THREAT_NAMES = {0: "normal", 1: "guarded", 2: "elevated", 3: "high", 4: "severe"}


def loaded_sites(hub: Hub) -> dict[str, Site]:
    """Return the sites loaded on the hub by id."""
    sites: dict[str, Site] = hub.extras.get("sites", {})
    return sites


def pick_site(hub: Hub, site_id: str | None) -> Site:
    """Return the site ``site_id`` (or the first one); raise NotFound when there is none."""
    sites = loaded_sites(hub)
    if site_id is not None:
        if site_id not in sites:
            raise NotFound(f"no site {site_id!r}")
        return sites[site_id]
    if not sites:
        raise NotFound("no site is loaded; import one with 'bastion site import FILE'")
    return sites[sorted(sites)[0]]


def site_for(hub: Hub, principal: Principal, permission: Permission, wanted: str | None) -> Site:
    """Return the chosen (or first) loaded site where the principal holds ``permission``."""
    sites = loaded_sites(hub)
    allowed = sorted(sid for sid in sites if principal.allows(permission, sid))
    if wanted:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the {permission.value} permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may see this")
    return sites[allowed[0]]


@dataclass(frozen=True)
class ThreatView:
    """The current site-wide threat level."""

    level: int
    name: str
    reason: str = ""
    since: datetime | None = None


def threat_level(hub: Hub, sites: Collection[str] | None = None) -> ThreatView:
    """Return the threat level set last (level 0, normal, when none was ever set).

    With ``sites``, only levels set for those sites or for every site count.
    """
    rows = hub.ledger.query(types=[THREAT_TYPE], limit=1, sites=sites, site_less=True)
    if not rows:
        return ThreatView(0, THREAT_NAMES[0])
    payload = json.loads(rows[0].payload)
    level = int(payload.get("level", 0))
    name = payload.get("name") or THREAT_NAMES.get(level, f"level {level}")
    return ThreatView(level, name, payload.get("reason", ""), rows[0].time)


@dataclass(frozen=True)
class DeviceFault:
    """A device whose last report was not healthy."""

    device_id: str
    name: str
    status: str
    detail: str
    since: datetime


@dataclass
class HealthSummary:
    """Device health at a glance: counts by status and the devices needing attention."""

    total: int = 0
    reporting: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    faults: list[DeviceFault] = field(default_factory=list)

    @property
    def healthy(self) -> int:
        """Return how many devices are not reported faulty."""
        return self.total - len(self.faults)


def _health_status(row: LedgerRow) -> tuple[str, str, str] | None:
    """Return (device, status, detail) from a device.health or reader.status row."""
    payload = json.loads(row.payload)
    if row.type == "device.health":
        status = payload.get("status", "")
        return (
            payload.get("device_id", ""),
            "ok" if status == "restored" else status,
            payload.get("detail", ""),
        )
    if not payload.get("online", False):
        return payload.get("reader_id", ""), "offline", payload.get("detail", "")
    if not payload.get("secure", False) or payload.get("key") in {"none", "default"}:
        return payload.get("reader_id", ""), "insecure", payload.get("detail", "")
    return payload.get("reader_id", ""), "online", payload.get("detail", "")


def device_health(hub: Hub, sites: Iterable[Site], *, window: int = 2000) -> HealthSummary:
    """Summarise the newest health report of every device of ``sites``."""
    names: dict[str, str] = {}
    for site in sites:
        for device in site.devices:
            names[device.id] = device.name or device.id
    summary = HealthSummary(total=len(names))
    latest: dict[str, tuple[str, str, datetime]] = {}
    for row in hub.ledger.query(types=list(HEALTH_TYPES), limit=window):
        found = _health_status(row)
        if found is None or found[0] in latest:
            continue
        latest[found[0]] = (found[1], found[2], row.time)
    for device_id, (status, detail, when) in latest.items():
        if device_id not in names:
            continue
        summary.reporting += 1
        shown = "online" if status in {"ok", "online"} else status
        summary.counts[shown] += 1
        if shown != "online":
            summary.faults.append(DeviceFault(device_id, names[device_id], shown, detail, when))
    summary.faults.sort(key=lambda f: (f.status, f.device_id))
    return summary


def events_per_hour(
    hub: Hub, now: datetime, *, hours: int = 24, sites: Collection[str] | None = None
) -> list[tuple[datetime, int]]:
    """Return the ledger events (of ``sites``) in each of the last ``hours`` hours, oldest first."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    buckets = [start + timedelta(hours=i) for i in range(hours)]
    counts = [0] * hours
    with hub.db.sessions() as session:
        stmt = select(LedgerRow.time).where(LedgerRow.time >= start)
        if sites is not None:
            stmt = stmt.where(LedgerRow.site.in_(sorted(sites)))
        times = session.execute(stmt).scalars()
        for when in times:
            index = int((when - start).total_seconds() // 3600)
            if 0 <= index < hours:
                counts[index] += 1
    return list(zip(buckets, counts, strict=True))


def usernames(hub: Hub) -> dict[str, str]:
    """Return ``user:<id>`` → user name, to show people instead of ids."""
    with hub.db.sessions() as session:
        return {f"user:{i}": name for i, name in session.execute(select(User.id, User.username))}


@dataclass(frozen=True)
class ChainEntry:
    """One line of an alarm's event chain."""

    time: datetime
    type: str
    actor: str
    summary: str
    event_id: str | None = None
    cause: bool = False


def _summary(row: LedgerRow) -> str:
    payload: dict[str, Any] = json.loads(row.payload)
    for key in ("message", "reason", "title", "state", "command", "answer"):
        value = payload.get(key)
        if value:
            return str(value)
    return row.device or ""


def event_chain(hub: Hub, alarm: Alarm, event_ids: Iterable[str]) -> list[ChainEntry]:
    """Return the alarm's causes and effects from the ledger plus its lifecycle, in time order.

    The chain holds the events named by its evidence and procedure log, and every event
    sharing (or descending from) the context of its cause or of its ``alarm.raised``.
    An alarm has one ``alarm.raised``: when a device adapter and the alarms domain both
    reported the same cause (deduplicated into this alarm), only the one that raised it
    is listed.
    """
    ids = set(event_ids)
    with hub.db.sessions() as session:
        rows = list(session.execute(select(LedgerRow).where(LedgerRow.id.in_(ids))).scalars())
        contexts = {r.context_id for r in rows} | {alarm.context_id}
        related = session.execute(
            select(LedgerRow)
            .where(or_(LedgerRow.context_id.in_(contexts), LedgerRow.parent_id.in_(contexts)))
            .order_by(LedgerRow.seq)
            .limit(200)
        ).scalars()
        seen = {r.id for r in rows}
        rows += [r for r in related if r.id not in seen]
    if alarm.raised_event_id is not None:
        rows = [r for r in rows if r.type != "alarm.raised" or r.id == alarm.raised_event_id]
    entries = [
        ChainEntry(r.time, r.type, r.actor, _summary(r), r.id, cause=r.id == alarm.source_event_id)
        for r in rows
    ]
    if alarm.acknowledged_at is not None and alarm.acknowledged_by:
        entries.append(
            ChainEntry(alarm.acknowledged_at, "alarm.acknowledged", alarm.acknowledged_by, "")
        )
    if alarm.closed_at is not None and alarm.closed_by:
        entries.append(
            ChainEntry(alarm.closed_at, f"alarm.{alarm.state}", alarm.closed_by, alarm.reason)
        )
    return sorted(entries, key=lambda e: (e.time, e.type))


def camera_names(site: Site | None) -> dict[str, str]:
    """Return camera id → display name of ``site``."""
    if site is None:
        return {}
    return {d.id: d.name or d.id for d in site.devices if d.type is DeviceType.CAMERA}
