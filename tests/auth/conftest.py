"""Fixtures for the auth suites: a hub on the test database and an account factory."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient as TestClient

from bastion.auth import service
from bastion.auth.permissions import Grant, Role, requires_mfa
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger

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
            user = service.create_user(
                session=session,
                username=username,
                password=password,
                grants=[Grant(r, site_id) for r in roles],
                clock=clock,
                context=Context(actor="test"),
            )
            secret = None
            wants_totp = totp if totp is not None else requires_mfa(service.grants_of(user))
            if wants_totp:
                secret = service.enrol_totp(
                    session=session, user=user, clock=clock, context=Context(actor="test")
                ).secret
            return Account(user.id, user.username, password, secret)

    return make


def _present(module: str) -> bool:
    """Return True when the package holding ``module`` exists in this build."""
    parent = module.rpartition(".")[0]
    try:
        return importlib.util.find_spec(parent) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    """Return the full application for ``hub``."""
    from bastion.api.app import create_app

    return create_app(hub)
