"""Rules, traces, arming, bypasses and manual response commands over HTTP (thin).

Rules and the threat level set here apply to every site (a rule may act anywhere), so
changing them needs a grant for every site; zone lockdowns are in :mod:`bastion.doors.api`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import DeviceZone, DoorZones, EverySite, FromPath, Global, ZoneFromPath
from bastion.auth.permissions import Permission
from bastion.automation import arming, service
from bastion.automation.config import RuleConfig, rule_to_dict
from bastion.automation.references import catalog_from_store
from bastion.automation.schemas import (
    ArmingRequest,
    BypassRequest,
    DoorCommandRequest,
    ThreatRequest,
    TraceRead,
)
from bastion.core.errors import Conflict, NotFound
from bastion.core.events import (
    EVENT_DOOR_COMMAND,
    EVENT_THREAT_LEVEL,
    DoorCommandPayload,
    ThreatLevelPayload,
)
from bastion.hub import Hub
from bastion.site.lockdown import lockdowns_of
from bastion.site.schemas import Site

router = APIRouter(tags=["automation"])
HubDep = Annotated[Hub, Depends(get_hub)]


def _site(hub: Hub, site_id: str) -> Site:
    site = hub.extras.get("sites", {}).get(site_id)
    if site is None:
        raise NotFound(f"site {site_id!r} is not loaded")
    return site  # type: ignore[no-any-return]


def _loaded_rules(hub: Hub) -> list[RuleConfig]:
    runtime = hub.extras.get("automation")
    return runtime.all_rules() if runtime is not None else []


def _apply(hub: Hub, rule: RuleConfig | None, removed: str | None = None) -> None:
    """Recompile the running engine with the changed rule (the request commits it next)."""
    runtime = hub.extras.get("automation")
    if runtime is None:
        return
    gone = removed or (rule.id if rule is not None else None)
    rules = [r for r in runtime.all_rules() if r.id != gone]
    runtime.load([*rules, *([rule] if rule is not None else [])])


@router.get("/api/rules")
def list_rules(
    session: SessionDep,
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.RULES_READ, site=Global()))],
) -> list[dict[str, Any]]:
    """Return every rule (from files and from the database)."""
    rules = _loaded_rules(hub) or service.stored_rules(session=session)
    return [rule_to_dict(r) for r in rules]


@router.post("/api/rules", status_code=201)
def create_rule(
    session: SessionDep,
    hub: HubDep,
    who: Annotated[Principal, Depends(Require(Permission.RULES_MANAGE, site=EverySite()))],
    raw: Annotated[dict[str, Any], Body(description="Rule as in a rules file.")],
) -> dict[str, Any]:
    """Validate (unknown actions, cycles, references) and store a rule."""
    rule = service.save_rule(
        session=session,
        raw=raw,
        context=who.context(),
        now=hub.clock.now(),
        others=_loaded_rules(hub),
        catalog=catalog_from_store(session=session, sites=hub.extras.get("sites", {})),
        create=True,
    )
    _apply(hub, rule)
    return rule_to_dict(rule)


@router.put("/api/rules/{rule_id}")
def update_rule(
    rule_id: str,
    session: SessionDep,
    hub: HubDep,
    who: Annotated[Principal, Depends(Require(Permission.RULES_MANAGE, site=EverySite()))],
    raw: Annotated[dict[str, Any], Body(description="Rule as in a rules file.")],
) -> dict[str, Any]:
    """Replace a stored rule."""
    rule = service.save_rule(
        session=session,
        raw={**raw, "id": rule_id},
        context=who.context(),
        now=hub.clock.now(),
        others=_loaded_rules(hub),
        catalog=catalog_from_store(session=session, sites=hub.extras.get("sites", {})),
        create=False,
    )
    _apply(hub, rule)
    return rule_to_dict(rule)


@router.delete("/api/rules/{rule_id}", status_code=204)
def delete_rule(
    rule_id: str,
    session: SessionDep,
    hub: HubDep,
    who: Annotated[Principal, Depends(Require(Permission.RULES_MANAGE, site=EverySite()))],
) -> None:
    """Delete a stored rule."""
    service.delete_rule(
        session=session, rule_id=rule_id, context=who.context(), now=hub.clock.now()
    )
    _apply(hub, None, removed=rule_id)


@router.get("/api/rules/traces", response_model=list[TraceRead])
def list_traces(
    session: SessionDep,
    _: Annotated[Principal, Depends(Require(Permission.RULES_READ, site=Global()))],
    rule_id: Annotated[str | None, Query(description="Only this rule.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[TraceRead]:
    """Return stored traces, newest first."""
    return [
        TraceRead.model_validate(t)
        for t in service.list_traces(session=session, rule_id=rule_id, limit=limit)
    ]


@router.put("/api/sites/{site_id}/zones/{zone_id}/arming")
def set_arming(
    site_id: str,
    zone_id: str,
    body: ArmingRequest,
    session: SessionDep,
    hub: HubDep,
    who: Annotated[
        Principal,
        Depends(
            Require(Permission.ALARMS_WORK, site=FromPath("site_id"), zone=ZoneFromPath("zone_id"))
        ),
    ],
) -> dict[str, Any]:
    """Arm or disarm a zone (24-hour zones refuse to disarm)."""
    event = arming.set_arming(
        session=session,
        site=_site(hub, site_id),
        zone_id=zone_id,
        armed=body.armed,
        context=who.context(),
        now=hub.clock.now(),
        exit_delay_s=body.exit_delay_s,
        entry_delay_s=body.entry_delay_s,
        reason=body.reason,
    )
    return event.payload.model_dump(mode="json")


@router.post("/api/sites/{site_id}/sensors/{device_id}/bypass")
def bypass(
    site_id: str,
    device_id: str,
    body: BypassRequest,
    session: SessionDep,
    hub: HubDep,
    who: Annotated[
        Principal,
        Depends(
            Require(Permission.ALARMS_WORK, site=FromPath("site_id"), zone=DeviceZone("device_id"))
        ),
    ],
) -> dict[str, Any]:
    """Bypass a faulty sensor with a reason and an expiry."""
    event = arming.bypass_sensor(
        session=session,
        site=_site(hub, site_id),
        device_id=device_id,
        reason=body.reason,
        until=body.until,
        context=who.context(),
        now=hub.clock.now(),
    )
    return event.payload.model_dump(mode="json")


@router.post("/api/sites/{site_id}/doors/{door_id}/{command}")
async def door_command(
    site_id: str,
    door_id: str,
    command: str,
    body: DoorCommandRequest,
    hub: HubDep,
    who: Annotated[
        Principal,
        Depends(
            Require(Permission.DOORS_CONTROL, site=FromPath("site_id"), zone=DoorZones("door_id"))
        ),
    ],
) -> dict[str, Any]:
    """Lock or unlock a door (published as ``door.command``)."""
    if command not in ("lock", "unlock"):
        raise NotFound(f"unknown door command {command!r}")
    try:
        door = _site(hub, site_id).door(door_id)
    except KeyError:
        raise NotFound(f"site {site_id!r} has no door {door_id!r}") from None
    holding = lockdowns_of(hub).covering(site_id, door_id) if command == "unlock" else []
    if holding:
        names = " and ".join(f"the {item.describe()}" for item in holding)
        raise Conflict(
            f"{door.name or door_id} is held by {names}; lockdown wins over unlock "
            "(an override needs the door console and a reason)"
        )
    event = await hub.bus.publish(
        EVENT_DOOR_COMMAND,
        DoorCommandPayload(door_id=door_id, command=command, reason=body.reason),  # type: ignore[arg-type,unused-ignore]
        context=who.context(),
        site=site_id,
    )
    return {"event_id": event.id}


@router.put("/api/threat-level")
async def threat_level(
    body: ThreatRequest,
    hub: HubDep,
    who: Annotated[Principal, Depends(Require(Permission.THREAT_SET, site=EverySite()))],
) -> dict[str, Any]:
    """Set the site-wide threat level."""
    event = await hub.bus.publish(
        EVENT_THREAT_LEVEL,
        ThreatLevelPayload(level=body.level, name=body.name, reason=body.reason),
        context=who.context(),
    )
    return {"event_id": event.id}
