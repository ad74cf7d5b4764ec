"""Database-backed access service: enrolment, instant revocation, audit, bad input (SQLite/PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bastion.access import service
from bastion.access.cards import parse_card
from bastion.access.models import AccessLevel, Credential
from bastion.access.runtime import flush_decisions, load_engine, start_access, stop_access
from bastion.access.snapshot import DoorMode, DoorPolicySpec, LevelSpec
from bastion.core.context import Context
from bastion.core.errors import ConfigError, Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_CREDENTIAL_CHANGED,
    EVENT_PERSON_CHANGED,
)
from bastion.core.ports import Presentation, PresentationKind
from bastion.site import service as site_service
from bastion.site.loader import load_site
from tests.access.conftest import SITE_YAML, local

CTX = Context(actor="user:1")
MON_10 = local(2026, 3, 9, 10, 0)
CARD = "h10301:18:12345"


@pytest.fixture
def lab(hub):
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=load_site(SITE_YAML, source="t"), context=CTX, now=hub.clock.now()
        )
    return hub


def _enrol(hub, *, name="Ann Example", kind="employee", role="clerk", level=True, engine=None):
    now = hub.clock.now()
    with hub.unit_of_work() as session:
        person = service.create_person(
            session=session,
            name=name,
            kind=kind,
            role=role,
            site_id="lab",
            context=CTX,
            now=now,
            engine=engine,
        )
        if level and session.get(AccessLevel, "staff") is None:
            service.put_level(
                session=session,
                spec=LevelSpec("staff", "lab", schedule_id="business", zones=("lobby", "hall")),
                name="Staff",
                context=CTX,
                now=now,
                engine=engine,
            )
        if level:
            service.assign_level(
                session=session,
                person_id=person.id,
                level_id="staff",
                context=CTX,
                now=now,
                engine=engine,
            )
        cred = service.issue_credential(
            session=session,
            person_id=person.id,
            kind="card",
            card=parse_card(CARD),
            hasher=hub.hash_credential,
            context=CTX,
            now=now,
            engine=engine,
        )
        return person.id, cred.id


def _card_read(hub, door="front", at=MON_10, reader="front-in"):
    return Presentation(
        door_id=door,
        reader_id=reader,
        kind=PresentationKind.CARD,
        card_hash=hub.hash_credential(parse_card(CARD).canonical, purpose="card"),
        time=at,
    )


def test_enrolment_stores_only_hashes_and_ledgers_it(lab, database):
    _person_id, _cred_id = _enrol(lab)
    with database.engine.connect() as conn:
        row = conn.execute(
            text("SELECT card_hash, card_format, facility_code FROM credentials")
        ).one()
        name = conn.execute(text("SELECT name FROM people")).scalar_one()
        dump = " ".join(str(v) for v in conn.execute(text("SELECT * FROM credentials")).one())
    assert len(row.card_hash) == 64 and row.card_format == "h10301" and row.facility_code == 18
    assert "12345" not in dump and "Ann" not in name
    types = [r.type for r in lab.ledger.query(limit=20, newest_first=False)]
    assert EVENT_PERSON_CHANGED.name in types and EVENT_CREDENTIAL_CHANGED.name in types
    assert all("12345" not in r.payload for r in lab.ledger.query(limit=50))


def test_engine_loads_from_the_database_and_decides(lab):
    person_id, _ = _enrol(lab)
    engine = load_engine(lab)
    verdict = engine.decide(_card_read(lab))
    assert verdict.granted and verdict.person_id == person_id
    assert engine.decide(_card_read(lab, at=local(2026, 3, 9, 20, 0))).reason == "outside_schedule"


def test_revocation_takes_effect_before_the_call_returns(lab):
    engine = load_engine(lab)
    _, cred_id = _enrol(lab, engine=engine)
    assert engine.decide(_card_read(lab)).granted
    with lab.unit_of_work() as session:
        service.revoke_credential(
            session=session,
            credential_id=cred_id,
            reason="lost",
            context=CTX,
            now=lab.clock.now(),
            engine=engine,
        )
        # Not committed yet, and already denied.
        assert engine.decide(_card_read(lab)).reason == "revoked"
    with lab.db.sessions() as session:
        assert session.get(Credential, cred_id).revoked
    assert load_engine(lab).decide(_card_read(lab)).reason == "revoked"


def test_suspension_is_instant_and_offboarding_revokes(lab):
    engine = load_engine(lab)
    person_id, _cred_id = _enrol(lab, engine=engine)
    with lab.unit_of_work() as session:
        service.set_person_status(
            session=session,
            person_id=person_id,
            status="suspended",
            reason="inquiry",
            context=CTX,
            now=lab.clock.now(),
            engine=engine,
        )
        assert engine.decide(_card_read(lab)).reason == "person_suspended"
    with lab.unit_of_work() as session:
        service.set_person_status(
            session=session,
            person_id=person_id,
            status="active",
            reason="cleared",
            context=CTX,
            now=lab.clock.now(),
            engine=engine,
        )
    assert engine.decide(_card_read(lab)).granted
    with lab.unit_of_work() as session:
        service.set_person_status(
            session=session,
            person_id=person_id,
            status="offboarded",
            reason="left",
            context=CTX,
            now=lab.clock.now(),
            engine=engine,
        )
    assert engine.decide(_card_read(lab)).reason == "revoked"
    with pytest.raises(Conflict), lab.unit_of_work() as session:
        service.set_person_status(
            session=session,
            person_id=person_id,
            status="active",
            reason="",
            context=CTX,
            now=lab.clock.now(),
            engine=engine,
        )


def test_permissive_changes_wait_for_the_commit(lab):
    engine = load_engine(lab)
    with pytest.raises(RuntimeError), lab.unit_of_work() as session:
        _enrol_in(session, lab, engine)
        raise RuntimeError("roll back")
    assert engine.snapshot.people == {} and engine.snapshot.creds == {}
    assert engine.decide(_card_read(lab)).reason == "unknown_credential"


def _enrol_in(session, hub, engine):
    now = hub.clock.now()
    person = service.create_person(
        session=session,
        name="Bo",
        kind="employee",
        site_id="lab",
        context=CTX,
        now=now,
        engine=engine,
    )
    service.issue_credential(
        session=session,
        person_id=person.id,
        kind="card",
        card=parse_card(CARD),
        hasher=hub.hash_credential,
        context=CTX,
        now=now,
        engine=engine,
    )


def test_bad_input_is_refused_and_nothing_is_half_applied(lab, database):
    engine = load_engine(lab)
    person_id, _ = _enrol(lab, engine=engine)
    version = engine.version
    now = lab.clock.now()
    with pytest.raises(ConfigError, match="schedule 'weekends'"), lab.unit_of_work() as session:
        service.put_level(
            session=session,
            spec=LevelSpec("bad", "lab", schedule_id="weekends", zones=("vault",)),
            name="Bad",
            context=CTX,
            now=now,
            engine=engine,
        )
    with pytest.raises(ConfigError, match="door 'nope'"), lab.unit_of_work() as session:
        service.set_door_policy(
            session=session, spec=DoorPolicySpec("lab", "nope"), context=CTX, now=now, engine=engine
        )
    with pytest.raises(Conflict, match="already enrolled"), lab.unit_of_work() as session:
        service.issue_credential(
            session=session,
            person_id=person_id,
            kind="card",
            card=parse_card(CARD),
            hasher=lab.hash_credential,
            context=CTX,
            now=now,
            engine=engine,
        )
    with pytest.raises(InvalidInput, match="needs"), lab.unit_of_work() as session:
        service.issue_credential(
            session=session,
            person_id=person_id,
            kind="card_and_pin",
            card=parse_card("h10301:1:1"),
            hasher=lab.hash_credential,
            context=CTX,
            now=now,
            engine=engine,
        )
    with pytest.raises(InvalidInput, match="PIN"), lab.unit_of_work() as session:
        service.issue_credential(
            session=session,
            person_id=person_id,
            kind="pin",
            pin="12",
            hasher=lab.hash_credential,
            context=CTX,
            now=now,
            engine=engine,
        )
    with pytest.raises(NotFound), lab.unit_of_work() as session:
        service.assign_level(
            session=session,
            person_id=person_id,
            level_id="bad",
            context=CTX,
            now=now,
            engine=engine,
        )
    with pytest.raises(NotFound), lab.unit_of_work() as session:
        service.put_level(
            session=session,
            spec=LevelSpec("x", "atlantis", zones=("vault",)),
            name="X",
            context=CTX,
            now=now,
            engine=engine,
        )
    assert engine.version == version
    with database.sessions() as session:
        assert [lv.id for lv in session.execute(select(AccessLevel)).scalars()] == ["staff"]
        assert len(list(session.execute(select(Credential)).scalars())) == 1


def test_policies_threat_and_lockdown_persist(lab):
    engine = load_engine(lab)
    _enrol(lab, engine=engine)
    now = lab.clock.now()
    with lab.unit_of_work() as session:
        service.set_door_policy(
            session=session,
            spec=DoorPolicySpec("lab", "hall-door", mode=DoorMode.CARD_AND_PIN),
            context=CTX,
            now=now,
            engine=engine,
        )
        service.set_anti_passback(
            session=session,
            site_id="lab",
            zone_id="lobby",
            mode="hard",
            context=CTX,
            now=now,
            engine=engine,
        )
        service.set_interlock(
            session=session,
            site_id="lab",
            group_id="trap",
            doors=("trap-a", "trap-b"),
            context=CTX,
            now=now,
            engine=engine,
        )
        doors = service.set_lockdown(
            session=session,
            site_id="lab",
            zone_id="vault",
            active=True,
            reason="drill",
            context=CTX,
            now=now,
            engine=engine,
        )
        service.set_threat_level(
            session=session,
            site_id="lab",
            level=1,
            name="elevated",
            context=CTX,
            now=now,
            engine=engine,
        )
    assert "hall-door" in doors
    fresh = load_engine(lab)
    for current in (engine, fresh):
        assert (
            current.decide(_card_read(lab, door="hall-door", reader="hall-in")).reason == "lockdown"
        )
        assert current.threat_level("lab") == 1
        assert current.decide(_card_read(lab)).reason == "threat_level"
    with lab.unit_of_work() as session:
        service.set_threat_level(
            session=session, site_id="lab", level=0, context=CTX, now=now, engine=engine
        )
        service.set_lockdown(
            session=session,
            site_id="lab",
            zone_id="vault",
            active=False,
            context=CTX,
            now=now,
            engine=engine,
        )
    assert (
        engine.decide(_card_read(lab, door="hall-door", reader="hall-in")).reason == "pin_required"
    )
    assert engine.decide(_card_read(lab)).granted
    assert engine.decide(_card_read(lab)).reason == "anti_passback"
    with lab.unit_of_work() as session:
        service.forgive_anti_passback(
            session=session,
            site_id="lab",
            person_id=None,
            reason="fire drill",
            context=CTX,
            now=now,
            engine=engine,
        )
    assert engine.decide(_card_read(lab)).granted
    with pytest.raises(InvalidInput), lab.unit_of_work() as session:
        service.set_threat_level(
            session=session, site_id="lab", level=42, context=CTX, now=now, engine=engine
        )


async def test_runtime_writes_decisions_to_the_ledger_and_entries_finds_them(lab, database):
    person_id, _ = _enrol(lab)
    engine = start_access(lab)
    assert lab.access is engine
    for minute in range(3):
        engine.decide(
            _card_read(
                lab, door="hall-door", reader="hall-in", at=MON_10 + timedelta(minutes=minute)
            )
        )
    engine.decide(_card_read(lab, door="vault-door", reader="vault-in"))
    await flush_decisions(lab)
    await lab.bus.drain()
    rows = lab.ledger.query(types=[EVENT_ACCESS_DECISION.name], limit=10)
    assert len(rows) == 4
    with database.sessions() as session:
        site = site_service.get_site(session=session, site_id="lab")
        found = service.entries(
            session=session, site=site, zone_id="hall", since=MON_10 - timedelta(days=7)
        )
        assert [e.person_id for e in found] == [person_id] * 3
        assert (
            service.entries(
                session=session, site=site, zone_id="vault", since=MON_10 - timedelta(days=7)
            )
            == []
        )
    assert lab.ledger.verify().ok
    await stop_access(lab)
    await lab.bus.close()


async def test_runtime_follows_lockdown_and_door_events(lab):
    from bastion.core.events import EVENT_DOOR_STATE, EVENT_LOCKDOWN, DoorPayload, LockdownPayload

    _enrol(lab)
    engine = start_access(lab)
    await lab.bus.publish(
        EVENT_LOCKDOWN, LockdownPayload(zone_ids=("hall",), active=True), site="lab"
    )
    await lab.bus.publish(EVENT_DOOR_STATE, DoorPayload(door_id="trap-a", state="open"), site="lab")
    await lab.bus.drain()
    assert engine.door_locked_down("front")
    assert engine.is_open("trap-a")
    await stop_access(lab)
    await lab.bus.close()


def test_parse_since(clock):
    now = clock.now()
    assert service.parse_since("7d", now=now) == now - timedelta(days=7)
    assert service.parse_since("2026-03-01T00:00:00+00:00", now=now).day == 1
    with pytest.raises(InvalidInput):
        service.parse_since("last tuesday", now=now)
