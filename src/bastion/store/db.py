"""Engine, session factory, unit of work and schema migrations."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bastion.core.errors import StorageError, StorageUnavailable
from bastion.store.files import secure_sqlite_files

_LOGGER = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WRITE_OPTION = "bastion_write"


# PostgreSQL error classes meaning "the server is not there": connection exception,
# insufficient resources (too many connections, disk full) and operator intervention
# (shutdown, crash recovery, cannot connect now) except a cancelled statement.
_UNREACHABLE_SQLSTATE_CLASSES = ("08", "53", "57P")
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def is_unreachable(exc: BaseException) -> bool:
    """Return True when ``exc`` means the database cannot be reached, not that a statement failed.

    Integrity, programming and data errors are the caller's to handle; lost and refused
    connections are what the ledger outbox and the 503 answers are for.
    """
    if isinstance(exc, StorageUnavailable):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and is_unreachable(exc.orig)
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_SQLITE_UNREACHABLE)
    psycopg = sys.modules.get("psycopg")  # its errors exist only once the driver is loaded
    if psycopg is None:
        return False
    if isinstance(exc, psycopg.InterfaceError):
        return True  # "the connection is closed"
    if isinstance(exc, psycopg.OperationalError):
        sqlstate = getattr(exc, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith(_UNREACHABLE_SQLSTATE_CLASSES)
    return False


def _tune_sqlite(engine: Engine) -> None:
    """Use WAL, enforce foreign keys and let SQLAlchemy own transaction boundaries."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of the process; a power cut may lose the
        # last commits but never corrupts the file or the chain. Use PostgreSQL for more.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Units of work take the write lock up front (waiting up to busy_timeout): a
        # deferred transaction that reads and later writes fails at once with "database
        # is locked" when another connection committed in between. Read-only sessions
        # stay deferred, so they never wait for writers (WAL) and can nest inside a
        # unit of work without deadlocking on it.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One database: engine, sessions and migrations."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(f"invalid database URL: {exc}") from None
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                parent = Path(database).parent
                if not parent.exists():
                    raise StorageError(f"data directory {parent} does not exist")
                secure_sqlite_files(Path(database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": 5}
        try:
            self.engine = create_engine(parsed, **kwargs)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise StorageError(
                f"cannot use database URL {parsed.render_as_string()}: {exc}"
            ) from None
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """Return the URL with any password hidden, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    def check(self) -> None:
        """Raise StorageError with a one-line reason when the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            verb = "does not answer" if self.is_sqlite is False else "cannot be opened"
            raise StorageError(f"database {self.safe_url} {verb}: {reason}") from None

    def alembic_config(self) -> Config:
        """Return an Alembic config bound to this database."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.render_as_string(hide_password=False))
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest revision; nothing is left half-applied on failure."""
        self.check()
        cfg = self.alembic_config()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StorageError(f"migrating {self.safe_url} failed: {exc}") from None

    def require_schema(self) -> None:
        """Raise StorageError unless the schema exists and is at the newest revision."""
        self.check()
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                tables = set(inspect(conn).get_table_names())
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StorageError(f"database {self.safe_url} cannot be read: {reason}") from None
        if current is None or "ledger_events" not in tables:
            raise StorageError(
                f"database {self.safe_url} is empty or not a Bastion database; run 'bastion init'"
            )
        if current != head:
            raise StorageError(
                f"database {self.safe_url} is at revision {current}, expected {head}; "
                "run 'bastion init' to migrate"
            )

    def write_session(self) -> Session:
        """Return a session that holds the write lock from its first statement (SQLite).

        For callers that own the commit themselves (the request dependency): a
        deferred transaction that reads and then writes fails with "database is
        locked" as soon as another connection commits in between.
        """
        return self._write_sessions()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Yield a session and commit it on success, roll it back on error.

        The only place (with the request dependency) that commits. On SQLite it holds
        the write lock from its first statement.
        """
        session = self.write_session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
