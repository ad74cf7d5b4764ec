"""Access domain logic on the database, keeping the engine's snapshot in step.

Keyword-only functions taking a session; none commits. Each change stages its ledger
event in the caller's transaction. Restrictive changes (revoke, suspend, offboard,
unassign, delete a level, lock down, raise the threat level) reach the engine at
once, before the function returns, so they take effect even before the commit (fail
secure); permissive ones reach it only after the commit, so a rolled-back grant is
never honoured. Everything is validated before anything is written or applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from bastion.access.cards import CardData, validate_pin
from bastion.access.engine import AccessEngine
from bastion.access.models import (
    AccessLevel,
    AccessSiteState,
    AntiPassbackArea,
    Credential,
    DoorPolicy,
    Interlock,
    LevelAssignment,
)
from bastion.access.snapshot import (
    AntiPassbackMode,
    AntiPassbackSpec,
    CredentialKind,
    CredentialSpec,
    DoorMode,
    DoorPolicySpec,
    InterlockSpec,
    LevelSpec,
    PersonSpec,
    Policy,
    SiteStateSpec,
    Snapshot,
)
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ACCESS_LEVEL_CHANGED,
    EVENT_ACCESS_POLICY_CHANGED,
    EVENT_ANTI_PASSBACK_FORGIVEN,
    EVENT_CREDENTIAL_CHANGED,
    EVENT_LOCKDOWN,
    EVENT_THREAT_LEVEL,
    AccessLevelChangedPayload,
    AccessPolicyChangedPayload,
    AntiPassbackForgivenPayload,
    CredentialChangedPayload,
    LockdownPayload,
    ThreatLevelPayload,
    make_event,
)
from bastion.core.ports import CredentialHasher
from bastion.people import service as people_service
from bastion.people.models import Person, PersonStatus
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow, stage

_LOGGER = logging.getLogger(__name__)
_AFTER_COMMIT = "bastion_access_after_commit"
_LISTENING = "bastion_access_listening"


# --- keeping the engine in step ----------------------------------------------------------------


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            _LOGGER.exception("updating the access snapshot after a commit failed")


def _drop_after_commit(session: Session, previous_transaction: object) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` once the session's transaction commits (never on rollback)."""
    if not session.info.get(_LISTENING):
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_soft_rollback", _drop_after_commit)
        session.info[_LISTENING] = True
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


# --- loading -----------------------------------------------------------------------------------


def person_spec(*, session: Session, person: Person) -> PersonSpec:
    """Return what the engine needs to know about one person."""
    levels = session.execute(
        select(LevelAssignment.level_id)
        .where(LevelAssignment.person_id == person.id)
        .order_by(LevelAssignment.level_id)
    ).scalars()
    training = people_service.current_training(person)
    return PersonSpec(
        id=person.id,
        kind=person.kind,
        status=person.status,
        role=person.role,
        levels=tuple(levels),
        training=tuple((course, _epoch(exp)) for course, exp in sorted(training.items())),
        background_check=person.background_check,
    )


def credential_spec(credential: Credential) -> CredentialSpec:
    """Return the engine's view of a credential row."""
    return CredentialSpec(
        id=credential.id,
        person_id=credential.person_id,
        kind=CredentialKind(credential.kind),
        card_hash=credential.card_hash,
        pin_hash=credential.pin_hash,
        mobile_hash=credential.mobile_hash,
        activates_at=_epoch(credential.activates_at),
        expires_at=_epoch(credential.expires_at),
        revoked=credential.revoked,
    )


def level_spec(level: AccessLevel) -> LevelSpec:
    """Return the engine's view of a level row."""
    return LevelSpec(
        id=level.id,
        site_id=level.site_id,
        schedule_id=level.schedule_id,
        doors=tuple(level.doors),
        zones=tuple(level.zones),
        max_threat_level=level.max_threat_level,
        requires_training=tuple(level.requires_training),
        requires_background_check=level.requires_background_check,
    )


