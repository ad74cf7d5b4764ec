"""Operator door commands and zone lockdowns, published as ledgered events.

The access engine and the reader integrations carry them out; this module validates
them against the site model and the shared lockdown registry and records who asked
and why. Lockdown wins: a plain unlock of a door a lockdown holds is refused, and
only an explicit override (a permission of its own, confirmed, with a reason) unlocks
it. A lift names the lockdown it lifts; asking to lift a zone that is only held by a
neighbour's lockdown is refused with the name of the lockdown to lift instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_DOOR_COMMAND,
    EVENT_DOOR_OVERRIDE,
    EVENT_LOCKDOWN,
    DoorCommandPayload,
    DoorOverridePayload,
    Event,
    LockdownPayload,
)
from bastion.doors.board import DoorBoard
from bastion.site.graph import SiteGraph
from bastion.site.lockdown import Lockdown, LockdownRegistry
from bastion.site.schemas import Site

COMMANDS = ("lock", "unlock", "momentary_unlock", "release")
UNLOCKING = ("unlock", "momentary_unlock")


def _names(items: list[Lockdown]) -> str:
    return " and ".join(f"the {item.describe()}" for item in items)


def _door_name(site: Site, door_id: str) -> str:
    try:
        return site.door(door_id).name or door_id
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no door {door_id!r}") from None


@dataclass
class DoorResult:
    """What a door command did: its event, and the lockdowns it overrode (if any)."""

    event: Event[DoorCommandPayload] | Event[DoorOverridePayload]
    overridden: list[Lockdown] = field(default_factory=list)


async def command_door(
    *,
    bus: Bus,
    site: Site,
    door_id: str,
    command: str,
    reason: str,
    context: Context,
    lockdowns: LockdownRegistry,
    override: bool = False,
    may_override: bool = False,
) -> DoorResult:
    """Publish a command for one door of ``site``; an unlock during a lockdown needs an override."""
    if command not in COMMANDS:
        raise InvalidInput(
            f"unknown door command {command!r}; expected one of {', '.join(COMMANDS)}"
        )
    name = _door_name(site, door_id)
    sid = site.site.id
    if command in UNLOCKING and lockdowns.mode_locked(sid, door_id):
        raise Conflict(
            f"{name} is in lockdown mode by its access policy; change the door's mode to unlock it"
        )
    holding = lockdowns.covering(sid, door_id) if command in UNLOCKING else []
    if holding and not override:
        raise Conflict(
            f"{name} is held by {_names(holding)}; lockdown wins over unlock. "
            "Lift the lockdown, or override it with a reason if your role allows."
        )
    if override and not holding:
        raise InvalidInput(f"{name} is not locked down; there is no lockdown to override")
    if holding:
        if not may_override:
            raise Forbidden("your role may not override a lockdown")
        if not reason.strip():
            raise InvalidInput("a lockdown override needs a reason (it is kept in the ledger)")
        event = await bus.publish(
            EVENT_DOOR_OVERRIDE,
            DoorOverridePayload(
                door_id=door_id,
                lockdown_zone_ids=tuple(item.zone_id for item in holding),
                reason=reason.strip(),
            ),
            context=context,
            site=sid,
        )
        return DoorResult(event, holding)
    command_event = await bus.publish(
        EVENT_DOOR_COMMAND,
        DoorCommandPayload(door_id=door_id, command=command, reason=reason),  # type: ignore[arg-type,unused-ignore]
        context=context,
        site=sid,
    )
    return DoorResult(command_event)


@dataclass
class LockdownResult:
    """What a lockdown request did, named: the lockdown, and doors locked again after it."""

    event: Event[LockdownPayload]
    lockdown: Lockdown
    relocked: list[str] = field(default_factory=list)


async def lockdown_zone(
    *,
    bus: Bus,
    site: Site,
    zone_id: str,
    active: bool,
    reason: str,
    context: Context,
    lockdowns: LockdownRegistry,
    board: DoorBoard | None = None,
) -> LockdownResult:
    """Lock down (or lift the lockdown of) a zone; the lockdown holds its and its neighbours' doors.

    Lifting names exactly the lockdown it lifts. A zone held only by a neighbour's
    lockdown is refused with the lockdown's name, so the map never turns normal
    while the engine still denies. Doors unlocked by an override and no longer held
    by any lockdown are locked again, with a ledgered lock command each.
    """
    graph = SiteGraph(site)
    sid = site.site.id
    if zone_id not in graph or zone_id == "outside":
        raise NotFound(f"site {sid!r} has no zone {zone_id!r}")
    if not lockdowns.knows(sid, zone_id):
        lockdowns.put_graph(sid, graph)
    current = lockdowns.get(sid, zone_id)
    zone_name = next((z.name for z in site.zones if z.id == zone_id), zone_id)
    if not active and current is None:
        holding = lockdowns.covering_zone(sid, zone_id)
        if holding:
            raise Conflict(
                f"{zone_name} is not locked down itself; its doors are held by "
                f"{_names(holding)}. Lift that lockdown instead."
            )
        raise Conflict(f"{zone_name} is not locked down")
    if active and current is not None:
        raise Conflict(f"{zone_name} is already locked down")
    overridden = set(board.overrides(sid)) if board is not None and not active else set()
    still = {d for item in lockdowns.active(sid) if item.zone_id != zone_id for d in item.doors}
    event = await bus.publish(
        EVENT_LOCKDOWN,
        LockdownPayload(zone_ids=(zone_id,), active=active, reason=reason),
        context=context,
        site=sid,
    )
    # Committed: apply it to the shared registry now (the bus subscribers find it done),
    # so the engine denies and the board shows it before this request returns.
    if active:
        named = lockdowns.start(sid, zone_id, reason=reason, at=event.time, by=context.actor)
    else:
        named = lockdowns.lift(sid, zone_id)
    named = named or current or lockdowns.get(sid, zone_id)
    if named is None:  # applied meanwhile by a subscriber: name it from the site graph
        named = Lockdown(
            site_id=sid,
            zone_id=zone_id,
            zone_name=zone_name,
            doors=tuple(d.id for d in graph.lockdown_doors(zone_id)),
            reason=reason,
        )
    relocked = sorted(overridden - still)
    for door_id in relocked:
        await bus.publish(
            EVENT_DOOR_COMMAND,
            DoorCommandPayload(
                door_id=door_id,
                command="lock",
                reason=f"{named.describe()} lifted: the lockdown override ends",
            ),
            context=event.context.child(),
            site=sid,
        )
    return LockdownResult(event, named, relocked)
