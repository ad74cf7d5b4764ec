"""The tamper-evident ledger: an append-only, hash-chained table of security events.

Each row holds the SHA-256 of its canonical content, which includes the hash of
the previous row and its own sequence number, so an edited, deleted, inserted or
reordered row breaks the chain at that row. Appends take the ``ledger_head`` row
lock first (an UPDATE, portable to SQLite and PostgreSQL), so concurrent writers
serialise and the chain stays linear. A single writer thread group-commits the
events queued while the previous commit was running. When the database cannot be
reached, appended events go to a durable local outbox and are drained into the
chain, in order and exactly once, when it answers again.

The chain is keyless and its head lives in the same database, so it cannot tell a
consistent rewrite from the real history; :mod:`bastion.store.anchor` signs checkpoints
of the head and keeps them elsewhere, and its verification catches such rewrites.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import PoolProxiedConnection

from bastion.core.context import Context
from bastion.core.errors import IntegrityError, StorageError, StorageUnavailable
from bastion.core.events import Event, canonical_json, lookup
from bastion.store.base import Base, BigIntPK, UTCDateTime, utcnow
from bastion.store.db import Database, is_unreachable
from bastion.store.outbox import LedgerEntry, Outbox, entry_of

_LOGGER = logging.getLogger(__name__)
GENESIS = "0" * 64


class LedgerRow(Base):
    """One committed security event."""

    __tablename__ = "ledger_events"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(26), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    site: Mapped[str | None] = mapped_column(String(63))
    subject: Mapped[str | None] = mapped_column(String(128))
    device: Mapped[str | None] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    parent_id: Mapped[str | None] = mapped_column(String(26))
    actor: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_ledger_type_time", "type", "time"),
        Index("ix_ledger_subject_time", "subject", "time"),
        Index("ix_ledger_device_time", "device", "time"),
        Index("ix_ledger_context", "context_id"),
        Index("ix_ledger_parent", "parent_id"),
    )


class LedgerHead(Base):
    """The newest sequence number and hash; its row is the append lock."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigIntPK)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _time_text(value: datetime) -> str:
    # Same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ") (a test checks), several times faster.
    return value.replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def row_digest(
    *,
    seq: int,
    prev_hash: str,
    id: str,
    type: str,
    time: datetime,
    site: str | None,
    subject: str | None,
    device: str | None,
    context_id: str,
    parent_id: str | None,
    actor: str,
    payload: str,
) -> str:
    """Return the SHA-256 hex digest of a row's canonical content."""
    content = canonical_json(
        {
            "seq": seq,
            "prev": prev_hash,
            "id": id,
            "type": type,
            "time": _time_text(time),
            "site": site,
            "subject": subject,
            "device": device,
            "ctx": context_id,
            "parent": parent_id,
            "actor": actor,
            "payload": payload,
        }
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _digest_of(row: LedgerRow) -> str:
    return row_digest(
        seq=row.seq,
        prev_hash=row.prev_hash,
        id=row.id,
        type=row.type,
        time=row.time,
        site=row.site,
        subject=row.subject,
        device=row.device,
        context_id=row.context_id,
        parent_id=row.parent_id,
        actor=row.actor,
        payload=row.payload,
    )


@dataclass(frozen=True)
class Verification:
    """Outcome of re-computing the chain."""

    ok: bool
    rows_checked: int
    head_seq: int
    bad_seq: int | None = None
    bad_id: str | None = None
    problem: str = ""

    def describe(self) -> str:
        """Return one line for humans."""
        if self.ok:
            return f"ledger OK: {self.rows_checked} rows, chain intact up to seq {self.head_seq}"
        where = f"row seq {self.bad_seq}" + (f" (id {self.bad_id})" if self.bad_id else "")
        return f"ledger BROKEN at {where}: {self.problem}"


_COLUMNS = (
    "seq",
    "id",
    "type",
    "time",
    "site",
    "subject",
    "device",
    "context_id",
    "parent_id",
    "actor",
    "payload",
    "prev_hash",
    "hash",
)


def _driver_sql(mark: str) -> tuple[str, str, str]:
    """Return the head-lock, insert and head-update statements for a driver's placeholder."""
    marks = ", ".join([mark] * len(_COLUMNS))
    return (
        f"UPDATE ledger_head SET updated_at = {mark} WHERE id = 1 RETURNING seq, hash",
        f"INSERT INTO ledger_events ({', '.join(_COLUMNS)}) VALUES ({marks})",
        f"UPDATE ledger_head SET seq = {mark}, hash = {mark} WHERE id = 1",
    )


_SQLITE_SQL = _driver_sql("?")
_PSYCOPG_SQL = _driver_sql("%s")


def _sqlite_time(value: datetime) -> str:
    """Format a UTC time exactly as SQLAlchemy's SQLite DateTime stores it."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def append_events(session: Session | Connection, events: Sequence[Event[Any]]) -> int:
    """Append ``events`` in order inside the caller's transaction; return the new head seq.

    The head row is locked and read in one statement (``UPDATE … RETURNING``), and the
    rows go in as one multi-row insert, so a batch costs three statements whatever its
    size. They go straight to the DB-API driver: SQLAlchemy's statement handling cost
    about ten times the SQLite work of a small append. Raises StorageUnavailable when
    the database cannot be reached.
    """
    if not events:
        return -1
    if isinstance(session, Session):
        session.flush()  # as an ORM statement would: the domain rows staged so far go first
        conn = session.connection()
    else:
        conn = session
    try:
        return _append_entries(conn, [entry_of(e) for e in events])
    except Exception as exc:
        if is_unreachable(exc):
            raise StorageUnavailable() from exc
        raise


def _append_entries(
    conn: Connection, entries: Sequence[LedgerEntry], *, skip_existing: bool = False
) -> int:
    """Append ``entries`` on ``conn``'s open transaction through a DB-API cursor."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        return _append_with_cursor(
            cursor, entries, sqlite=conn.dialect.name == "sqlite", skip_existing=skip_existing
        )
    finally:
        cursor.close()


