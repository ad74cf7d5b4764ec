"""Access and people routes: cardholders, credentials, levels, policies, lockdown, audit queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access import service
from bastion.access.cards import parse_card
from bastion.access.engine import AccessEngine
from bastion.access.models import Credential
from bastion.access.runtime import engine_of, load_engine
from bastion.access.schemas import (
    AccessStatus,
    AntiPassbackWrite,
    Assignment,
    CredentialCreate,
    CredentialRead,
    CredentialRevoke,
    DoorPolicyWrite,
    EntryRead,
    ExplanationRead,
    ForgiveRequest,
    HolderRead,
    InterlockWrite,
    LevelRead,
    LevelWrite,
    LockdownRequest,
    PersonCreate,
    PersonRead,
    PersonStatusUpdate,
    StepRead,
    ThreatRequest,
)
from bastion.access.snapshot import DoorPolicySpec, LevelSpec
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.resources import CREDENTIAL, LEVEL, PERSON
from bastion.api.scope import (
    AnySite,
    DoorZones,
    FromBody,
    FromPath,
    FromQuery,
    FromResource,
    Missing,
    ZoneFromBody,
    ZoneFromPath,
)
from bastion.auth.permissions import Permission
from bastion.core.errors import Forbidden, InvalidInput
from bastion.core.sitetime import site_zone
from bastion.hub import Hub
from bastion.people import employees as hiring
from bastion.people import service as people_service
from bastion.people.models import Person
from bastion.site import service as site_service

router = APIRouter(tags=["access"])
HubDep = Annotated[Hub, Depends(get_hub)]


def _person(person: Person) -> PersonRead:
    return PersonRead(
        id=person.id,
        name=person.name,
        kind=person.kind,
        status=person.status,
        role=person.role,
        site_id=person.site_id,
        background_check=person.background_check,
    )


def _credential(row: Credential) -> CredentialRead:
    return CredentialRead(
        id=row.id,
        person_id=row.person_id,
        kind=row.kind,
        card_format=row.card_format,
        facility_code=row.facility_code,
        activates_at=row.activates_at,
        expires_at=row.expires_at,
        revoked=row.revoked,
    )


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Person).where(Person.id.in_(sorted(ids)))).scalars()
    return {p.id: p.name for p in rows}


def _engine(hub: Hub) -> AccessEngine:
    return engine_of(hub) or load_engine(hub)


# Assigning a level changes the level's site and the person's record: both must be in reach.
LEVEL_AND_PERSON = Require(
    Permission.ACCESS_MANAGE,
    site=(FromResource("level_id", LEVEL), FromResource("person_id", PERSON, where="body")),
)

# --- people ---------------------------------------------------------------------------------------


@router.get("/api/people", response_model=list[PersonRead])
def list_people(
    session: SessionDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.PEOPLE_READ, site=FromQuery("site_id", missing=Missing.ANY_SITE))
        ),
    ],
    site_id: str | None = None,
) -> list[PersonRead]:
    """List the cardholders of the caller's sites (and those enrolled for every site)."""
    rows = people_service.list_people(session=session, site_id=site_id)
    return [_person(p) for p in principal.visible(Permission.PEOPLE_READ, rows)]


@router.post("/api/people", response_model=PersonRead, status_code=201)
def create_person(
    body: PersonCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.PEOPLE_MANAGE, site=FromBody("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
) -> PersonRead:
    """Add a cardholder."""
    person = service.create_person(
        session=session,
        name=body.name,
        kind=body.kind,
        role=body.role,
        site_id=body.site_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return _person(person)


@router.post("/api/people/{person_id}/status", response_model=PersonRead)
def set_person_status(
    person_id: str,
    body: PersonStatusUpdate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.PEOPLE_MANAGE, site=FromResource("person_id", PERSON))),
    ],
) -> PersonRead:
    """Suspend, reinstate or offboard; suspension takes effect before this returns."""
    person = service.set_person_status(
        session=session,
        person_id=person_id,
        status=body.status,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return _person(person)


# --- credentials ----------------------------------------------------------------------------------


@router.get("/api/access/credentials", response_model=list[CredentialRead])
def list_credentials(
    session: SessionDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.ACCESS_READ,
                site=FromResource("person_id", PERSON, where="query", missing=Missing.ANY_SITE),
            )
        ),
    ],
    person_id: str | None = None,
) -> list[CredentialRead]:
    """List the credentials of the caller's sites' people (of one person), without secrets."""
    rows = service.list_credentials(session=session, person_id=person_id)
    homes = people_service.home_sites(session=session, person_ids=(c.person_id for c in rows))
    kept = principal.visible(Permission.ACCESS_READ, rows, site=lambda c: homes.get(c.person_id))
    return [_credential(c) for c in kept]


