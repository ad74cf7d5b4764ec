"""Employee lifecycle: hiring gate, training with evidence, role levels and access reviews.

Keyword-only functions taking a session; none commits, each change stages a ledger
event. Credential and level changes go through :mod:`bastion.access.service` so the
engine's snapshot stays in step. :func:`check_assignable` is the hiring gate the
access service can call before it assigns a level or issues a credential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.engine import AccessEngine
from bastion.access.models import AccessLevel, LevelAssignment
from bastion.auth.models import User
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_EMPLOYEE_CHANGED, EmployeeChangedPayload, make_event
from bastion.notify.models import Contact
from bastion.people import service as people_service
from bastion.people.models import (
    AccessConfirmation,
    BackgroundCheck,
    Person,
    PersonKind,
    PersonStatus,
    RoleLevel,
    TrainingRecord,
)
from bastion.site import service as site_service
from bastion.site.schemas import Layer, Site
from bastion.store.ledger import stage

STANDARD_COURSES = (
    "cash_handling",
    "inventory_procedures",
    "suspicious_activity_reporting",
    "phishing_awareness",
    "emergency_procedures",
)
"""The courses the cannabis security plan asks every employee to keep current."""

WARN_DAYS = 30
REVIEW_STALE_DAYS = 90
_COURSE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_UNSET = object()


def _event(
    session: Session,
    subject: str,
    action: str,
    detail: dict[str, str],
    context: Context,
    now: datetime,
    site: str | None = None,
) -> None:
    stage(
        session,
        make_event(
            EVENT_EMPLOYEE_CHANGED,
            EmployeeChangedPayload(subject=subject, action=action, detail=detail),
            context=context,
            time=now,
            site=site,
        ),
    )


# --- hiring ------------------------------------------------------------------------------------


def find_namesakes(
    *, session: Session, name: str, site_id: str | None, kinds: tuple[str, ...] | None = None
) -> list[Person]:
    """Return people still on the books whose name matches ``name`` (by keyed hash)."""
    kinds = kinds or (PersonKind.EMPLOYEE.value, PersonKind.CONTRACTOR.value)
    stmt = select(Person).where(
        Person.name_key == people_service.name_key(name),
        Person.kind.in_(kinds),
        Person.status != PersonStatus.OFFBOARDED.value,
    )
    found = list(session.execute(stmt).scalars())
    return [p for p in found if site_id is None or p.site_id in (None, site_id)]


def hire(
    *,
    session: Session,
    name: str,
    kind: str = PersonKind.EMPLOYEE.value,
    role: str = "",
    site_id: str | None = None,
    manager_id: str | None = None,
    allow_duplicate: bool = False,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Enrol an employee or contractor; the background check starts as pending.

    A second active person with the same name at the same site is a Conflict unless
    ``allow_duplicate`` says the namesake is a different person.
    """
    if kind not in (PersonKind.EMPLOYEE.value, PersonKind.CONTRACTOR.value):
        raise InvalidInput("hire employees or contractors; register visitors as visits")
    if not name.strip():
        raise InvalidInput("a person needs a name of 1–200 characters")
    if not allow_duplicate:
        twins = find_namesakes(session=session, name=name, site_id=site_id)
        if twins:
            raise Conflict(
                f"a person with this name is already enrolled ({twins[0].id}); "
                "set allow_duplicate if this is a different person"
            )
    if manager_id is not None:
        _manager(session, manager_id)
    person = access_service.create_person(
        session=session,
        name=name,
        kind=kind,
        role=role,
        site_id=site_id,
        context=context,
        now=now,
        engine=engine,
    )
    person.background_check = BackgroundCheck.PENDING.value
    person.manager_id = manager_id
    session.flush()
    return person


def _manager(session: Session, manager_id: str) -> Person:
    manager = session.get(Person, manager_id)
    if manager is None:
        raise NotFound(f"no manager {manager_id!r}")
    if manager.kind == PersonKind.VISITOR or manager.status == PersonStatus.OFFBOARDED:
        raise InvalidInput("a manager must be an employee or contractor still on the books")
    return manager


def list_staff(*, session: Session, site_id: str | None = None) -> list[Person]:
    """Return employees and contractors (of a site, and those valid everywhere), oldest first."""
    return [
        p
        for p in people_service.list_people(session=session, site_id=site_id)
        if p.kind != PersonKind.VISITOR
    ]


