"""Shared fixtures: databases (SQLite by default, PostgreSQL on request), clocks, key ring.

Set ``BASTION_TEST_DATABASE_URL`` to a PostgreSQL server URL (any database on it) to
run the database-backed suites there: each test gets a fresh database cloned from a
migrated template. ``BASTION_REQUIRE_SERVICES=1`` turns "service missing" into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from ulid import ULID

from bastion.auth import service as auth_service
from bastion.auth.permissions import Grant, Role, requires_mfa
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site
from bastion.store import crypto
from bastion.store.db import Database
from bastion.store.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PG_URL = os.environ.get("BASTION_TEST_DATABASE_URL", "")
REQUIRE_SERVICES = os.environ.get("BASTION_REQUIRE_SERVICES", "") == "1"


def service_missing(reason: str) -> None:
    """Skip, or fail when CI says services must be present."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _checkpoint_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep signed ledger checkpoints written by tests out of the user's state directory."""
    store = tmp_path_factory.mktemp("checkpoint-store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BASTION_CHECKPOINT_DIR", str(store))
        yield store


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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per session; each test gets a copy (a migration costs ~1 s)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "bastion.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def database(
    tmp_path: Path, _pg_templates: _PostgresTemplates | None, _sqlite_template: Path
) -> Iterator[Database]:
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
    path = tmp_path / "bastion.db"
    shutil.copyfile(_sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


# --- hub, app and accounts (shared by every API-level suite) ---------------------------

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A test account and its secrets."""

    id: int
    username: str
    password: str
    totp_secret: str | None

    def code(self, clock: FrozenClock, *, offset_steps: int = 0) -> str:
        assert self.totp_secret is not None
        totp = pyotp.TOTP(self.totp_secret)
        return totp.generate_otp(totp.timecode(clock.now()) + offset_steps)


@pytest.fixture
def ledger(database: Database) -> Iterator[Ledger]:
    led = Ledger(database)
    yield led
    led.close()


@pytest.fixture
def hub(tmp_path: Path, database: Database, ledger: Ledger, clock: FrozenClock) -> Hub:
    return Hub(
        settings=Settings(data_dir=tmp_path, session_idle_minutes=15, session_max_hours=12),
        db=database,
        ledger=ledger,
        bus=Bus(sink=ledger, clock=clock),
        clock=clock,
    )


MakeAccount = Callable[..., Account]


@pytest.fixture
def make_account(database: Database, clock: FrozenClock) -> MakeAccount:
    def make(
        username: str,
        *roles: Role,
        site_id: str | None = None,
        totp: bool | None = None,
        password: str = PASSWORD,
    ) -> Account:
        with database.unit_of_work() as session:
            user = auth_service.create_user(
                session=session,
                username=username,
                password=password,
                grants=[Grant(r, site_id) for r in roles],
                clock=clock,
                context=Context(actor="test"),
            )
            secret = None
            wants_totp = totp if totp is not None else requires_mfa(auth_service.grants_of(user))
            if wants_totp:
                secret = auth_service.enrol_totp(
                    session=session, user=user, clock=clock, context=Context(actor="test")
                ).secret
            return Account(user.id, user.username, password, secret)

    return make


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    """Return the full application for ``hub``."""
    from bastion.api.app import create_app

    return create_app(hub)


@pytest.fixture(scope="session")
def dispensary() -> Site:
    """Return the example dispensary site model."""
    return load_site_file(EXAMPLES / "dispensary.yaml")


@pytest.fixture
def site_hub(hub: Hub, dispensary: Site) -> Hub:
    """Return the hub with the example dispensary loaded."""
    hub.extras["sites"] = {dispensary.site.id: dispensary}
    return hub


def add_call_tree(hub: Hub, name: str, *addresses: tuple[str, str], now: datetime) -> str:
    """Create a one-tier call tree of e-mail contacts (name, Apprise URL); return its id."""
    from bastion.notify import service as notify_service
    from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn

    actor = Context(actor="test")
    with hub.unit_of_work() as session:
        ids = [
            notify_service.create_contact(
                session=session,
                data=ContactCreate(name=contact, channels=[ChannelIn(kind="email", url=url)]),
                context=actor,
                now=now,
            ).id
            for contact, url in addresses
        ]
        return notify_service.create_tree(
            session=session,
            data=CallTreeCreate(name=name, tiers=[TierIn(contacts=ids)]),
            context=actor,
            now=now,
        ).id


@pytest.fixture
def lone_worker_tree(site_hub: Hub, clock: FrozenClock) -> str:
    """Create the dispensary's safety call tree ('lone-worker': one supervisor); return its id."""
    url = "mailto://127.0.0.1:9?from=bastion@example.org&to=sup@example.org&mode=insecure"
    return add_call_tree(site_hub, "lone-worker", ("Supervisor", url), now=clock.now())


ClientFor = Callable[..., TestClient]


@pytest.fixture
def client_for(app: FastAPI, make_account: MakeAccount, clock: FrozenClock) -> Iterator[ClientFor]:
    """Return a factory of signed-in test clients, one per role, with the CSRF header set."""
    clients: list[TestClient] = []

    def make(role: Role, *, site_id: str | None = None) -> TestClient:
        account = make_account(f"{role.value}-{len(clients)}", role, site_id=site_id)
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        totp = account.code(clock) if account.totp_secret else None
        response = client.post(
            "/api/auth/login",
            json={"username": account.username, "password": account.password, "totp": totp},
        )
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
