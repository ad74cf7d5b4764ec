"""Run a search for one site: filters from a request, names, the site's clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_zone as shared_zone
from bastion.hub import Hub
from bastion.search.names import Names
from bastion.search.query import EventFilter, EventLine, EventPage, parse_local, search_events
from bastion.site.schemas import Site

EXPORT_LIMIT = 10_000
"""Most rows an export carries; narrow the filters for more."""

MAX_TEXT = 200


def site_zone(site: Site) -> ZoneInfo:
    """Return the site's time zone (UTC when the name is unknown)."""
    zone = shared_zone(site.site.timezone)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


def filters_from(params: Mapping[str, str], kinds: Sequence[str], site: Site) -> EventFilter:
    """Build filters from query parameters; times are the site's local wall-clock times."""
    zone = site_zone(site)

    def text(name: str) -> str | None:
        value = (params.get(name) or "").strip()
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"{name}: at most {MAX_TEXT} characters")
        return value or None

    zone_id, door_id, outcome = text("zone"), text("door"), text("outcome")
    if zone_id and zone_id not in {z.id for z in site.zones}:
        raise InvalidInput(f"zone: {site.site.name} has no zone {zone_id!r}")
    if door_id and door_id not in {d.id for d in site.doors}:
        raise InvalidInput(f"door: {site.site.name} has no door {door_id!r}")
    if outcome not in (None, "granted", "denied"):
        raise InvalidInput("outcome: choose granted or denied")
    return EventFilter(
        since=parse_local(params.get("since"), zone, what="from"),
        until=parse_local(params.get("until"), zone, what="until"),
        kinds=tuple(k for k in kinds if k),
        zone=zone_id,
        door=door_id,
        person=text("person"),
        outcome=outcome,  # type: ignore[arg-type]
        text=text("text"),
    )


def search(hub: Hub, site: Site, filters: EventFilter, page: int = 1) -> EventPage:
    """Return one page of the site's events, newest first."""
    with hub.db.sessions() as session:
        names = Names.load(session, site)
        return search_events(
            session,
            site_id=site.site.id,
            names=names,
            zone=site_zone(site),
            filters=filters,
            page=page,
        )


def export_lines(hub: Hub, site: Site, filters: EventFilter) -> list[EventLine]:
    """Return every matching event (up to :data:`EXPORT_LIMIT`), newest first."""
    return search_lines(hub, site, filters, EXPORT_LIMIT)


def search_lines(hub: Hub, site: Site, filters: EventFilter, limit: int) -> list[EventLine]:
    """Return the newest ``limit`` matching events."""
    with hub.db.sessions() as session:
        names = Names.load(session, site)
        found = search_events(
            session,
            site_id=site.site.id,
            names=names,
            zone=site_zone(site),
            filters=filters,
            page_size=limit,
        )
    return found.lines
