import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.errors import IntegrityError
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_DOOR_FORCED,
    EVENT_SENSOR_READING,
    AccessDecisionPayload,
    DoorPayload,
    SensorReadingPayload,
    make_event,
)
from bastion.store.db import Database
from bastion.store.ledger import Ledger, row_to_event


def _decision(i: int, t0: datetime):
    return make_event(
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(
            door_id=f"door-{i % 3}", subject=f"person-{i}", granted=i % 2 == 0, reason="granted"
        ),
        context=Context(actor="device:rdr-1"),
        time=t0 + timedelta(seconds=i),
        site="dispensary",
    )


@pytest.fixture
def ledger(database):
    led = Ledger(database)
    yield led
    led.close()


@pytest.fixture
def filled(ledger):
    t0 = datetime(2026, 3, 7, 12, tzinfo=UTC)
    ledger.append_sync([_decision(i, t0) for i in range(10)])
    return ledger


def test_empty_ledger_verifies(ledger):
    result = ledger.verify()
    assert result.ok and result.rows_checked == 0


def test_appended_rows_chain_and_round_trip(filled):
    result = filled.verify()
    assert result.ok, result.describe()
    assert result.rows_checked == 10
    rows = filled.query(newest_first=False, limit=20)
    assert [r.seq for r in rows] == list(range(1, 11))
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 10))
    event = row_to_event(rows[3])
    assert event.type is EVENT_ACCESS_DECISION
    assert event.payload.subject == "person-3"
    assert event.time == datetime(2026, 3, 7, 12, 0, 3, tzinfo=UTC)
    assert rows[3].device == "door-0"


def test_query_filters(filled):
    assert [r.subject for r in filled.query(subject="person-4")] == ["person-4"]
    assert len(filled.query(device="door-1")) == 3
    since = datetime(2026, 3, 7, 12, 0, 5, tzinfo=UTC)
    assert len(filled.query(since=since)) == 5


def test_edited_row_is_named(filled, database):
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ledger_events SET payload = replace(payload, 'person-6', 'person-x') WHERE seq = 7"
            )
        )
    result = filled.verify()
    assert not result.ok
    assert result.bad_seq == 7
    assert "changed" in result.problem
    with pytest.raises(IntegrityError, match="seq 7"):
        filled.verify_or_raise()


def test_deleted_row_is_named(filled, database):
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq = 4"))
    result = filled.verify()
    assert not result.ok and result.bad_seq == 5
    assert "missing" in result.problem


def test_deleted_tail_is_detected(filled, database):
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq >= 9"))
    result = filled.verify()
    assert not result.ok
    assert "head records 10" in result.problem


def test_swapped_rows_are_detected(filled, database):
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_events SET seq = -1 WHERE seq = 3"))
        conn.execute(text("UPDATE ledger_events SET seq = 3 WHERE seq = 6"))
        conn.execute(text("UPDATE ledger_events SET seq = 6 WHERE seq = -1"))
    result = filled.verify()
    assert not result.ok and result.bad_seq == 3


def test_swapped_with_sqlite3_cli_style(tmp_path, keyring):
    """Tamper through the plain sqlite3 module, as an intruder with file access would."""
    from bastion.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'l.db'}")
    db.migrate()
    led = Ledger(db)
    led.append_sync([_decision(i, datetime(2026, 1, 1, tzinfo=UTC)) for i in range(5)])
    raw = sqlite3.connect(tmp_path / "l.db")
    raw.execute("UPDATE ledger_events SET actor = 'device:other' WHERE seq = 2")
    raw.commit()
    raw.close()
    assert led.verify().bad_seq == 2
    db.dispose()


async def test_bus_commits_before_subscribers_run(ledger):
    bus = Bus(sink=ledger)
    committed_when_seen: list[bool] = []

    def on_event(event):
        ids = {row.id for row in ledger.query(types=["door.forced"], limit=10)}
        committed_when_seen.append(event.id in ids)

    bus.subscribe(on_event, types=[EVENT_DOOR_FORCED])
    for _ in range(3):
        await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="vault", state="forced"))
    await bus.drain()
    assert committed_when_seen == [True, True, True]
    await bus.close()


async def test_telemetry_is_not_ledgered(ledger):
    bus = Bus(sink=ledger)
    await bus.publish(
        EVENT_SENSOR_READING, SensorReadingPayload(device_id="s1", quantity="db", value=40)
    )
    assert ledger.count() == 0
    await bus.close()


async def test_concurrent_publishers_group_commit_and_keep_chain(ledger):
    bus = Bus(sink=ledger)

    async def burst(n: int):
        for i in range(n):
            await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id=f"d{i}", state="forced"))

    await asyncio.gather(*(burst(25) for _ in range(8)))
    assert ledger.count() == 200
    assert ledger.verify().ok
    await bus.close()


async def test_failed_commit_reaches_the_publisher(database):
    led = Ledger(database)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_head"))
    bus = Bus(sink=led)
    with pytest.raises(Exception, match="head row is missing"):
        await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="d", state="forced"))
    led.close()