def _append_with_cursor(
    cursor: Any, entries: Sequence[LedgerEntry], *, sqlite: bool, skip_existing: bool = False
) -> int:
    """Run the three append statements on a DB-API cursor inside its open transaction.

    With ``skip_existing``, entries whose id is already in the ledger are left out
    (checked under the head lock, so concurrent drains of the same entries agree):
    replaying the outbox after a crash between the commit and the outbox clean-up
    writes each entry once.
    """
    lock_head, insert_rows, set_head = _SQLITE_SQL if sqlite else _PSYCOPG_SQL
    stamp: Any = _sqlite_time if sqlite else (lambda value: value)
    cursor.execute(lock_head, (stamp(utcnow()),))
    head = cursor.fetchone()
    if head is None:
        raise StorageError("ledger head row is missing; the ledger schema is damaged")
    seq, prev = int(head[0]), str(head[1])
    if skip_existing:
        marks = ", ".join(["?" if sqlite else "%s"] * len(entries))
        cursor.execute(
            f"SELECT id FROM ledger_events WHERE id IN ({marks})", [e.id for e in entries]
        )
        present = {str(row[0]) for row in cursor.fetchall()}
        entries = [e for e in entries if e.id not in present]
        if not entries:
            return seq
    rows: list[tuple[Any, ...]] = []
    for entry in entries:
        seq += 1
        digest = row_digest(
            seq=seq,
            prev_hash=prev,
            id=entry.id,
            type=entry.type,
            time=entry.time,
            site=entry.site,
            subject=entry.subject,
            device=entry.device,
            context_id=entry.context_id,
            parent_id=entry.parent_id,
            actor=entry.actor,
            payload=entry.payload,
        )
        rows.append(
            (
                seq,
                entry.id,
                entry.type,
                stamp(entry.time),
                entry.site,
                entry.subject,
                entry.device,
                entry.context_id,
                entry.parent_id,
                entry.actor,
                entry.payload,
                prev,
                digest,
            )
        )
        prev = digest
    if len(rows) == 1:
        cursor.execute(insert_rows, rows[0])
    else:
        cursor.executemany(insert_rows, rows)
    cursor.execute(set_head, (seq, prev))
    return seq