@router.post("/api/access/credentials", response_model=CredentialRead, status_code=201)
def issue_credential(
    body: CredentialCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.ACCESS_MANAGE, site=FromResource("person_id", PERSON, where="body"))
        ),
    ],
) -> CredentialRead:
    """Enrol a credential; card data, PIN and token are hashed and never stored.

    The hiring gate applies: no credential while a level the person holds needs a
    background check or training they do not have.
    """
    now = hub.clock.now()
    hiring.check_levels_held(session=session, person_id=body.person_id, now=now)
    card = parse_card(body.card) if body.card is not None else None
    row = service.issue_credential(
        session=session,
        person_id=body.person_id,
        kind=body.kind,
        card=card,
        pin=body.pin,
        mobile_token=body.mobile_token,
        activates_at=body.activates_at,
        expires_at=body.expires_at,
        hasher=hub.hash_credential,
        context=principal.context(),
        now=now,
        engine=engine_of(hub),
    )
    return _credential(row)


@router.post("/api/access/credentials/{credential_id}/revoke", response_model=CredentialRead)
def revoke_credential(
    credential_id: str,
    body: CredentialRevoke,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.ACCESS_MANAGE, site=FromResource("credential_id", CREDENTIAL))),
    ],
) -> CredentialRead:
    """Revoke a credential; it is denied before this returns."""
    row = service.revoke_credential(
        session=session,
        credential_id=credential_id,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return _credential(row)


# --- levels and policies --------------------------------------------------------------------------


@router.get("/api/access/levels", response_model=list[LevelRead])
def list_levels(
    session: SessionDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.ACCESS_READ, site=FromQuery("site_id", missing=Missing.ANY_SITE))
        ),
    ],
    site_id: str | None = None,
) -> list[LevelRead]:
    """List the access levels of the caller's sites."""
    rows = service.list_levels(session=session, site_id=site_id)
    return [
        LevelRead.model_validate(level, from_attributes=True)
        for level in principal.visible(Permission.ACCESS_READ, rows)
    ]