def get_staff(*, session: Session, person_id: str) -> Person:
    """Return an employee or contractor; visitors and unknown ids are NotFound."""
    person = people_service.get_person(session=session, person_id=person_id)
    if person.kind == PersonKind.VISITOR:
        raise NotFound(f"no employee {person_id!r}")
    return person


def link(
    *,
    session: Session,
    person_id: str,
    manager_id: object = _UNSET,
    contact_id: object = _UNSET,
    user_id: object = _UNSET,
    context: Context,
    now: datetime,
) -> Person:
    """Link a person to their manager, notification contact and operator account.

    Pass None to clear a link; leave an argument out to keep it.
    """
    person = get_staff(session=session, person_id=person_id)
    changed: dict[str, str] = {}
    if manager_id is not _UNSET:
        if manager_id is not None:
            if manager_id == person.id:
                raise InvalidInput("a person cannot be their own manager")
            _manager(session, str(manager_id))
        person.manager_id = None if manager_id is None else str(manager_id)
        changed["manager"] = person.manager_id or ""
    if contact_id is not _UNSET:
        if contact_id is not None and session.get(Contact, str(contact_id)) is None:
            raise NotFound(f"no notification contact {contact_id!r}")
        person.contact_id = None if contact_id is None else str(contact_id)
        changed["contact"] = person.contact_id or ""
    if user_id is not _UNSET:
        if user_id is not None:
            if not isinstance(user_id, int) or session.get(User, user_id) is None:
                raise NotFound(f"no operator account {user_id!r}")
            other = session.scalar(
                select(Person.id).where(Person.user_id == user_id, Person.id != person.id)
            )
            if other is not None:
                raise Conflict(f"account {user_id} is already linked to person {other}")
        person.user_id = user_id if isinstance(user_id, int) else None
        changed["user"] = "" if person.user_id is None else f"user:{person.user_id}"
    if changed:
        person.updated_at = now
        session.flush()
        _event(session, person.id, "linked", changed, context, now, person.site_id)
    return person


# --- the hiring gate ---------------------------------------------------------------------------


def background_current(person: Person, today: date) -> bool:
    """Return True when the person's background check is cleared and not past its expiry."""
    if person.background_check != BackgroundCheck.CLEARED:
        return False
    return person.background_expires_on is None or person.background_expires_on > today