STAGED_KEY = "bastion_staged_events"


def stage(session: Session, *events: Event[Any]) -> None:
    """Append ``events`` to the ledger in the caller's transaction and remember them.

    The unit of work that commits the session hands them to the bus afterwards,
    so a domain change and its ledger rows commit (or roll back) together.
    """
    append_events(session, events)
    session.info.setdefault(STAGED_KEY, []).extend(events)


def take_staged(session: Session) -> list[Event[Any]]:
    """Remove and return the events staged in ``session``."""
    staged: list[Event[Any]] = session.info.pop(STAGED_KEY, [])
    return staged


def row_to_event(row: LedgerRow) -> Event[Any]:
    """Rebuild the typed event stored in ``row``."""
    event_type = lookup(row.type)
    payload = event_type.payload.model_validate(json.loads(row.payload))
    return Event(
        type=event_type,
        payload=payload,
        context=Context(actor=row.actor, parent_id=row.parent_id, id=row.context_id),
        time=row.time,
        site=row.site,
        id=row.id,
    )


@dataclass
class _Pending:
    events: Sequence[Event[Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class _Link:
    """A writer's own connection, opened on demand and dropped after a failure."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: Connection | None = None

    def get(self) -> Connection:
        if self.conn is None:
            self.conn = self.db.write_engine.connect()
        return self.conn

    def discard(self) -> None:
        """Throw the connection away (it may be dead); the next ``get`` opens a new one."""
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class Ledger:
    """Append, query and verify the ledger of one database.

    ``append`` is the bus's :class:`~bastion.core.bus.EventSink`: it returns once
    the events are durable. On SQLite the events published in one turn of the event
    loop are committed together, in the loop, right after that turn: a local commit
    costs less than waking a thread and being woken back, which dominated the alarm
    path. If another writer holds the database, or on PostgreSQL (a network round
    trip must not stall the loop), one writer thread commits everything queued since
    its last commit in a single transaction. Appends keep their order either way.

    With an ``outbox``, an append that finds the database unreachable is written to
    the outbox instead and counts as durable; while the outbox holds anything, later
    appends queue behind it. A drainer thread retries with back-off and moves the
    entries into the chain, oldest first, each exactly once; an outbox left non-empty
    by an earlier run is drained as soon as the ledger is created, before anything
    new. Events staged in a domain transaction (:func:`stage`) commit with it and
    never go to the outbox: when the database is down that transaction fails.
    """

    def __init__(
        self,
        db: Database,
        *,
        batch_limit: int = 500,
        inline: bool | None = None,
        checkpoint_s: float = 1.0,
        outbox: Outbox | None = None,
        retry_s: float = 0.5,
        retry_max_s: float = 5.0,
    ) -> None:
        self.db = db
        self.checkpoint_s = checkpoint_s
        self._checkpoint_stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self.batch_limit = batch_limit
        self.inline = db.is_sqlite if inline is None else inline
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_thread = 0  # appends handed to the writer thread and not yet committed
        self._pending: list[_Pending] = []
        self._flush_scheduled = False
        self._inline_conn: PoolProxiedConnection | None = None
        self._inline_cursor_: Any = None
        self._inline_owner: int | None = None
        # Told how many events each commit made durable (the checkpoint anchor counts them).
        self.on_commit: Callable[[int], None] | None = None
        self.outbox = outbox
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self.database_down = False
        self._drainer: threading.Thread | None = None
        self._drain_wake = threading.Event()
        self._drain_stop = threading.Event()
        if outbox is not None and outbox.pending:
            self._start_drainer()

    @property
    def backlog(self) -> int:
        """Return how many entries wait in the outbox for the database."""
        return self.outbox.pending if self.outbox is not None else 0

    # -- writing ------------------------------------------------------------------------------

    def append_sync(self, events: Sequence[Event[Any]]) -> int:
        """Append and commit ``events`` now, from any thread; return the new head seq."""
        with self.db.write_engine.begin() as conn:
            seq = append_events(conn, events)
        self._committed(len(events))
        return seq

    def _committed(self, count: int) -> None:
        hook = self.on_commit
        if hook is not None:
            hook(count)

    async def append(self, events: Sequence[Event[Any]]) -> None:
        """Make ``events`` durable (this loop turn's batch, the writer thread or the outbox)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        item = _Pending(events, loop, future)
        owner = self._inline_owner
        if self.inline and (owner is None or owner == threading.get_ident()):
            self._inline_owner = threading.get_ident()
            self._pending.append(item)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush_inline)
        else:
            self._to_thread([item])
        await future

    def _to_thread(self, items: list[_Pending]) -> None:
        self._ensure_writer()
        with self._lock:
            self._in_thread += len(items)
        for item in items:
            self._queue.put(item)

    def _flush_inline(self) -> None:
        """Commit this loop turn's appends in the loop; hand them over when that cannot be quick."""
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        with self._lock:
            busy_thread = self._in_thread > 0
        if busy_thread or self.backlog:  # earlier appends are not in yet: stay behind them
            self._to_thread(batch)
            return
        events = [e for item in batch for e in item.events]
        try:
            cursor = self._inline_cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if self.outbox is not None and is_unreachable(exc):
                    raise
                # Another writer holds the database: never wait in the loop.
                self._to_thread(batch)
                return
            try:
                _append_with_cursor(cursor, [entry_of(e) for e in events], sqlite=True)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        except Exception as exc:
            if self.outbox is not None and is_unreachable(exc):
                self._to_thread(batch)  # the writer thread puts them in the outbox
                return
            self._fail_all(batch, exc)
            return
        self._committed(len(events))
        for item in batch:
            _succeed(item.future)

    def _inline_cursor(self) -> Any:
        """Return a cursor on the loop's own SQLite connection (pragmas as every connection)."""
        if self._inline_conn is None:
            self._inline_conn = self.db.engine.raw_connection()
            self._inline_cursor_ = self._inline_conn.driver_connection.cursor()  # type: ignore[union-attr]
            self._inline_cursor_.execute("PRAGMA busy_timeout=0")  # busy → hand over, never block
            # A checkpoint copies the WAL into the database and syncs it: milliseconds that
            # must not land on an alarm. The checkpoint thread does it instead.
            self._inline_cursor_.execute("PRAGMA wal_autocheckpoint=0")
            self._start_checkpointer()
        return self._inline_cursor_

    def _start_checkpointer(self) -> None:
        with self._lock:
            if self._checkpointer is None or not self._checkpointer.is_alive():
                self._checkpoint_stop.clear()
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="ledger-checkpoint", daemon=True
                )
                self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Move the WAL into the database now and then, off the event loop (PASSIVE: no waits)."""
        conn = self.db.engine.raw_connection()
        try:
            while not self._checkpoint_stop.wait(self.checkpoint_s):
                try:
                    conn.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                except sqlite3.Error as exc:
                    _LOGGER.warning("ledger WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    @staticmethod
    def _fail_all(batch: list[_Pending], exc: Exception) -> None:
        _LOGGER.exception("ledger commit of %d item(s) failed", len(batch), exc_info=exc)
        for item in batch:
            _fail(item.future, exc)

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._write_loop, name="ledger-writer", daemon=True
                )
                self._thread.start()

    def _write_loop(self) -> None:
        # One long-lived connection: the writer is the only user of it.
        link = _Link(self.db)
        try:
            self._drain_queue(link)
        finally:
            link.close()

    def _drain_queue(self, link: _Link) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            count = len(first.events)
            while count < self.batch_limit:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                count += len(item.events)
            self._commit(link, batch)
            if stop:
                return

    def _commit(self, link: _Link, batch: list[_Pending]) -> None:
        try:
            self._write(link, [entry_of(e) for item in batch for e in item.events])
        except Exception as exc:
            _LOGGER.exception("ledger commit of %d item(s) failed", len(batch))
            for item in batch:
                item.loop.call_soon_threadsafe(_fail, item.future, exc)
            return
        finally:
            with self._lock:
                self._in_thread -= len(batch)
        for item in batch:
            item.loop.call_soon_threadsafe(_succeed, item.future)

    def _write(self, link: _Link, entries: list[LedgerEntry]) -> None:
        """Commit ``entries``; with an outbox, queue them there when they cannot go in now.

        Direct commits happen only while the outbox is empty, and the drainer empties
        it only after committing, so the chain keeps the order of the appends.
        """
        if self.outbox is None or not self.outbox.pending:
            try:
                conn = link.get()
                with conn.begin():
                    _append_entries(conn, entries)
                self.database_down = False
                self._committed(len(entries))
                return
            except Exception as exc:
                link.discard()
                if self.outbox is None or not is_unreachable(exc):
                    raise
                self._note_down(exc)
        self.outbox.put(entries)
        self._start_drainer()

    def _note_down(self, exc: BaseException) -> None:
        if not self.database_down:
            _LOGGER.warning(
                "the database is unreachable (%s); ledger entries wait in the local outbox",
                _first_line(exc),
            )
        self.database_down = True

    # -- the outbox drainer -------------------------------------------------------------------

    def _start_drainer(self) -> None:
        with self._lock:
            if self._drainer is None or not self._drainer.is_alive():
                self._drain_stop.clear()
                self._drainer = threading.Thread(
                    target=self._drain_loop, name="ledger-outbox", daemon=True
                )
                self._drainer.start()
        self._drain_wake.set()

    def _drain_loop(self) -> None:
        """Move the outbox into the chain; after a failure wait, doubling up to ``retry_max_s``."""
        link = _Link(self.db)
        delay = self.retry_s
        try:
            while not self._drain_stop.is_set():
                self._drain_wake.clear()
                if self._drain(link):
                    delay = self.retry_s
                    self._drain_wake.wait()
                else:
                    self._drain_stop.wait(delay)
                    delay = min(delay * 2, self.retry_max_s)
        finally:
            link.close()

    def drain_outbox(self) -> bool:
        """Write the outbox into the chain now, oldest first; return True once it is empty."""
        link = _Link(self.db)
        try:
            return self._drain(link)
        finally:
            link.close()

    def _drain(self, link: _Link) -> bool:
        """Write the outbox into the chain on ``link``; return False when the database refused.

        Safe to run from several threads or processes at once: each batch is checked
        against the ledger under the head lock before it is written.
        """
        while self.outbox is not None:
            queued = self.outbox.oldest(self.batch_limit)
            if not queued:
                break
            try:
                conn = link.get()
                with conn.begin():
                    _append_entries(conn, [e for _, e in queued], skip_existing=True)
            except Exception as exc:
                link.discard()
                if is_unreachable(exc):
                    self._note_down(exc)
                else:
                    _LOGGER.exception("writing the ledger outbox failed; retrying later")
                return False
            self.outbox.remove_through(queued[-1][0])
            self._committed(len(queued))
            if self.database_down:
                _LOGGER.warning("the database answers again; writing the ledger outbox")
                self.database_down = False
        return True

    def close(self) -> None:
        """Stop the writer thread after it has committed (or queued) what it holds."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)
        self._drain_stop.set()
        self._drain_wake.set()
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.join(timeout=30)
        if self.outbox is not None:
            self.outbox.close()
        self._checkpoint_stop.set()
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.join(timeout=30)
        conn, self._inline_conn, self._inline_owner = self._inline_conn, None, None
        if conn is not None:
            conn.invalidate()  # its busy_timeout=0 must not go back to the pool

    # -- reading ------------------------------------------------------------------------------

    def query(
        self,
        *,
        types: Sequence[str] | None = None,
        subject: str | None = None,
        device: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
        sites: Collection[str] | None = None,
        site_less: bool = False,
    ) -> list[LedgerRow]:
        """Return rows matching every given filter.

        ``sites`` keeps only rows of those sites (and, with ``site_less``, rows of no site).
        """
        stmt = select(LedgerRow)
        if sites is not None:
            mine = LedgerRow.site.in_(sorted(sites))
            stmt = stmt.where(mine | LedgerRow.site.is_(None) if site_less else mine)
        if types:
            stmt = stmt.where(LedgerRow.type.in_(list(types)))
        if subject is not None:
            stmt = stmt.where(LedgerRow.subject == subject)
        if device is not None:
            stmt = stmt.where(LedgerRow.device == device)
        if since is not None:
            stmt = stmt.where(LedgerRow.time >= since)
        if until is not None:
            stmt = stmt.where(LedgerRow.time < until)
        if after_seq is not None:
            stmt = stmt.where(LedgerRow.seq > after_seq)
        stmt = stmt.order_by(LedgerRow.seq.desc() if newest_first else LedgerRow.seq.asc())
        with self.db.sessions() as session:
            return list(session.execute(stmt.limit(limit)).scalars())

    def count(self) -> int:
        """Return the number of rows."""
        with self.db.sessions() as session:
            return int(session.execute(select(func.count()).select_from(LedgerRow)).scalar_one())

    def iter_rows(self, *, chunk: int = 2000) -> Iterator[LedgerRow]:
        """Yield every row in sequence order, reading in chunks."""
        last = 0
        while True:
            with self.db.sessions() as session:
                rows = list(
                    session.execute(
                        select(LedgerRow)
                        .where(LedgerRow.seq > last)
                        .order_by(LedgerRow.seq)
                        .limit(chunk)
                    ).scalars()
                )
            if not rows:
                return
            yield from rows
            last = rows[-1].seq

    def verify(self) -> Verification:
        """Recompute the chain and report the first row that was changed, removed or moved."""
        expected_seq, prev, checked = 1, GENESIS, 0
        for row in self.iter_rows():
            if row.seq != expected_seq:
                problem = (
                    f"row(s) {expected_seq}..{row.seq - 1} are missing (deleted)"
                    if row.seq > expected_seq
                    else "sequence number out of order"
                )
                return Verification(False, checked, expected_seq - 1, row.seq, row.id, problem)
            if row.prev_hash != prev:
                return Verification(
                    False,
                    checked,
                    expected_seq - 1,
                    row.seq,
                    row.id,
                    "previous-hash link does not match the row before it (row removed, "
                    "inserted or swapped)",
                )
            if _digest_of(row) != row.hash:
                return Verification(
                    False, checked, expected_seq - 1, row.seq, row.id, "content was changed"
                )
            prev, checked, expected_seq = row.hash, checked + 1, expected_seq + 1
        with self.db.sessions() as session:
            head = session.execute(
                select(LedgerHead).where(LedgerHead.id == 1)
            ).scalar_one_or_none()
        if head is None:
            return Verification(False, checked, checked, None, None, "ledger head row is missing")
        if head.seq != checked or head.hash != prev:
            return Verification(
                False,
                checked,
                checked,
                checked + 1,
                None,
                f"the head records {head.seq} rows but the chain ends at {checked} "
                "(rows at the end were deleted, or the head was edited)",
            )
        return Verification(True, checked, checked)

    def verify_or_raise(self) -> Verification:
        """Verify and raise IntegrityError when the chain is broken."""
        result = self.verify()
        if not result.ok:
            raise IntegrityError(result.describe())
        return result


def _first_line(exc: BaseException) -> str:
    """Return the first line of an error's text (driver messages run over several lines)."""
    cause = exc.__cause__ if isinstance(exc, StorageUnavailable) and exc.__cause__ else exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


def _succeed(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
