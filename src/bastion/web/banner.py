"""The standing-state banner: every console page says when a lockdown or raised threat is on.

What is in force comes from the one lockdown registry and the last threat level set per
site; who set it and when come from the ledger (``site.lockdown`` / ``site.threat_level``),
so the banner names a person even after a restart reloaded the lockdowns without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo

from fastapi import Request

from bastion.api.deps import Principal
from bastion.api.scope import Place
from bastion.core.sitetime import site_time, site_zone
from bastion.hub import Hub
from bastion.site.lockdown import Lockdown, lockdowns_of
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow
from bastion.web.readmodel import THREAT_NAMES, THREAT_TYPE, loaded_sites, usernames
from bastion.web.templating import templates

LOCKDOWN_TYPE = "site.lockdown"


@dataclass(frozen=True)
class Standing:
    """One state in force at a site, as the banner words it."""

    kind: str
    """``lockdown`` or ``threat``."""
    site_name: str
    what: str
    by: str
    at: datetime | None
    zone: tzinfo
    reason: str = ""

    @property
    def when(self) -> str:
        """Return when it was set, in the site's time with the zone named."""
        return site_time(self.at, self.zone, empty="")


def _site_zone(site: Site) -> tzinfo:
    return site_zone(site.site.timezone)


def _started(hub: Hub, site_id: str, item: Lockdown) -> tuple[str | None, datetime | None, str]:
    """Return who started a lockdown, when and why: the registry's, else the ledger's."""
    if item.started_by and item.started_at:
        return item.started_by, item.started_at, item.reason
    for row in hub.ledger.query(types=[LOCKDOWN_TYPE], sites=[site_id], limit=50):
        payload = json.loads(row.payload)
        if item.zone_id in payload.get("zone_ids", ()):
            if not payload.get("active", False):
                break
            return row.actor, row.time, payload.get("reason", "") or item.reason
    return item.started_by, item.started_at, item.reason


def _threat(hub: Hub, site_id: str) -> LedgerRow | None:
    rows = hub.ledger.query(types=[THREAT_TYPE], sites=[site_id], site_less=True, limit=1)
    return rows[0] if rows else None


def standing_alerts(request: Request, principal: Principal) -> list[Standing]:
    """Return the lockdowns and raised threat levels in force at the principal's sites."""
    hub: Hub | None = getattr(request.app.state, "hub", None)
    if hub is None:
        return []
    registry = lockdowns_of(hub)
    found: list[tuple[str, str, str | None, datetime | None, str, Site]] = []
    for site_id, site in sorted(loaded_sites(hub).items()):
        if not principal.sees(Place(site_id)):
            continue
        for item in registry.active(site_id):
            by, at, reason = _started(hub, site_id, item)
            found.append(("lockdown", f"Lockdown of {item.zone_name}", by, at, reason, site))
        row = _threat(hub, site_id)
        if row is not None:
            payload = json.loads(row.payload)
            level = int(payload.get("level", 0))
            if level > 0:
                name = payload.get("name") or THREAT_NAMES.get(level, f"level {level}")
                what = f"Threat level {name} ({level})"
                found.append(("threat", what, row.actor, row.time, payload.get("reason", ""), site))
    if not found:
        return []
    names = usernames(hub)
    return [
        Standing(
            kind,
            site.site.name,
            what,
            names.get(by or "", by or "unknown"),
            at,
            _site_zone(site),
            reason,
        )
        for kind, what, by, at, reason, site in found
    ]


templates.env.globals["standing_alerts"] = standing_alerts
