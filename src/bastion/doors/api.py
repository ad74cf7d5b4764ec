"""Door routes: live states, door commands and zone lockdowns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import DoorZones, FromPath, ZoneFromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.doors import service
from bastion.doors.board import DoorBoard
from bastion.hub import Hub
from bastion.site.lockdown import lockdowns_of
from bastion.site.schemas import Site

router = APIRouter(tags=["doors"])
HubDep = Annotated[Hub, Depends(get_hub)]


class DoorCommandCreate(BaseModel):
    """A door command from an operator."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["lock", "unlock", "momentary_unlock", "release"] = Field(
        description="What the door should do."
    )
    reason: str = Field(default="", max_length=500, description="Why (kept in the ledger).")
    override_lockdown: bool = Field(
        default=False,
        description=(
            "Confirm an unlock of a door a lockdown holds (needs doors:override_lockdown "
            "and a reason); without it such an unlock is refused."
        ),
    )


class LockdownCreate(BaseModel):
    """Start or lift a lockdown of a zone and its adjacent zones."""

    model_config = ConfigDict(extra="forbid")

    active: bool = Field(default=True, description="True to lock down, False to lift it.")
    reason: str = Field(default="", max_length=500, description="Why (kept in the ledger).")


class CommandAccepted(BaseModel):
    """The ledgered event that carries the command."""

    event_id: str = Field(description="Ledger event id.")
    context_id: str = Field(description="Context id, parent of whatever the command causes.")
    message: str = Field(default="", description="What was done, in plain words.")
    overridden: list[str] = Field(
        default_factory=list, description="Lockdowns overridden by this unlock (zone names)."
    )


class LockdownAccepted(CommandAccepted):
    """A lockdown started or lifted, named."""

    zone_id: str = Field(description="Root zone of the lockdown started or lifted.")
    zone_name: str = Field(description="Its name.")
    doors: list[str] = Field(description="Doors the lockdown holds (or held).")
    relocked: list[str] = Field(
        default_factory=list, description="Overridden doors locked again by the lift."
    )
    still_locked_down: list[str] = Field(
        default_factory=list, description="Lockdowns still active at the site (zone names)."
    )


class LockdownOut(BaseModel):
    """One active lockdown."""

    zone_id: str
    zone_name: str
    doors: list[str]
    reason: str
    started_at: str | None
    started_by: str | None


def site_of(hub: Hub, site_id: str) -> Site:
    """Return a loaded site or raise NotFound."""
    site: Site | None = hub.extras.get("sites", {}).get(site_id)
    if site is None:
        raise NotFound(f"no site {site_id!r}")
    return site


def board_of(hub: Hub) -> DoorBoard:
    """Return the hub's door board, creating it from the loaded sites on first use."""
    board: DoorBoard | None = hub.extras.get("door_board")
    if board is None:
        board = DoorBoard(hub.extras.get("sites", {}).values(), lockdowns_of(hub))
        hub.extras["door_board"] = board
    return board


@router.get("/api/sites/{site_id}/doors")
def door_states(
    site_id: str,
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.DOORS_READ, site=FromPath("site_id")))],
) -> dict[str, str]:
    """Return door id → current state."""
    site_of(hub, site_id)
    return board_of(hub).states(site_id)


@router.post("/api/sites/{site_id}/doors/{door_id}/commands", response_model=CommandAccepted)
async def command_door(
    site_id: str,
    door_id: str,
    body: DoorCommandCreate,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.DOORS_CONTROL, site=FromPath("site_id"), zone=DoorZones("door_id"))
        ),
    ],
) -> CommandAccepted:
    """Lock, unlock or momentarily unlock a door; lockdown wins unless explicitly overridden."""
    site = site_of(hub, site_id)
    board_of(hub)  # the board tracks the site in the shared lockdown registry
    result = await service.command_door(
        bus=hub.bus,
        site=site,
        door_id=door_id,
        command=body.command,
        reason=body.reason,
        context=principal.context(),
        lockdowns=lockdowns_of(hub),
        override=body.override_lockdown,
        may_override=principal.allows(Permission.DOORS_OVERRIDE_LOCKDOWN, site_id),
    )
    names = [item.zone_name for item in result.overridden]
    message = (
        f"Unlocked despite the lockdown of {', '.join(names)} (override recorded in the ledger)"
        if names
        else f"{body.command.replace('_', ' ').capitalize()} sent"
    )
    return CommandAccepted(
        event_id=result.event.id,
        context_id=result.event.context.id,
        message=message,
        overridden=names,
    )


@router.get("/api/sites/{site_id}/lockdowns", response_model=list[LockdownOut])
def active_lockdowns(
    site_id: str,
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.DOORS_READ, site=FromPath("site_id")))],
) -> list[dict[str, Any]]:
    """Return the active lockdowns of a site: root zone, the doors each holds, why, who."""
    site_of(hub, site_id)
    board_of(hub)
    return lockdowns_of(hub).as_dict(site_id)


@router.post("/api/sites/{site_id}/zones/{zone_id}/lockdown", response_model=LockdownAccepted)
async def lockdown_zone(
    site_id: str,
    zone_id: str,
    body: LockdownCreate,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.DOORS_LOCKDOWN, site=FromPath("site_id"), zone=ZoneFromPath("zone_id")
            )
        ),
    ],
) -> CommandAccepted:
    """Lock down a zone and its adjacent zones, or lift the lockdown rooted at this zone."""
    board = board_of(hub)
    registry = lockdowns_of(hub)
    result = await service.lockdown_zone(
        bus=hub.bus,
        site=site_of(hub, site_id),
        zone_id=zone_id,
        active=body.active,
        reason=body.reason,
        context=principal.context(),
        lockdowns=registry,
        board=board,
    )
    item = result.lockdown
    still = [i.zone_name for i in registry.active(site_id)]
    verb = "Locked down" if body.active else "Lifted the lockdown of"
    message = f"{verb} {item.zone_name} ({len(item.doors)} doors)"
    if not body.active and still:
        message += f"; still locked down: {', '.join(still)}"
    return LockdownAccepted(
        event_id=result.event.id,
        context_id=result.event.context.id,
        message=message,
        zone_id=item.zone_id,
        zone_name=item.zone_name,
        doors=list(item.doors),
        relocked=result.relocked,
        still_locked_down=still,
    )