def record_background_check(
    *,
    session: Session,
    person_id: str,
    status: str,
    checked_on: date | None,
    reference: str | None,
    expires_on: date | None = None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Person:
    """Record a background-check result with its date and (encrypted) reference.

    Cleared and failed results need the date and the provider's reference; a check
    cannot be dated in the future nor cleared with an expiry already past.
    """
    try:
        check = BackgroundCheck(status)
    except ValueError:
        choices = ", ".join(c.value for c in BackgroundCheck)
        raise InvalidInput(f"unknown background-check status {status!r}; use {choices}") from None
    today = now.date()
    reference = reference.strip() if reference else None
    if check in (BackgroundCheck.CLEARED, BackgroundCheck.FAILED) and (
        checked_on is None or not reference
    ):
        raise InvalidInput(f"a {check.value} background check needs its date and reference")
    if reference is not None and len(reference) > 100:
        raise InvalidInput("a background-check reference is at most 100 characters")
    if checked_on is not None and checked_on > today:
        raise InvalidInput("a background check cannot be dated in the future")
    if expires_on is not None and checked_on is not None and expires_on <= checked_on:
        raise InvalidInput("a background check cannot expire before it was done")
    if check is BackgroundCheck.CLEARED and expires_on is not None and expires_on <= today:
        raise InvalidInput("this background check has already expired; record it as expired")
    get_staff(session=session, person_id=person_id)
    person = access_service.set_background_check(
        session=session,
        person_id=person_id,
        status=check.value,
        context=context,
        now=now,
        engine=engine,
    )
    person.background_checked_on = checked_on
    person.background_reference = reference
    person.background_expires_on = expires_on
    session.flush()
    detail = {"status": check.value}
    if expires_on is not None:
        detail["expires_on"] = expires_on.isoformat()
    _event(session, person.id, "background_check", detail, context, now, person.site_id)
    return person


def expire_background_checks(
    *, session: Session, now: datetime, context: Context, engine: AccessEngine | None = None
) -> list[str]:
    """Mark cleared checks whose expiry has passed as expired; return the person ids."""
    rows = session.execute(
        select(Person).where(
            Person.background_check == BackgroundCheck.CLEARED.value,
            Person.background_expires_on.is_not(None),
            Person.background_expires_on <= now.date(),
        )
    ).scalars()
    expired = []
    for person in list(rows):
        access_service.set_background_check(
            session=session,
            person_id=person.id,
            status=BackgroundCheck.EXPIRED.value,
            context=context,
            now=now,
            engine=engine,
        )
        _event(session, person.id, "background_check", {"status": "expired"}, context, now)
        expired.append(person.id)
    return expired


def level_site(session: Session, level: AccessLevel) -> Site | None:
    """Return the site model of a level, or None when the site is not stored."""
    try:
        return site_service.get_site(session=session, site_id=level.site_id)
    except NotFound:
        return None


def is_restricted(level: AccessLevel, site: Site | None) -> bool:
    """Return True when the level requires a check or opens a restricted or vault zone."""
    if level.requires_background_check:
        return True
    if site is None:
        return False
    layers = {z.id: z.layer for z in site.zones}
    zones = set(level.zones) | {d.to_zone for d in site.doors if d.id in set(level.doors)}
    return any(layers.get(z, Layer.OUTSIDE) >= Layer.RESTRICTED for z in zones)


def missing_training(person: Person, courses: list[str], now: datetime) -> list[str]:
    """Return the courses of ``courses`` the person has no current record of."""
    current = people_service.current_training(person)
    return [
        c
        for c in courses
        if c not in current or (current[c] is not None and current[c] <= now)  # type: ignore[operator]
    ]


def check_assignable(*, session: Session, person_id: str, level_id: str, now: datetime) -> None:
    """Raise Conflict when the person may not hold this level yet (the hiring gate).

    A restricted level (one requiring a background check, or opening a restricted or
    vault zone) needs a current cleared check; a level requiring training needs a
    current record of every course it names.
    """
    person = people_service.get_person(session=session, person_id=person_id)
    level = session.get(AccessLevel, level_id)
    if level is None:
        raise NotFound(f"no access level {level_id!r}")
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(f"{person.name} is {person.status}; no level can be granted")
    if is_restricted(level, level_site(session, level)) and not background_current(
        person, now.date()
    ):
        status = person.background_check
        if status == BackgroundCheck.CLEARED:
            status = "expired"
        raise Conflict(
            f"{level.name} is restricted: it needs a cleared background check "
            f"({person.name}'s is {str(status).replace('_', ' ')})"
        )
    missing = missing_training(person, list(level.requires_training), now)
    if missing:
        courses = ", ".join(m.replace("_", " ") for m in missing)
        raise Conflict(f"{level.name} needs current training in {courses}")


def check_levels_held(*, session: Session, person_id: str, now: datetime) -> None:
    """Raise Conflict when a level the person already holds fails the hiring gate.

    Visitors are exempt: their per-visit level is limited to areas approved at check-in.
    """
    person = people_service.get_person(session=session, person_id=person_id)
    if person.kind == PersonKind.VISITOR:
        return
    held = session.scalars(
        select(LevelAssignment.level_id).where(LevelAssignment.person_id == person_id)
    ).all()
    for level_id in held:
        check_assignable(session=session, person_id=person_id, level_id=level_id, now=now)


def grant_level(
    *,
    session: Session,
    person_id: str,
    level_id: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> None:
    """Assign a level through the hiring gate (effective after the commit)."""
    check_assignable(session=session, person_id=person_id, level_id=level_id, now=now)
    access_service.assign_level(
        session=session,
        person_id=person_id,
        level_id=level_id,
        context=context,
        now=now,
        engine=engine,
    )


# --- training ----------------------------------------------------------------------------------


def add_training(
    *,
    session: Session,
    person_id: str,
    course: str,
    completed_at: datetime,
    expires_at: datetime | None,
    evidence: str | None,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> TrainingRecord:
    """Record a completed course with a reference to its evidence file."""
    course = course.strip().lower()
    if not _COURSE_RE.match(course):
        raise InvalidInput(
            "a course code is 1–64 lower-case letters, digits, '-' or '_' "
            f"(standard: {', '.join(STANDARD_COURSES)})"
        )
    if completed_at > now:
        raise InvalidInput("a course cannot be completed in the future")
    if evidence is not None:
        evidence = evidence.strip()
        if not evidence or len(evidence) > 300 or not evidence.isprintable():
            raise InvalidInput("an evidence reference is 1–300 printable characters")
    get_staff(session=session, person_id=person_id)
    person = access_service.add_training(
        session=session,
        person_id=person_id,
        course=course,
        completed_at=completed_at,
        expires_at=expires_at,
        context=context,
        now=now,
        engine=engine,
    )
    record = max((r for r in person.training if r.course == course), key=lambda r: r.id or 0)
    record.evidence = evidence
    session.flush()
    detail = {"course": course}
    if expires_at is not None:
        detail["expires_at"] = expires_at.isoformat()
    _event(session, person.id, "training_added", detail, context, now, person.site_id)
    return record


@dataclass(frozen=True)
class TrainingState:
    """The latest record of one course for one person, and whether it is current."""

    course: str
    completed_at: datetime
    expires_at: datetime | None
    evidence: str | None
    state: str  # current, expiring, expired


def training_states(person: Person, now: datetime, *, days: int = WARN_DAYS) -> list[TrainingState]:
    """Return the latest record of each course, flagged current, expiring or expired."""
    latest: dict[str, TrainingRecord] = {}
    for record in person.training:
        known = latest.get(record.course)
        if known is None or record.completed_at >= known.completed_at:
            latest[record.course] = record
    states = []
    for course, r in sorted(latest.items()):
        if r.expires_at is None or r.expires_at > now + timedelta(days=days):
            state = "current"
        elif r.expires_at > now:
            state = "expiring"
        else:
            state = "expired"
        states.append(TrainingState(course, r.completed_at, r.expires_at, r.evidence, state))
    return states


def expiring_training(
    *, session: Session, now: datetime, days: int = WARN_DAYS, unwarned_only: bool = True
) -> list[tuple[Person, TrainingRecord]]:
    """Return the latest records expiring within ``days`` of people still on the books."""
    stmt = (
        select(TrainingRecord)
        .join(Person, Person.id == TrainingRecord.person_id)
        .where(
            TrainingRecord.expires_at.is_not(None),
            TrainingRecord.expires_at > now,
            TrainingRecord.expires_at <= now + timedelta(days=days),
            Person.status == PersonStatus.ACTIVE.value,
            Person.kind != PersonKind.VISITOR.value,
        )
        .order_by(TrainingRecord.expires_at, TrainingRecord.id)
    )
    if unwarned_only:
        stmt = stmt.where(TrainingRecord.warned_at.is_(None))
    found = []
    for record in session.execute(stmt).scalars():
        person = record.person
        newer = [
            r
            for r in person.training
            if r.course == record.course
            and r.id != record.id
            and (r.expires_at is None or r.expires_at > record.expires_at)  # type: ignore[operator]
        ]
        if not newer:
            found.append((person, record))
    return found


# --- roles and access review -------------------------------------------------------------------


def set_role_levels(
    *, session: Session, role: str, level_ids: list[str], context: Context, now: datetime
) -> list[str]:
    """Set the levels a role needs (replacing the old list); every level must exist."""
    role = role.strip()
    if not role or len(role) > 64:
        raise InvalidInput("a role is 1–64 characters")
    unique = sorted(set(level_ids))
    for level_id in unique:
        if session.get(AccessLevel, level_id) is None:
            raise NotFound(f"no access level {level_id!r}")
    session.execute(delete(RoleLevel).where(RoleLevel.role == role))
    for level_id in unique:
        session.add(
            RoleLevel(role=role, level_id=level_id, updated_at=now, updated_by=context.actor)
        )
    session.flush()
    _event(session, role, "role_levels", {"levels": ",".join(unique)}, context, now)
    return unique


def role_levels(*, session: Session) -> dict[str, list[str]]:
    """Return each role's levels."""
    found: dict[str, list[str]] = {}
    for row in session.execute(select(RoleLevel).order_by(RoleLevel.role, RoleLevel.level_id)):
        found.setdefault(row[0].role, []).append(row[0].level_id)
    return found


@dataclass
class RoleApplied:
    """What applying a role changed: granted, removed, and levels the gate held back."""

    granted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    excess: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)


def held_levels(session: Session, person_id: str) -> list[str]:
    """Return the levels a person holds."""
    return list(
        session.execute(
            select(LevelAssignment.level_id)
            .where(LevelAssignment.person_id == person_id)
            .order_by(LevelAssignment.level_id)
        ).scalars()
    )


def apply_role(
    *,
    session: Session,
    person_id: str,
    remove_excess: bool,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> RoleApplied:
    """Give a person their role's levels through the gate; optionally take away the rest."""
    person = get_staff(session=session, person_id=person_id)
    wanted = role_levels(session=session).get(person.role, [])
    held = held_levels(session, person.id)
    result = RoleApplied()
    for level_id in wanted:
        if level_id in held:
            continue
        try:
            check_assignable(session=session, person_id=person.id, level_id=level_id, now=now)
        except Conflict as exc:
            result.blocked[level_id] = exc.message
            continue
        access_service.assign_level(
            session=session,
            person_id=person.id,
            level_id=level_id,
            context=context,
            now=now,
            engine=engine,
        )
        result.granted.append(level_id)
    for level_id in held:
        if level_id in wanted:
            continue
        if remove_excess:
            access_service.unassign_level(
                session=session,
                person_id=person.id,
                level_id=level_id,
                context=context,
                now=now,
                engine=engine,
            )
            result.removed.append(level_id)
        else:
            result.excess.append(level_id)
    return result


@dataclass(frozen=True)
class ReviewRow:
    """One person × level held, with when it was granted and last confirmed."""

    person_id: str
    name: str
    role: str
    status: str
    level_id: str
    site_id: str
    granted_at: datetime
    granted_by: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    in_role: bool
    restricted: bool
    due: bool


def access_review(
    *,
    session: Session,
    now: datetime,
    site_id: str | None = None,
    stale_days: int = REVIEW_STALE_DAYS,
) -> list[ReviewRow]:
    """List who holds which level, when it was last confirmed, and what is due for review.

    A holding is due when it was never confirmed or not within ``stale_days``, or
    when it lies outside the person's role (least privilege).
    """
    roles = role_levels(session=session)
    levels = {lv.id: lv for lv in session.execute(select(AccessLevel)).scalars()}
    sites: dict[str, Site | None] = {}
    confirmations = {
        (c.person_id, c.level_id): c for c in session.execute(select(AccessConfirmation)).scalars()
    }
    rows = []
    stmt = select(LevelAssignment, Person).join(Person, Person.id == LevelAssignment.person_id)
    for assignment, person in session.execute(stmt):
        level = levels.get(assignment.level_id)
        if level is None or (site_id is not None and level.site_id != site_id):
            continue
        if level.site_id not in sites:
            sites[level.site_id] = level_site(session, level)
        confirmation = confirmations.get((person.id, level.id))
        in_role = person.kind == PersonKind.VISITOR or level.id in roles.get(person.role, [])
        last = confirmation.confirmed_at if confirmation else None
        rows.append(
            ReviewRow(
                person_id=person.id,
                name=person.name,
                role=person.role,
                status=person.status,
                level_id=level.id,
                site_id=level.site_id,
                granted_at=assignment.granted_at,
                granted_by=assignment.granted_by,
                confirmed_at=last,
                confirmed_by=confirmation.confirmed_by if confirmation else None,
                in_role=in_role,
                restricted=is_restricted(level, sites[level.site_id]),
                due=last is None or last < now - timedelta(days=stale_days) or not in_role,
            )
        )
    rows.sort(key=lambda r: (r.level_id, r.name.casefold(), r.person_id))
    return rows


def confirm_access(
    *, session: Session, person_id: str, level_id: str, context: Context, now: datetime
) -> AccessConfirmation:
    """Record that a reviewer confirmed the person still needs the level."""
    if session.get(LevelAssignment, (person_id, level_id)) is None:
        raise NotFound(f"person {person_id!r} does not hold level {level_id!r}")
    row = session.get(AccessConfirmation, (person_id, level_id))
    if row is None:
        row = AccessConfirmation(person_id=person_id, level_id=level_id)
        session.add(row)
    row.confirmed_at = now
    row.confirmed_by = context.actor
    session.flush()
    _event(session, person_id, "access_confirmed", {"level": level_id}, context, now)
    return row
