"""Site time: one way to show a moment to people, in the site's zone with the zone named.

Times are stored and exchanged in UTC; everything a person reads (console, e-mail and
SMS bodies, PDFs, CLI tables) goes through :func:`site_time` so that the wall clock and
the zone abbreviation ("2026-12-03 09:15 PST") are the same everywhere. Form inputs
typed as local wall-clock text are read back with :func:`local_to_utc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["default_zone", "known_zone", "local_to_utc", "site_time", "site_zone", "zone_name"]


def site_zone(name: str | tzinfo | None) -> tzinfo:
    """Return the zone for an IANA name (a tzinfo passes through); UTC when unknown or empty."""
    if isinstance(name, tzinfo):
        return name
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def known_zone(name: str) -> bool:
    """Return True when ``name`` is an IANA zone this machine knows (for input checks)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def default_zone(sites: Mapping[str, Any]) -> tzinfo:
    """Return the zone shown when no one site is meant: the first site's by id, else UTC.

    ``sites`` maps site ids to loaded site models (anything with ``.site.timezone``).
    """
    if not sites:
        return UTC
    return site_zone(sites[sorted(sites)[0]].site.timezone)


def zone_name(zone: str | tzinfo | None) -> str:
    """Return the zone's IANA name ("America/Los_Angeles") for labels; "UTC" for UTC."""
    resolved = site_zone(zone)
    return str(getattr(resolved, "key", None) or resolved.tzname(None) or "UTC")


def site_time(
    moment: datetime | None,
    zone: str | tzinfo | None,
    *,
    seconds: bool = False,
    with_date: bool = True,
    empty: str = "—",
) -> str:
    """Return ``moment`` as a person reads it: local date, time and zone ("… 09:15 PST").

    A naive ``moment`` is taken as UTC (the store's convention); ``None`` gives ``empty``.
    """
    if moment is None:
        return empty
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(site_zone(zone))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    pattern = f"%Y-%m-%d {clock}" if with_date else clock
    abbreviation = local.tzname() or zone_name(zone)
    return f"{local.strftime(pattern)} {abbreviation}"


def local_to_utc(day: date, wall: time, zone: str | tzinfo | None) -> datetime:
    """Return the UTC moment of wall-clock ``wall`` on ``day`` in ``zone`` (forms, schedules)."""
    return datetime.combine(day, wall.replace(tzinfo=None), site_zone(zone)).astimezone(UTC)