def door_policy_spec(row: DoorPolicy) -> DoorPolicySpec:
    """Return the engine's view of a door policy row."""
    return DoorPolicySpec(
        site_id=row.site_id,
        door_id=row.door_id,
        mode=DoorMode(row.mode),
        unlock_schedule_id=row.unlock_schedule_id,
        two_person=row.two_person,
        two_person_window_s=row.two_person_window_s,
        two_person_distinct_roles=row.two_person_distinct_roles,
        escort_required=row.escort_required,
        escort_window_s=row.escort_window_s,
        escort_ratio=row.escort_ratio,
        first_person_in=row.first_person_in,
        supervisor_roles=tuple(row.supervisor_roles),
    )


def load_policy(*, session: Session) -> Policy:
    """Read everything the engine compiles from the database."""
    people = list(session.execute(select(Person)).scalars())
    assignments: dict[str, list[str]] = {}
    for person_id, level_id in session.execute(
        select(LevelAssignment.person_id, LevelAssignment.level_id).order_by(
            LevelAssignment.level_id
        )
    ):
        assignments.setdefault(person_id, []).append(level_id)
    person_specs = []
    for person in people:
        training = people_service.current_training(person)
        person_specs.append(
            PersonSpec(
                id=person.id,
                kind=person.kind,
                status=person.status,
                role=person.role,
                levels=tuple(assignments.get(person.id, ())),
                training=tuple((c, _epoch(e)) for c, e in sorted(training.items())),
                background_check=person.background_check,
            )
        )
    return Policy(
        people=tuple(person_specs),
        credentials=tuple(
            credential_spec(c) for c in session.execute(select(Credential)).scalars()
        ),
        levels=tuple(level_spec(lv) for lv in session.execute(select(AccessLevel)).scalars()),
        door_policies=tuple(
            door_policy_spec(d) for d in session.execute(select(DoorPolicy)).scalars()
        ),
        anti_passback=tuple(
            AntiPassbackSpec(a.site_id, a.zone_id, AntiPassbackMode(a.mode), a.timeout_s)
            for a in session.execute(select(AntiPassbackArea)).scalars()
        ),
        interlocks=tuple(
            InterlockSpec(i.site_id, i.id, tuple(i.doors))
            for i in session.execute(select(Interlock)).scalars()
        ),
        site_states=tuple(
            SiteStateSpec(s.site_id, s.threat_level, tuple(s.lockdown_zones))
            for s in session.execute(select(AccessSiteState)).scalars()
        ),
    )


def _sync_person(
    session: Session, engine: AccessEngine | None, person: Person, *, now: bool
) -> None:
    if engine is None:
        return
    spec = person_spec(session=session, person=person)
    if now:
        engine.put_person(spec)
    else:
        after_commit(session, lambda: engine.put_person(spec))


def _scratch(site: Site) -> Snapshot:
    """Return a snapshot holding only ``site``, to validate levels and policies against it."""
    snap = Snapshot()
    snap.put_site(site)
    return snap


# --- people ------------------------------------------------------------------------------------