@router.put("/api/access/levels/{level_id}", response_model=LevelRead)
def put_level(
    level_id: str,
    body: LevelWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.ACCESS_MANAGE,
                site=(FromResource("level_id", LEVEL, new_ok=True), FromBody("site_id")),
            )
        ),
    ],
) -> LevelRead:
    """Create or replace an access level (a missing schedule, door or zone is a 422)."""
    spec = LevelSpec(
        id=level_id,
        site_id=body.site_id,
        schedule_id=body.schedule_id,
        doors=tuple(body.doors),
        zones=tuple(body.zones),
        max_threat_level=body.max_threat_level,
        requires_training=tuple(body.requires_training),
        requires_background_check=body.requires_background_check,
    )
    level = service.put_level(
        session=session,
        spec=spec,
        name=body.name,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return LevelRead.model_validate(level, from_attributes=True)


@router.delete("/api/access/levels/{level_id}", status_code=204)
def delete_level(
    level_id: str,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.ACCESS_MANAGE, site=FromResource("level_id", LEVEL))),
    ],
) -> None:
    """Delete an access level; holders lose it at once."""
    service.delete_level(
        session=session,
        level_id=level_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.post("/api/access/levels/{level_id}/assign", status_code=204)
def assign_level(
    level_id: str,
    body: Assignment,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(LEVEL_AND_PERSON)],
) -> None:
    """Give a person an access level, through the hiring gate (background check, training)."""
    hiring.grant_level(
        session=session,
        person_id=body.person_id,
        level_id=level_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.post("/api/access/levels/{level_id}/unassign", status_code=204)
def unassign_level(
    level_id: str,
    body: Assignment,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(LEVEL_AND_PERSON)],
) -> None:
    """Take an access level away (effective at once)."""
    service.unassign_level(
        session=session,
        person_id=body.person_id,
        level_id=level_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.put("/api/access/sites/{site_id}/doors/{door_id}/policy", status_code=204)
def put_door_policy(
    site_id: str,
    door_id: str,
    body: DoorPolicyWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.ACCESS_MANAGE, site=FromPath("site_id"), zone=DoorZones("door_id"))
        ),
    ],
) -> None:
    """Set a door's mode and rules."""
    spec = DoorPolicySpec(
        site_id=site_id,
        door_id=door_id,
        mode=body.mode,
        unlock_schedule_id=body.unlock_schedule_id,
        two_person=body.two_person,
        two_person_window_s=body.two_person_window_s,
        two_person_distinct_roles=body.two_person_distinct_roles,
        escort_required=body.escort_required,
        escort_window_s=body.escort_window_s,
        escort_ratio=body.escort_ratio,
        first_person_in=body.first_person_in,
        supervisor_roles=tuple(body.supervisor_roles),
    )
    service.set_door_policy(
        session=session,
        spec=spec,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.put("/api/access/sites/{site_id}/anti-passback/{zone_id}", status_code=204)
def put_anti_passback(
    site_id: str,
    zone_id: str,
    body: AntiPassbackWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.ACCESS_MANAGE, site=FromPath("site_id"), zone=ZoneFromPath("zone_id")
            )
        ),
    ],
) -> None:
    """Set or remove anti-passback on entering a zone."""
    service.set_anti_passback(
        session=session,
        site_id=site_id,
        zone_id=zone_id,
        mode=body.mode.value if body.mode is not None else None,
        timeout_s=body.timeout_s,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.put("/api/access/sites/{site_id}/interlocks/{group_id}", status_code=204)
def put_interlock(
    site_id: str,
    group_id: str,
    body: InterlockWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.ACCESS_MANAGE, site=FromPath("site_id")))
    ],
) -> None:
    """Set or remove an interlock (mantrap) group."""
    service.set_interlock(
        session=session,
        site_id=site_id,
        group_id=group_id,
        doors=tuple(body.doors) if body.doors is not None else None,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


# --- site-wide actions ----------------------------------------------------------------------------


@router.post("/api/access/lockdown")
def lockdown(
    body: LockdownRequest,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.DOORS_LOCKDOWN, site=FromBody("site_id"), zone=ZoneFromBody("zone_id")
            )
        ),
    ],
) -> dict[str, list[str]]:
    """Lock down (at once) or release a zone and its adjacent zones; return the doors."""
    doors = service.set_lockdown(
        session=session,
        site_id=body.site_id,
        zone_id=body.zone_id,
        active=body.active,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return {"doors": doors}


@router.post("/api/access/threat", status_code=204)
def set_threat(
    body: ThreatRequest,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.THREAT_SET, site=FromBody("site_id")))
    ],
) -> None:
    """Set the site-wide threat level."""
    service.set_threat_level(
        session=session,
        site_id=body.site_id,
        level=body.level,
        name=body.name,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.post("/api/access/anti-passback/forgive", status_code=204)
def forgive(
    body: ForgiveRequest,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.DOORS_CONTROL, site=FromBody("site_id")))
    ],
) -> None:
    """Forgive anti-passback for one person or everyone at a site."""
    service.forgive_anti_passback(
        session=session,
        site_id=body.site_id,
        person_id=body.person_id,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


# --- audit ----------------------------------------------------------------------------------------


@router.get("/api/access/explain", response_model=ExplanationRead)
def explain(
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.ACCESS_READ,
                site=FromResource("credential_id", CREDENTIAL, where="query"),
            )
        ),
    ],
    credential_id: Annotated[str, Query(description="Credential id.")],
    door: Annotated[str, Query(description="Door id (or site/door).")],
    at: Annotated[datetime | None, Query(description="Decision time (default now).")] = None,
) -> ExplanationRead:
    """Explain the decision a credential would get at a door: the full reason chain."""
    if at is not None and at.tzinfo is None:
        raise InvalidInput("give 'at' with a time zone")
    engine = _engine(hub)
    known = engine.snapshot.doors.get(door)
    # The door is at a site of its own: the decision there is that site's to read.
    if known is not None and not principal.allows(
        Permission.ACCESS_READ, known.site_id, reading=True
    ):
        raise Forbidden(f"this needs the access:read permission at site {known.site_id!r}")
    result = engine.explain(engine.presentation_for(credential_id, door, at=at))
    return ExplanationRead(
        granted=result.verdict.granted,
        pending=result.verdict.pending,
        reason=result.verdict.reason,
        detail=result.verdict.detail,
        at=result.at,
        snapshot_version=result.verdict.snapshot_version,
        steps=[StepRead(check=s.check, ok=s.ok, detail=s.detail) for s in result.steps],
    )


