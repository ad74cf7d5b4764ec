"""A durable local queue for ledger entries that could not reach the database.

When the database is unreachable the ledger writes its entries here instead (a SQLite
file in the data directory, owner-only, each write synced to disk before it returns),
in the order they were appended, and drains them into the ledger, oldest first, once
the database answers again. The file is created only when it is first needed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from bastion.core.events import Event
from bastion.store.files import secure_dir, secure_sqlite_files

OUTBOX_FILE = "ledger-outbox.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    site TEXT,
    subject TEXT,
    device TEXT,
    context_id TEXT NOT NULL,
    parent_id TEXT,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""
_FIELDS = "id, type, time, site, subject, device, context_id, parent_id, actor, payload"


class LedgerEntry(NamedTuple):
    """The content of one ledger row before it is chained (no sequence number or hashes)."""

    id: str
    type: str
    time: datetime
    site: str | None
    subject: str | None
    device: str | None
    context_id: str
    parent_id: str | None
    actor: str
    payload: str


def entry_of(event: Event[Any]) -> LedgerEntry:
    """Return the ledger content of ``event``."""
    context = event.context
    return LedgerEntry(
        event.id,
        event.type.name,
        event.time,
        event.site,
        event.subject,
        event.device,
        context.id,
        context.parent_id,
        context.actor,
        event.payload_json(),
    )


class Outbox:
    """Ledger entries waiting for the database, oldest first; safe to use from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pending = 0
        if path.exists():
            with self._lock:
                self._pending = self._count(self._open())

    @property
    def pending(self) -> int:
        """Return how many entries wait for the database."""
        return self._pending

    def put(self, entries: Sequence[LedgerEntry]) -> None:
        """Queue ``entries`` behind those already waiting; return once they are on disk.

        An entry whose id is already queued is kept once.
        """
        if not entries:
            return
        rows = [(*e[:2], e.time.isoformat(), *e[3:]) for e in entries]
        with self._lock:
            conn = self._open()
            with conn:
                conn.executemany(
                    f"INSERT OR IGNORE INTO outbox ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            self._pending = self._count(conn)

    def oldest(self, limit: int) -> list[tuple[int, LedgerEntry]]:
        """Return up to ``limit`` of the oldest entries with their positions."""
        with self._lock:
            if self._pending == 0:
                return []
            found = self._open().execute(
                f"SELECT position, {_FIELDS} FROM outbox ORDER BY position LIMIT ?", (limit,)
            )
            return [
                (row[0], LedgerEntry(row[1], row[2], datetime.fromisoformat(row[3]), *row[4:]))
                for row in found
            ]

    def remove_through(self, position: int) -> None:
        """Forget every entry up to and including ``position`` (they are in the ledger now)."""
        with self._lock:
            conn = self._open()
            with conn:
                conn.execute("DELETE FROM outbox WHERE position <= ?", (position,))
            self._pending = self._count(conn)

    def close(self) -> None:
        """Close the file; entries still waiting stay in it for the next start."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        """Open (creating it owner-only when missing) the outbox file; hold ``_lock``."""
        if self._conn is None:
            secure_dir(self.path.parent, create=True)
            secure_sqlite_files(self.path)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a queued record survives a power cut
            conn.execute(_SCHEMA)
            conn.isolation_level = "DEFERRED"
            self._conn = conn
        return self._conn

    @staticmethod
    def _count(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
