"""The ledger outbox: appends that find the database unreachable wait on disk and drain once."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from bastion.core.context import Context
from bastion.core.errors import StorageError, StorageUnavailable
from bastion.core.events import EVENT_DOOR_STATE, DoorPayload, Event, make_event
from bastion.store.db import Database, is_unreachable
from bastion.store.ledger import Ledger, append_events
from bastion.store.outbox import OUTBOX_FILE, Outbox, entry_of
from tests.store.outage_support import closed_port_url, wait_until

T0 = datetime(2026, 3, 7, 2, 14, tzinfo=UTC)


def _door(i: int) -> Event[DoorPayload]:
    return make_event(
        EVENT_DOOR_STATE,
        DoorPayload(door_id=f"door-{i % 4}", state="open" if i % 2 else "closed"),
        context=Context(actor="device:door-sensor"),
        time=T0 + timedelta(milliseconds=i),
        site="dispensary-main",
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / OUTBOX_FILE


def test_outbox_keeps_order_across_reopening_and_forgets_what_was_drained(outbox_path):
    events = [_door(i) for i in range(7)]
    box = Outbox(outbox_path)
    assert box.pending == 0 and not outbox_path.exists()  # created only when needed
    box.put([entry_of(e) for e in events[:4]])
    box.put([entry_of(e) for e in events[2:7]])  # an entry queued twice is kept once
    box.close()
    assert _mode(outbox_path) == 0o600 and _mode(outbox_path.parent) == 0o700
    again = Outbox(outbox_path)
    assert again.pending == 7
    queued = again.oldest(5)
    assert [e for _, e in queued] == [entry_of(e) for e in events[:5]]
    again.remove_through(queued[2][0])
    assert again.pending == 4
    assert [e.id for _, e in again.oldest(10)] == [e.id for e in events[3:]]
    again.close()


async def test_appends_wait_in_the_outbox_while_the_database_is_unreachable(outbox_path, database):
    events = [_door(i) for i in range(40)]
    down = Database(closed_port_url())
    ledger = Ledger(down, outbox=Outbox(outbox_path), retry_s=0.05, retry_max_s=0.2)
    try:
        await ledger.append(events[:10])
        await asyncio.gather(*(ledger.append([e]) for e in events[10:40]))
        assert ledger.backlog == 40
        assert ledger.database_down
        assert _mode(outbox_path) == 0o600
    finally:
        ledger.close()
        down.dispose()
    # The database answers again (here: the next start of the process); the outbox
    # is written first, in order, before anything appended after it.
    later = _door(99)
    ledger = Ledger(database, outbox=Outbox(outbox_path))
    try:
        await ledger.append([later])
        wait_until(lambda: ledger.backlog == 0, what="the outbox to drain")
        rows = ledger.query(newest_first=False, limit=100)
        assert [r.id for r in rows] == [e.id for e in [*events, later]]
        assert ledger.verify().ok
        assert not ledger.database_down
    finally:
        ledger.close()


async def test_a_drain_cut_off_after_its_commit_writes_each_entry_once(outbox_path, database):
    events = [_door(i) for i in range(12)]
    box = Outbox(outbox_path)
    box.put([entry_of(e) for e in events])
    box.close()
    # The first five reached the ledger, then the process died before the outbox forgot them.
    with database.write_engine.begin() as conn:
        append_events(conn, events[:5])
    ledger = Ledger(database, outbox=Outbox(outbox_path))
    try:
        wait_until(lambda: ledger.backlog == 0, what="the outbox to drain")
        rows = ledger.query(newest_first=False, limit=100)
        assert [r.id for r in rows] == [e.id for e in events]
        assert ledger.verify().ok
    finally:
        ledger.close()


async def test_a_long_outbox_drains_in_batches_and_new_appends_queue_behind_it(
    outbox_path, database
):
    backlog = [_door(i) for i in range(1200)]
    box = Outbox(outbox_path)
    box.put([entry_of(e) for e in backlog])
    box.close()
    ledger = Ledger(database, outbox=Outbox(outbox_path), batch_limit=500)
    fresh = [_door(2000 + i) for i in range(5)]
    try:
        for event in fresh:
            await ledger.append([event])
        wait_until(lambda: ledger.backlog == 0, what="the outbox to drain")
        ids = [r.id for r in ledger.iter_rows()]
        assert ids == [e.id for e in [*backlog, *fresh]]
        assert ledger.verify().ok
    finally:
        ledger.close()


async def test_a_statement_error_fails_the_append_and_is_not_queued(outbox_path, database):
    ledger = Ledger(database, outbox=Outbox(outbox_path))
    with database.write_engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_head"))
    try:
        with pytest.raises(StorageError, match="head row is missing"):
            await ledger.append([_door(1)])
        assert ledger.backlog == 0
        assert not ledger.database_down
    finally:
        ledger.close()


def test_unreachable_is_told_apart_from_statement_errors(tmp_path):
    down = Database(closed_port_url())
    with pytest.raises(Exception) as refused:
        down.engine.connect()
    down.dispose()
    assert is_unreachable(refused.value)
    assert is_unreachable(StorageUnavailable())

    with pytest.raises(sqlite3.OperationalError) as missing:
        sqlite3.connect(tmp_path / "no-such-dir" / "x.db")
    assert is_unreachable(missing.value)

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    assert "locked" in str(locked.value) and not is_unreachable(locked.value)
    holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        holder.execute("INSERT INTO t VALUES (1)")
    assert not is_unreachable(duplicate.value)
    holder.close()
    waiter.close()

    assert is_unreachable(psycopg.errors.AdminShutdown())  # 57P01: the server is stopping
    assert not is_unreachable(psycopg.errors.QueryCanceled())  # 57014: a statement timeout
    assert not is_unreachable(psycopg.errors.SerializationFailure())
    assert not is_unreachable(psycopg.errors.UniqueViolation())
