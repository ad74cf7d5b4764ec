"""Shared fixtures: databases (SQLite by default, PostgreSQL on request), clocks, key ring.

Set ``BASTION_TEST_DATABASE_URL`` to a PostgreSQL server URL (any database on it) to
run the database-backed suites there: each test gets a fresh database cloned from a
migrated template. ``BASTION_REQUIRE_SERVICES=1`` turns "service missing" into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from ulid import ULID

from bastion.core.clock import FrozenClock
from bastion.store import crypto
from bastion.store.db import Database

PG_URL = os.environ.get("BASTION_TEST_DATABASE_URL", "")
REQUIRE_SERVICES = os.environ.get("BASTION_REQUIRE_SERVICES", "") == "1"


def service_missing(reason: str) -> None:
    """Skip, or fail when CI says services must be present."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def keyring() -> crypto.KeyRing:
    """Install a fresh test key ring for encrypted columns."""
    ring = crypto.KeyRing([b"k" * 32])
    crypto.configure(ring)
    return ring


@pytest.fixture
def clock() -> FrozenClock:
    """Return a frozen clock at a fixed Saturday afternoon in 2026 (UTC)."""
    return FrozenClock(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))


class _PostgresTemplates:
    """Create one migrated template database per session; clone it per test."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.template = f"bastion_tpl_{str(ULID()).lower()}"
        self.created: list[str] = []
        self.ready = False

    def _exec(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def new_database(self) -> str:
        if not self.ready:
            self._exec(f'CREATE DATABASE "{self.template}"')
            db = Database(self.base.set(database=self.template).render_as_string(False))
            db.migrate()
            db.dispose()
            self.ready = True
        name = f"bastion_t_{str(ULID()).lower()}"
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.base.set(database=name).render_as_string(False)

    def drop(self, name_url: str) -> None:
        name = make_url(name_url).database
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.ready:
            self._exec(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_templates() -> Iterator[_PostgresTemplates | None]:
    if not PG_URL:
        yield None
        return
    templates = _PostgresTemplates(PG_URL)
    try:
        with templates.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        templates.admin.dispose()
        if REQUIRE_SERVICES:
            raise RuntimeError(f"PostgreSQL at {PG_URL} does not answer: {exc}") from exc
        yield None
        return
    yield templates
    templates.close()


@pytest.fixture
def database(tmp_path: Path, _pg_templates: _PostgresTemplates | None) -> Iterator[Database]:
    """Return a migrated, empty database: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if PG_URL and _pg_templates is None:
        service_missing(f"PostgreSQL at {PG_URL} does not answer")
    if _pg_templates is not None:
        url = _pg_templates.new_database()
        db = Database(url)
        yield db
        db.dispose()
        _pg_templates.drop(url)
        return
    db = Database(f"sqlite:///{tmp_path / 'bastion.db'}")
    db.migrate()
    yield db
    db.dispose()