@router.get("/api/access/who-can", response_model=list[HolderRead])
def who_can(
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ACCESS_READ, site=AnySite()))],
    door: Annotated[str, Query(description="Door id, or a zone id for every door into it.")],
    at: Annotated[datetime | None, Query(description="Only levels valid at this time.")] = None,
) -> list[HolderRead]:
    """Answer "who can open the vault?" for the doors of the caller's sites."""
    engine = _engine(hub)
    doors = engine.snapshot.doors
    keys = principal.visible(
        Permission.ACCESS_READ, engine.doors_for(door), site=lambda k: doors[k].site_id
    )
    holders = {h.person_id: h for key in keys for h in engine.who_can(key, at=at)}
    names = _names(session, set(holders))
    return [
        HolderRead(
            person_id=h.person_id,
            name=names.get(h.person_id, ""),
            role=h.role,
            kind=h.kind,
            levels=list(h.levels),
        )
        for h in sorted(holders.values(), key=lambda h: h.person_id)
    ]


@router.get("/api/access/entries", response_model=list[EntryRead])
def entries(
    session: SessionDep,
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.ACCESS_READ, site=FromQuery("site_id")))],
    site_id: Annotated[str, Query(description="Site.")],
    zone: Annotated[str, Query(description="Zone id.")],
    since: Annotated[
        str, Query(description="7d, 12h or an ISO time (without an offset: the site's time).")
    ] = "7d",
) -> list[EntryRead]:
    """Answer "who entered the vault last week?" from the ledger."""
    site = site_service.get_site(session=session, site_id=site_id)
    found = service.entries(
        session=session,
        site=site,
        zone_id=zone,
        since=service.parse_since(since, now=hub.clock.now(), zone=site_zone(site.site.timezone)),
    )
    names = _names(session, {e.person_id for e in found if e.person_id})
    return [
        EntryRead(
            time=e.time,
            person_id=e.person_id,
            name=names.get(e.person_id or "", ""),
            door_id=e.door_id,
            reader_id=e.reader_id,
            event_id=e.event_id,
        )
        for e in found
    ]


@router.get("/api/access/status", response_model=AccessStatus)
def status(
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ACCESS_READ, site=AnySite()))],
) -> AccessStatus:
    """Show the engine: snapshot version, counts, and the caller's sites' threat and lockdowns."""
    engine = engine_of(hub)
    current = engine or load_engine(hub)
    snap = current.snapshot
    sites = principal.visible(Permission.ACCESS_READ, sorted(snap.sites), site=lambda s: s)
    return AccessStatus(
        running=engine is not None,
        snapshot_version=snap.version,
        people=len(snap.people),
        credentials=len(snap.creds),
        levels=len(snap.levels),
        threat_levels={s: current.threat_level(s) for s in sites},
        lockdowns={s: sorted(current.lockdown_zones(s)) for s in sites},
        pending_decisions=current.pending_decisions(),
    )
