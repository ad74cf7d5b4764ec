"""Cardholder basics: create, status changes, background check and training hooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_PERSON_CHANGED
from bastion.people import service
from bastion.store.ledger import Ledger

CTX = Context(actor="user:1")
NOW = datetime(2026, 3, 7, 15, tzinfo=UTC)


def test_person_lifecycle_is_ledgered_and_the_name_encrypted(database):
    with database.unit_of_work() as session:
        person = service.create_person(
            session=session,
            name="Pat Person",
            kind="contractor",
            role="electrician",
            context=CTX,
            now=NOW,
        )
        pid = person.id
    with database.unit_of_work() as session:
        service.set_status(
            session=session,
            person_id=pid,
            status="suspended",
            reason="expired insurance",
            context=CTX,
            now=NOW,
        )
        service.set_status(
            session=session, person_id=pid, status="suspended", reason="again", context=CTX, now=NOW
        )
        service.set_background_check(
            session=session, person_id=pid, status="cleared", context=CTX, now=NOW
        )
    with database.sessions() as session:
        person = service.get_person(session=session, person_id=pid)
        assert (person.status, person.background_check, person.name) == (
            "suspended",
            "cleared",
            "Pat Person",
        )
        assert [p.id for p in service.list_people(session=session)] == [pid]
    with database.engine.connect() as conn:
        assert "Pat" not in conn.execute(text("SELECT name FROM people")).scalar_one()
    rows = Ledger(database).query(types=[EVENT_PERSON_CHANGED.name], newest_first=False)
    assert [r.payload.count("suspended") for r in rows] == [0, 1, 0]
    assert all("Pat" not in r.payload for r in rows)


def test_offboarded_people_stay_offboarded(database):
    with database.unit_of_work() as session:
        pid = service.create_person(
            session=session, name="Olly", kind="employee", context=CTX, now=NOW
        ).id
        service.set_status(
            session=session, person_id=pid, status="offboarded", reason="left", context=CTX, now=NOW
        )
    with pytest.raises(Conflict), database.unit_of_work() as session:
        service.set_status(
            session=session, person_id=pid, status="active", reason="", context=CTX, now=NOW
        )


def test_training_keeps_the_latest_expiry(database):
    with database.unit_of_work() as session:
        pid = service.create_person(
            session=session, name="Tia", kind="employee", context=CTX, now=NOW
        ).id
        service.add_training(
            session=session,
            person_id=pid,
            course="vault-101",
            completed_at=NOW,
            expires_at=NOW + timedelta(days=30),
            context=CTX,
            now=NOW,
        )
        service.add_training(
            session=session,
            person_id=pid,
            course="vault-101",
            completed_at=NOW,
            expires_at=NOW + timedelta(days=365),
            context=CTX,
            now=NOW,
        )
        service.add_training(
            session=session,
            person_id=pid,
            course="first-aid",
            completed_at=NOW,
            expires_at=None,
            context=CTX,
            now=NOW,
        )
    with database.sessions() as session:
        courses = service.current_training(service.get_person(session=session, person_id=pid))
    assert courses == {"vault-101": NOW + timedelta(days=365), "first-aid": None}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": " ", "kind": "employee"}, InvalidInput),
        ({"name": "X", "kind": "alien"}, InvalidInput),
        ({"name": "X", "kind": "employee", "role": "r" * 65}, InvalidInput),
    ],
)
def test_bad_people_are_refused(database, kwargs, error):
    with pytest.raises(error), database.unit_of_work() as session:
        service.create_person(session=session, context=CTX, now=NOW, **kwargs)
    with database.sessions() as session:
        assert service.list_people(session=session) == []
        with pytest.raises(NotFound):
            service.get_person(session=session, person_id="nobody")
