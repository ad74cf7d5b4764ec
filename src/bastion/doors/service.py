"""Operator door commands and zone lockdowns, published as ledgered events.

The access engine and the reader integrations carry them out; this module only
validates them against the site model and records who asked and why.
"""

from __future__ import annotations

from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.errors import InvalidInput, NotFound
from bastion.core.events import (
    EVENT_DOOR_COMMAND,
    EVENT_LOCKDOWN,
    DoorCommandPayload,
    Event,
    LockdownPayload,
)
from bastion.site.graph import SiteGraph
from bastion.site.schemas import Site

COMMANDS = ("lock", "unlock", "momentary_unlock", "release")


async def command_door(
    *, bus: Bus, site: Site, door_id: str, command: str, reason: str, context: Context
) -> Event[DoorCommandPayload]:
    """Publish a command for one door of ``site``."""
    if command not in COMMANDS:
        raise InvalidInput(
            f"unknown door command {command!r}; expected one of {', '.join(COMMANDS)}"
        )
    try:
        site.door(door_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no door {door_id!r}") from None
    return await bus.publish(
        EVENT_DOOR_COMMAND,
        DoorCommandPayload(door_id=door_id, command=command, reason=reason),
        context=context,
        site=site.site.id,
    )


async def lockdown_zone(
    *, bus: Bus, site: Site, zone_id: str, active: bool, reason: str, context: Context
) -> Event[LockdownPayload]:
    """Lock down (or release) a zone and the zones adjacent to it."""
    graph = SiteGraph(site)
    if zone_id not in graph or zone_id == "outside":
        raise NotFound(f"site {site.site.id!r} has no zone {zone_id!r}")
    zones = (zone_id, *(z.id for z in graph.adjacent_zones(zone_id)))
    return await bus.publish(
        EVENT_LOCKDOWN,
        LockdownPayload(zone_ids=zones, active=active, reason=reason),
        context=context,
        site=site.site.id,
    )