async def test_staged_events_commit_with_the_domain_transaction(database, ledger):
    from bastion.core.bus import Bus
    from bastion.hub import Hub
    from bastion.settings import Settings
    from bastion.store.ledger import stage

    bus = Bus(sink=ledger)
    hub = Hub(settings=Settings(), db=database, ledger=ledger, bus=bus)
    delivered: list[str] = []
    bus.subscribe(lambda e: delivered.append(e.id))
    event = make_event(EVENT_DOOR_FORCED, DoorPayload(door_id="d", state="forced"))
    with pytest.raises(RuntimeError), hub.unit_of_work() as session:
        stage(session, event)
        raise RuntimeError("domain change failed")
    await bus.drain()
    assert ledger.count() == 0 and delivered == []
    with hub.unit_of_work() as session:
        stage(session, event)
    await bus.drain()
    assert ledger.count() == 1 and delivered == [event.id]
    assert ledger.verify().ok
    await bus.close()


def test_session_and_connection_appends_share_one_chain(ledger, database):
    """Staged appends (inside an ORM session) and the writer's (on a connection) interleave."""
    from bastion.store.ledger import append_events

    t0 = datetime(2026, 3, 7, 12, 0, 0, 123456, tzinfo=UTC)
    events = [_decision(i, t0) for i in range(6)]
    with database.write_engine.begin() as conn:
        assert append_events(conn, events[:2]) == 2
    with database.unit_of_work() as session:
        assert append_events(session, events[2:4]) == 4
    with database.write_engine.begin() as conn:
        assert append_events(conn, events[4:5]) == 5
        assert append_events(conn, []) == -1
        assert append_events(conn, events[5:]) == 6
    result = ledger.verify()
    assert result.ok and result.rows_checked == 6, result.describe()
    rows = ledger.query(newest_first=False, limit=10)
    for row, original in zip(rows, events, strict=True):
        again = row_to_event(row)
        assert (again.id, again.time, again.payload) == (
            original.id,
            original.time,
            original.payload,
        )
        assert (row.site, row.device, row.actor) == ("dispensary", original.device, "device:rdr-1")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 7, 12, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_hashed_and_stored_time_texts_keep_their_formats(moment):
    """Rows written before the isoformat change must still verify: same text as strftime."""
    from bastion.store.ledger import _sqlite_time, _time_text

    assert _time_text(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _sqlite_time(moment) == moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture
def sqlite_database(tmp_path, keyring):
    """A migrated SQLite database even when the suite runs on PostgreSQL (SQLite-only paths)."""
    db = Database(f"sqlite:///{tmp_path / 'sqlite-only.db'}")
    db.migrate()
    yield db
    db.dispose()


async def test_a_busy_database_hands_appends_to_the_writer_thread_in_order(sqlite_database):
    """SQLite: appends commit in the loop, but never wait there for another writer's lock."""
    database = sqlite_database
    ledger = Ledger(database)
    assert ledger.inline
    bus = Bus(sink=ledger)
    await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="first", state="forced"))
    blocker = sqlite3.connect(database.url.database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    held = asyncio.ensure_future(
        bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="second", state="forced"))
    )
    await asyncio.sleep(0.2)
    assert not held.done()  # waiting in the writer thread, while the loop runs on
    later = asyncio.ensure_future(
        bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="third", state="forced"))
    )
    await asyncio.sleep(0.05)
    blocker.execute("COMMIT")
    blocker.close()
    await asyncio.wait_for(asyncio.gather(held, later), 15)
    rows = ledger.query(newest_first=False, limit=10)
    assert [row_to_event(r).payload.door_id for r in rows] == ["first", "second", "third"]
    assert ledger.verify().ok
    await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="fourth", state="forced"))
    assert ledger.count() == 4
    await bus.close()
    ledger.close()


async def test_wal_is_checkpointed_by_the_ledger_thread_not_on_the_alarm_path(sqlite_database):
    """In-loop commits never run a checkpoint; the checkpoint thread moves the WAL instead."""
    import os

    database = sqlite_database

    def size() -> int:
        return os.path.getsize(database.url.database)

    led = Ledger(database, checkpoint_s=3600)  # thread idle: nothing may be checkpointed
    bus = Bus(sink=led)
    before = await asyncio.to_thread(size)
    for i in range(300):
        await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id=f"d{i}", state="forced"))
    assert await asyncio.to_thread(size) == before  # everything is still in the WAL
    await bus.close()
    led.close()

    led = Ledger(database, checkpoint_s=0.05)
    bus = Bus(sink=led)
    await bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="last", state="forced"))
    grown = False
    for _ in range(200):
        grown = await asyncio.to_thread(size) > before
        if grown:
            break
        await asyncio.sleep(0.05)
    assert grown
    assert led.count() == 301 and led.verify().ok
    await bus.close()
    led.close()
