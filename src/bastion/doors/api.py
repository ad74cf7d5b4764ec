"""Door routes: live states, door commands and zone lockdowns."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import DoorZones, FromPath, ZoneFromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.doors import service
from bastion.doors.board import DoorBoard
from bastion.hub import Hub
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


class LockdownCreate(BaseModel):
    """Start or lift a lockdown of a zone and its adjacent zones."""

    model_config = ConfigDict(extra="forbid")

    active: bool = Field(default=True, description="True to lock down, False to lift it.")
    reason: str = Field(default="", max_length=500, description="Why (kept in the ledger).")


class CommandAccepted(BaseModel):
    """The ledgered event that carries the command."""

    event_id: str = Field(description="Ledger event id.")
    context_id: str = Field(description="Context id, parent of whatever the command causes.")


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
        board = DoorBoard(hub.extras.get("sites", {}).values())
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
    """Lock, unlock or momentarily unlock a door."""
    event = await service.command_door(
        bus=hub.bus,
        site=site_of(hub, site_id),
        door_id=door_id,
        command=body.command,
        reason=body.reason,
        context=principal.context(),
    )
    return CommandAccepted(event_id=event.id, context_id=event.context.id)


@router.post("/api/sites/{site_id}/zones/{zone_id}/lockdown", response_model=CommandAccepted)
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
    """Lock down a zone and its adjacent zones, or lift the lockdown."""
    event = await service.lockdown_zone(
        bus=hub.bus,
        site=site_of(hub, site_id),
        zone_id=zone_id,
        active=body.active,
        reason=body.reason,
        context=principal.context(),
    )
    return CommandAccepted(event_id=event.id, context_id=event.context.id)
