"""Cardholder basics: create, list, change status, background check and training records.

Every change stages a ledger event in the caller's transaction; nothing here commits.
The access domain keeps its snapshot in step (see :mod:`bastion.access.service`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_PERSON_CHANGED, PersonChangedPayload, make_event
from bastion.people.models import (
    BackgroundCheck,
    Person,
    PersonKind,
    PersonStatus,
    TrainingRecord,
)
from bastion.store import crypto
from bastion.store.ledger import stage

_STATUS_ACTIONS = {
    PersonStatus.ACTIVE: "reinstated",
    PersonStatus.SUSPENDED: "suspended",
    PersonStatus.OFFBOARDED: "offboarded",
}


def name_key(name: str) -> str:
    """Return the keyed hash of a name (case and spacing folded), to find namesakes."""
    folded = " ".join(name.casefold().split())
    return crypto.keyring().keyed_hash(folded, purpose="person-name")


def _stage(
    session: Session, person: Person, action: str, reason: str, context: Context, now: datetime
) -> None:
    stage(
        session,
        make_event(
            EVENT_PERSON_CHANGED,
            PersonChangedPayload(subject=person.id, action=action, kind=person.kind, reason=reason),
            context=context,
            time=now,
            site=person.site_id,
        ),
    )


def create_person(
    *,
    session: Session,
    name: str,
    kind: PersonKind | str,
    role: str = "",
    site_id: str | None = None,
    background_check: BackgroundCheck | str = BackgroundCheck.NOT_REQUIRED,
    context: Context,
    now: datetime,
) -> Person:
    """Add a cardholder (active) and stage ``people.changed``."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a person needs a name of 1–200 characters")
    try:
        kind = PersonKind(kind)
        check = BackgroundCheck(background_check)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if len(role) > 64:
        raise InvalidInput("a role label is at most 64 characters")
    person = Person(
        id=new_id(),
        site_id=site_id,
        name=name,
        kind=kind.value,
        status=PersonStatus.ACTIVE.value,
        role=role,
        background_check=check.value,
        created_at=now,
        updated_at=now,
        name_key=name_key(name),
    )
    session.add(person)
    session.flush()
    _stage(session, person, "created", "", context, now)
    return person


_FIELD_WORDS = {"name": "name", "role": "role", "kind": "employee or contractor"}


def update_person(
    *,
    session: Session,
    person_id: str,
    name: str,
    role: str,
    kind: PersonKind | str,
    context: Context,
    now: datetime,
) -> list[str]:
    """Correct a cardholder's name, role or kind; return what changed (in words).

    Visitors are changed through their visit, and an offboarded record is history. The
    ledger event names the changed fields, never the new values (a name is personal data).
    """
    person = get_person(session=session, person_id=person_id)
    if person.kind == PersonKind.VISITOR:
        raise InvalidInput("a visitor's details are changed on their visit")
    if person.status == PersonStatus.OFFBOARDED:
        raise Conflict(f"{person.name} was offboarded; the record can no longer be changed")
    name = name.strip()
    role = role.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a person needs a name of 1–200 characters")
    if len(role) > 64:
        raise InvalidInput("a role is at most 64 characters")
    if kind not in (PersonKind.EMPLOYEE.value, PersonKind.CONTRACTOR.value):
        raise InvalidInput("choose employee or contractor")
    wanted = {"name": name, "role": role, "kind": str(kind)}
    changed = [field for field, value in wanted.items() if getattr(person, field) != value]
    if not changed:
        return []
    person.name = name
    person.name_key = name_key(name)
    person.role = role
    person.kind = str(kind)
    person.updated_at = now
    session.flush()
    words = ", ".join(_FIELD_WORDS[f] for f in changed)
    _stage(session, person, "updated", f"changed {words}", context, now)
    return changed


def record_photo(
    *, session: Session, person_id: str, removed: bool, context: Context, now: datetime
) -> Person:
    """Stage the ledger event of a photo taken or removed (the image is kept elsewhere)."""
    person = get_person(session=session, person_id=person_id)
    person.updated_at = now
    session.flush()
    _stage(session, person, "updated", "photo removed" if removed else "photo added", context, now)
    return person


def get_person(*, session: Session, person_id: str) -> Person:
    """Return a person or raise NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    return person


def list_people(*, session: Session, site_id: str | None = None) -> list[Person]:
    """Return every person (of a site, plus those valid at every site), oldest first."""
    stmt = select(Person).order_by(Person.created_at, Person.id)
    if site_id is not None:
        stmt = stmt.where((Person.site_id == site_id) | (Person.site_id.is_(None)))
    return list(session.execute(stmt).scalars())


def home_sites(*, session: Session, person_ids: Iterable[str]) -> dict[str, str | None]:
    """Return person id → home site (None: enrolled for every site) for the people given."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = session.execute(select(Person.id, Person.site_id).where(Person.id.in_(ids)))
    return {pid: site for pid, site in rows}


def set_status(
    *,
    session: Session,
    person_id: str,
    status: PersonStatus | str,
    reason: str,
    context: Context,
    now: datetime,
) -> Person:
    """Suspend, reinstate or offboard a person; an offboarded person cannot come back."""
    try:
        status = PersonStatus(status)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    person = get_person(session=session, person_id=person_id)
    if person.status == PersonStatus.OFFBOARDED and status is not PersonStatus.OFFBOARDED:
        raise Conflict(f"person {person_id!r} was offboarded; enrol them again instead")
    if person.status == status.value:
        return person
    person.status = status.value
    person.updated_at = now
    session.flush()
    _stage(session, person, _STATUS_ACTIONS[status], reason, context, now)
    return person


def set_background_check(
    *,
    session: Session,
    person_id: str,
    status: BackgroundCheck | str,
    context: Context,
    now: datetime,
) -> Person:
    """Record a background-check status (hook for the people issue)."""
    try:
        check = BackgroundCheck(status)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    person = get_person(session=session, person_id=person_id)
    person.background_check = check.value
    person.updated_at = now
    session.flush()
    _stage(session, person, "updated", f"background check {check.value}", context, now)
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
) -> TrainingRecord:
    """Record a completed course (hook for the people issue)."""
    course = course.strip()
    if not course or len(course) > 64:
        raise InvalidInput("a course code is 1–64 characters")
    if expires_at is not None and expires_at <= completed_at:
        raise InvalidInput("a training record cannot expire before it was completed")
    person = get_person(session=session, person_id=person_id)
    record = TrainingRecord(
        person_id=person.id, course=course, completed_at=completed_at, expires_at=expires_at
    )
    person.training.append(record)
    person.updated_at = now
    session.flush()
    _stage(session, person, "updated", f"training {course}", context, now)
    return record


def current_training(person: Person) -> dict[str, datetime | None]:
    """Return each course's latest expiry (None: does not expire)."""
    courses: dict[str, datetime | None] = {}
    for record in person.training:
        if record.course in courses:
            known = courses[record.course]
            if known is None:
                continue
            if record.expires_at is None or record.expires_at > known:
                courses[record.course] = record.expires_at
        else:
            courses[record.course] = record.expires_at
    return courses