def create_person(
    *,
    session: Session,
    name: str,
    kind: str,
    role: str = "",
    site_id: str | None = None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Add a cardholder; the engine learns about them after the commit."""
    if site_id is not None:
        site_service.get_site(session=session, site_id=site_id)
    person = people_service.create_person(
        session=session, name=name, kind=kind, role=role, site_id=site_id, context=context, now=now
    )
    _sync_person(session, engine, person, now=False)
    return person


def update_person(
    *,
    session: Session,
    person_id: str,
    name: str,
    role: str,
    kind: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> list[str]:
    """Correct name, role or kind; the engine (which checks roles at doors) learns at once."""
    changed = people_service.update_person(
        session=session,
        person_id=person_id,
        name=name,
        role=role,
        kind=kind,
        context=context,
        now=now,
    )
    if changed:
        person = people_service.get_person(session=session, person_id=person_id)
        _sync_person(session, engine, person, now=False)
    return changed


def set_person_status(
    *,
    session: Session,
    person_id: str,
    status: str,
    reason: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Suspend, reinstate or offboard; suspension and offboarding take effect at once.

    Offboarding also revokes every credential of the person.
    """
    person = people_service.set_status(
        session=session, person_id=person_id, status=status, reason=reason, context=context, now=now
    )
    restrictive = person.status != PersonStatus.ACTIVE
    if person.status == PersonStatus.OFFBOARDED:
        for credential in list_credentials(session=session, person_id=person.id):
            if not credential.revoked:
                revoke_credential(
                    session=session,
                    credential_id=credential.id,
                    reason="offboarded",
                    context=context,
                    now=now,
                    engine=engine,
                )
    _sync_person(session, engine, person, now=restrictive)
    return person


def set_background_check(
    *,
    session: Session,
    person_id: str,
    status: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Record a background-check status and update the engine (at once if not cleared)."""
    person = people_service.set_background_check(
        session=session, person_id=person_id, status=status, context=context, now=now
    )
    _sync_person(session, engine, person, now=person.background_check != "cleared")
    return person


def add_training(
    *,
    session: Session,
    person_id: str,
    course: str,
    completed_at: datetime,
    expires_at: datetime | None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Record a training course and let the engine know after the commit."""
    people_service.add_training(
        session=session,
        person_id=person_id,
        course=course,
        completed_at=completed_at,
        expires_at=expires_at,
        context=context,
        now=now,
    )
    person = people_service.get_person(session=session, person_id=person_id)
    _sync_person(session, engine, person, now=False)
    return person


# --- credentials -------------------------------------------------------------------------------


def list_credentials(*, session: Session, person_id: str | None = None) -> list[Credential]:
    """Return credentials (of one person), oldest first."""
    stmt = select(Credential).order_by(Credential.created_at, Credential.id)
    if person_id is not None:
        stmt = stmt.where(Credential.person_id == person_id)
    return list(session.execute(stmt).scalars())


def get_credential(*, session: Session, credential_id: str) -> Credential:
    """Return a credential or raise NotFound."""
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise NotFound(f"no credential {credential_id!r}")
    return credential


def issue_credential(
    *,
    session: Session,
    person_id: str,
    kind: str,
    hasher: CredentialHasher,
    card: CardData | None = None,
    pin: str | None = None,
    mobile_token: str | None = None,
    activates_at: datetime | None = None,
    expires_at: datetime | None = None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Credential:
    """Enrol a credential; only keyed hashes of card data, PIN and token are stored."""
    try:
        kind_ = CredentialKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown credential kind {kind!r}; expected card, pin, card_and_pin or mobile"
        ) from None
    wants_card = kind_ in (CredentialKind.CARD, CredentialKind.CARD_AND_PIN)
    wants_pin = kind_ in (CredentialKind.PIN, CredentialKind.CARD_AND_PIN)
    wants_token = kind_ is CredentialKind.MOBILE
    for given, wanted, what in (
        (card is not None, wants_card, "card data"),
        (pin is not None, wants_pin, "a PIN"),
        (mobile_token is not None, wants_token, "a mobile token"),
    ):
        if given != wanted:
            verb = "needs" if wanted else "takes no"
            raise InvalidInput(f"a {kind_.value} credential {verb} {what.removeprefix('a ')}")
    if activates_at is not None and expires_at is not None and expires_at <= activates_at:
        raise InvalidInput("a credential cannot expire before it activates")
    if mobile_token is not None and not 16 <= len(mobile_token) <= 512:
        raise InvalidInput("a mobile token is 16–512 characters")
    person = people_service.get_person(session=session, person_id=person_id)
    if person.status == PersonStatus.OFFBOARDED:
        raise Conflict(f"person {person_id!r} was offboarded")
    card_hash = hasher(card.canonical, purpose="card") if card is not None else None
    pin_hash = hasher(validate_pin(pin), purpose="pin") if pin is not None else None
    mobile_hash = hasher(mobile_token, purpose="mobile") if mobile_token is not None else None
    if (
        card_hash is not None
        and session.execute(select(Credential.id).where(Credential.card_hash == card_hash)).first()
    ):
        raise Conflict("this card is already enrolled")
    if (
        mobile_hash is not None
        and session.execute(
            select(Credential.id).where(Credential.mobile_hash == mobile_hash)
        ).first()
    ):
        raise Conflict("this mobile token is already enrolled")
    if (
        kind_ is CredentialKind.PIN
        and session.execute(
            select(Credential.id).where(
                Credential.pin_hash == pin_hash,
                Credential.kind == CredentialKind.PIN.value,
                Credential.revoked.is_(False),
            )
        ).first()
    ):
        raise Conflict("this PIN is already in use as a PIN-only credential; choose another")
    credential = Credential(
        id=new_id(),
        person_id=person.id,
        kind=kind_.value,
        card_hash=card_hash,
        card_format=card.format if card is not None else None,
        facility_code=card.facility_code if card is not None else None,
        pin_hash=pin_hash,
        mobile_hash=mobile_hash,
        activates_at=activates_at,
        expires_at=expires_at,
        revoked=False,
        revoked_reason="",
        created_at=now,
    )
    session.add(credential)
    session.flush()
    stage(
        session,
        make_event(
            EVENT_CREDENTIAL_CHANGED,
            CredentialChangedPayload(
                subject=person.id, credential_id=credential.id, action="issued", kind=kind_.value
            ),
            context=context,
            time=now,
            site=person.site_id,
        ),
    )
    if engine is not None:
        spec = credential_spec(credential)
        after_commit(session, lambda: engine.put_credential(spec))
    return credential


def revoke_credential(
    *,
    session: Session,
    credential_id: str,
    reason: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Credential:
    """Revoke a credential; the engine denies it before this returns."""
    credential = get_credential(session=session, credential_id=credential_id)
    if credential.revoked:
        return credential
    credential.revoked = True
    credential.revoked_at = now
    credential.revoked_reason = reason[:200]
    session.flush()
    if engine is not None:
        engine.put_credential(credential_spec(credential))
    person = session.get(Person, credential.person_id)
    stage(
        session,
        make_event(
            EVENT_CREDENTIAL_CHANGED,
            CredentialChangedPayload(
                subject=credential.person_id,
                credential_id=credential.id,
                action="revoked",
                kind=credential.kind,
                reason=reason[:200],
            ),
            context=context,
            time=now,
            site=person.site_id if person is not None else None,
        ),
    )
    return credential


# --- levels ------------------------------------------------------------------------------------


def list_levels(*, session: Session, site_id: str | None = None) -> list[AccessLevel]:
    """Return access levels (of one site), by id."""
    stmt = select(AccessLevel).order_by(AccessLevel.id)
    if site_id is not None:
        stmt = stmt.where(AccessLevel.site_id == site_id)
    return list(session.execute(stmt).scalars())


def _level_event(
    session: Session,
    level_id: str,
    site_id: str,
    action: str,
    context: Context,
    now: datetime,
    subject: str | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    stage(
        session,
        make_event(
            EVENT_ACCESS_LEVEL_CHANGED,
            AccessLevelChangedPayload(
                level_id=level_id,
                site_id=site_id,
                action=action,
                subject=subject,
                detail=detail or {},
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def put_level(
    *,
    session: Session,
    spec: LevelSpec,
    name: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> AccessLevel:
    """Create or replace an access level; a missing schedule, door or zone is a ConfigError."""
    if not name.strip():
        raise InvalidInput("an access level needs a name")
    site = site_service.get_site(session=session, site_id=spec.site_id)
    _scratch(site).compile_level(spec)
    level = session.get(AccessLevel, spec.id)
    action = "updated"
    if level is None:
        level = AccessLevel(id=spec.id)
        session.add(level)
        action = "created"
    elif level.site_id != spec.site_id:
        raise Conflict(f"access level {spec.id!r} belongs to site {level.site_id!r}")
    level.site_id = spec.site_id
    level.name = name.strip()
    level.schedule_id = spec.schedule_id
    level.doors = list(spec.doors)
    level.zones = list(spec.zones)
    level.max_threat_level = spec.max_threat_level
    level.requires_training = list(spec.requires_training)
    level.requires_background_check = spec.requires_background_check
    level.updated_at = now
    session.flush()
    _level_event(
        session,
        spec.id,
        spec.site_id,
        action,
        context,
        now,
        detail={"schedule": spec.schedule_id or "always", "max_threat": str(spec.max_threat_level)},
    )
    if engine is not None:
        after_commit(session, lambda: engine.put_level(spec))
    return level


def delete_level(
    *,
    session: Session,
    level_id: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Delete a level and its assignments; holders lose it at once."""
    level = session.get(AccessLevel, level_id)
    if level is None:
        raise NotFound(f"no access level {level_id!r}")
    site_id = level.site_id
    session.execute(delete(LevelAssignment).where(LevelAssignment.level_id == level_id))
    session.delete(level)
    session.flush()
    if engine is not None:
        engine.drop_level(level_id)
    _level_event(session, level_id, site_id, "deleted", context, now)


def assign_level(
    *,
    session: Session,
    person_id: str,
    level_id: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Give a person an access level (effective after the commit)."""
    person = people_service.get_person(session=session, person_id=person_id)
    level = session.get(AccessLevel, level_id)
    if level is None:
        raise NotFound(f"no access level {level_id!r}")
    if person.site_id is not None and person.site_id != level.site_id:
        raise Conflict(f"person {person_id!r} belongs to another site than level {level_id!r}")
    if session.get(LevelAssignment, (person_id, level_id)) is not None:
        return
    session.add(
        LevelAssignment(
            person_id=person_id, level_id=level_id, granted_at=now, granted_by=context.actor
        )
    )
    session.flush()
    _level_event(session, level_id, level.site_id, "assigned", context, now, subject=person_id)
    _sync_person(session, engine, person, now=False)


def unassign_level(
    *,
    session: Session,
    person_id: str,
    level_id: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Take an access level away from a person (effective at once)."""
    person = people_service.get_person(session=session, person_id=person_id)
    row = session.get(LevelAssignment, (person_id, level_id))
    if row is None:
        raise NotFound(f"person {person_id!r} does not hold level {level_id!r}")
    level = session.get(AccessLevel, level_id)
    session.delete(row)
    session.flush()
    site_id = level.site_id if level is not None else ""
    _level_event(session, level_id, site_id, "unassigned", context, now, subject=person_id)
    _sync_person(session, engine, person, now=True)


# --- door policies, anti-passback, interlocks ---------------------------------------------------


def _policy_event(
    session: Session,
    site_id: str,
    target: str,
    action: str,
    detail: dict[str, str],
    context: Context,
    now: datetime,
) -> None:
    stage(
        session,
        make_event(
            EVENT_ACCESS_POLICY_CHANGED,
            AccessPolicyChangedPayload(
                site_id=site_id, target=target, action=action, detail=detail
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def set_door_policy(
    *,
    session: Session,
    spec: DoorPolicySpec,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> DoorPolicy:
    """Set one door's mode and rules (validated against the site model)."""
    site = site_service.get_site(session=session, site_id=spec.site_id)
    if spec.escort_ratio < 1 or spec.escort_window_s <= 0 or spec.two_person_window_s <= 0:
        raise InvalidInput("escort ratio must be ≥ 1 and windows must be positive")
    _scratch(site).put_door_policy(spec)
    row = session.get(DoorPolicy, (spec.site_id, spec.door_id))
    if row is None:
        row = DoorPolicy(site_id=spec.site_id, door_id=spec.door_id)
        session.add(row)
    row.mode = spec.mode.value
    row.unlock_schedule_id = spec.unlock_schedule_id
    row.two_person = spec.two_person
    row.two_person_window_s = spec.two_person_window_s
    row.two_person_distinct_roles = spec.two_person_distinct_roles
    row.escort_required = spec.escort_required
    row.escort_window_s = spec.escort_window_s
    row.escort_ratio = spec.escort_ratio
    row.first_person_in = spec.first_person_in
    row.supervisor_roles = list(spec.supervisor_roles)
    row.updated_at = now
    session.flush()
    _policy_event(
        session,
        spec.site_id,
        f"door:{spec.door_id}",
        "set",
        {"mode": spec.mode.value, "two_person": str(spec.two_person)},
        context,
        now,
    )
    if engine is not None:
        after_commit(session, lambda: engine.put_door_policy(spec))
    return row


def set_anti_passback(
    *,
    session: Session,
    site_id: str,
    zone_id: str,
    mode: str | None,
    timeout_s: float = 0.0,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Set anti-passback (hard, soft, timed) on entering a zone, or remove it with None."""
    site = site_service.get_site(session=session, site_id=site_id)
    spec = None
    if mode is not None:
        try:
            spec = AntiPassbackSpec(site_id, zone_id, AntiPassbackMode(mode), timeout_s)
        except ValueError:
            raise InvalidInput(f"unknown anti-passback mode {mode!r}") from None
        if spec.mode is AntiPassbackMode.TIMED and timeout_s <= 0:
            raise InvalidInput("timed anti-passback needs a positive timeout")
    _scratch(site).put_anti_passback(spec, site_id=site_id, zone_id=zone_id)
    row = session.get(AntiPassbackArea, (site_id, zone_id))
    if spec is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = AntiPassbackArea(site_id=site_id, zone_id=zone_id)
            session.add(row)
        row.mode = spec.mode.value
        row.timeout_s = timeout_s
    session.flush()
    _policy_event(
        session,
        site_id,
        f"apb:{zone_id}",
        "removed" if spec is None else "set",
        {"mode": mode or "", "timeout_s": str(timeout_s)},
        context,
        now,
    )
    if engine is not None:
        after_commit(
            session, lambda: engine.put_anti_passback(spec, site_id=site_id, zone_id=zone_id)
        )


def set_interlock(
    *,
    session: Session,
    site_id: str,
    group_id: str,
    doors: tuple[str, ...] | None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Set an interlock (mantrap) group of doors, or remove it with None."""
    site = site_service.get_site(session=session, site_id=site_id)
    spec = InterlockSpec(site_id, group_id, doors) if doors is not None else None
    if spec is not None and len(set(spec.doors)) < 2:
        raise InvalidInput("an interlock needs at least two doors")
    _scratch(site).put_interlock(spec, site_id=site_id, group_id=group_id)
    row = session.get(Interlock, (site_id, group_id))
    if spec is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = Interlock(site_id=site_id, id=group_id)
            session.add(row)
        row.doors = list(spec.doors)
    session.flush()
    _policy_event(
        session,
        site_id,
        f"interlock:{group_id}",
        "removed" if spec is None else "set",
        {"doors": ",".join(doors or ())},
        context,
        now,
    )
    if engine is not None:
        after_commit(
            session, lambda: engine.put_interlock(spec, site_id=site_id, group_id=group_id)
        )


# --- site-wide state: threat level, lockdown, forgiveness --------------------------------------


def _site_state(session: Session, site_id: str, now: datetime) -> AccessSiteState:
    state = session.get(AccessSiteState, site_id)
    if state is None:
        state = AccessSiteState(
            site_id=site_id, threat_level=0, threat_name="", lockdown_zones=[], updated_at=now
        )
        session.add(state)
    return state


def set_threat_level(
    *,
    session: Session,
    site_id: str,
    level: int,
    name: str = "",
    reason: str = "",
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> AccessSiteState:
    """Set the site-wide threat level; raising it takes effect at once."""
    if not 0 <= level <= 10:
        raise InvalidInput("a threat level is 0–10")
    site_service.get_site(session=session, site_id=site_id)
    state = _site_state(session, site_id, now)
    raised = level > state.threat_level
    state.threat_level = level
    state.threat_name = name[:64]
    state.updated_at = now
    session.flush()
    stage(
        session,
        make_event(
            EVENT_THREAT_LEVEL,
            ThreatLevelPayload(level=level, name=name[:64], reason=reason),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    if engine is not None and site_id in engine.snapshot.sites:
        if raised:
            engine.set_threat_level(site_id, level)
        else:
            after_commit(session, lambda: engine.set_threat_level(site_id, level))
    return state


def set_lockdown(
    *,
    session: Session,
    site_id: str,
    zone_id: str,
    active: bool,
    reason: str = "",
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> list[str]:
    """Lock down (at once) or release (after the commit) a zone and its adjacent zones.

    Return the doors concerned.
    """
    site = site_service.get_site(session=session, site_id=site_id)
    try:
        doors = [d.id for d in _scratch(site).sites[site_id].graph.lockdown_doors(zone_id)]
    except KeyError:
        raise NotFound(f"site {site_id!r} has no zone {zone_id!r}") from None
    state = _site_state(session, site_id, now)
    zones = set(state.lockdown_zones)
    if active:
        zones.add(zone_id)
    else:
        zones.discard(zone_id)
    state.lockdown_zones = sorted(zones)
    state.updated_at = now
    session.flush()
    stage(
        session,
        make_event(
            EVENT_LOCKDOWN,
            LockdownPayload(zone_ids=(zone_id,), active=active, reason=reason),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    if engine is not None and site_id in engine.snapshot.sites:
        if active:
            engine.lockdown(site_id, zone_id, active=True, reason=reason, by=context.actor)
        else:
            after_commit(session, lambda: engine.lockdown(site_id, zone_id, active=False))
    return doors


def store_lockdown_zones(
    *, session: Session, site_id: str, zones: list[str], now: datetime
) -> bool:
    """Store the lockdown roots the registry holds for a site; return True when they changed."""
    if session.get(AccessSiteState, site_id) is None and not zones:
        return False
    state = _site_state(session, site_id, now)
    if sorted(state.lockdown_zones or []) == sorted(zones):
        return False
    state.lockdown_zones = sorted(zones)
    state.updated_at = now
    return True


def forgive_anti_passback(
    *,
    session: Session,
    site_id: str,
    person_id: str | None,
    reason: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Forgive anti-passback for one person (or everyone at a site) after the commit."""
    site_service.get_site(session=session, site_id=site_id)
    if person_id is not None:
        people_service.get_person(session=session, person_id=person_id)
    stage(
        session,
        make_event(
            EVENT_ANTI_PASSBACK_FORGIVEN,
            AntiPassbackForgivenPayload(site_id=site_id, subject=person_id, reason=reason),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    if engine is not None:
        after_commit(session, lambda: engine.forgive(person_id, site_id=site_id))


# --- audit ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A granted entry through a door into a zone, from the ledger."""

    time: datetime
    person_id: str | None
    door_id: str
    reader_id: str | None
    reason: str
    event_id: str


def parse_since(text: str, *, now: datetime, zone: tzinfo | None = None) -> datetime:
    """Parse ``7d``, ``12h``, ``30m`` or an ISO date/time into an aware datetime.

    A time without an offset is the site's wall-clock time when ``zone`` is given (people
    type the time on the site's clocks); without a zone it is refused as ambiguous.
    """
    text = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    if len(text) > 1 and text[-1] in units and text[:-1].isdigit():
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"cannot read {text!r} as a duration (7d, 12h) or ISO time") from None
    if value.tzinfo is None and zone is not None:
        return value.replace(tzinfo=zone)
    if value.tzinfo is None:
        raise InvalidInput("give a time zone with the time, e.g. 2026-03-01T00:00:00+00:00")
    return value


def entries(
    *,
    session: Session,
    site: Site,
    zone_id: str,
    since: datetime,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[Entry]:
    """Return granted entries into ``zone_id`` (entry-side reads) between ``since`` and ``until``."""
    try:
        site.zone(zone_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no zone {zone_id!r}") from None
    doors_in = {d.id for d in site.doors if d.to_zone == zone_id}
    doors_out = {d.id for d in site.doors if d.from_zone == zone_id}
    exit_readers = {d.id for d in site.devices if d.side == "exit"}
    if not doors_in and not doors_out:
        return []
    stmt = (
        select(LedgerRow)
        .where(
            LedgerRow.type == EVENT_ACCESS_DECISION.name,
            LedgerRow.device.in_(sorted(doors_in | doors_out)),
            LedgerRow.time >= since,
            LedgerRow.site == site.site.id,
        )
        .order_by(LedgerRow.seq.desc())
        .limit(limit * 4)
    )
    if until is not None:
        stmt = stmt.where(LedgerRow.time < until)
    found: list[Entry] = []
    for row in session.execute(stmt).scalars():
        payload = json.loads(row.payload)
        if not payload.get("granted") or payload.get("reason") == "egress":
            continue
        door_id = payload["door_id"]
        exit_side = payload.get("reader_id") in exit_readers
        into = (door_id in doors_in and not exit_side) or (door_id in doors_out and exit_side)
        if into:
            found.append(
                Entry(
                    time=row.time,
                    person_id=payload.get("subject"),
                    door_id=door_id,
                    reader_id=payload.get("reader_id"),
                    reason=payload.get("reason", ""),
                    event_id=row.id,
                )
            )
            if len(found) >= limit:
                break
    return found
