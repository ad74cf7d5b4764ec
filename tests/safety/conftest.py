"""Fixtures for the safety tests: the app with the safety router, a real SMTP server, helpers."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import text

from bastion.api.deps import iter_routes
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.notify.runtime import NotifyRuntime
from bastion.safety.api import router as safety_router
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger

ACTOR = Context(actor="test")


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    """Return the full application with the safety router mounted (once)."""
    from bastion.api.app import create_app

    application = create_app(hub)
    mounted = any(
        getattr(route, "path", "").startswith("/api/safety/") for route in iter_routes(application)
    )
    if not mounted:
        application.include_router(safety_router)
    return application


def free_port() -> int:
    """Return a TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    """A local SMTP server that keeps every message."""

    port: int
    messages: list[tuple[list[str], str]] = field(default_factory=list)

    def url(self, to: str) -> str:
        """Return the Apprise URL sending to ``to`` through this server."""
        return (
            f"mailto://127.0.0.1:{self.port}?from=bastion@example.org&to={to}&mode=insecure&cto=5"
        )

    def to(self, address: str) -> list[str]:
        """Return the contents of the messages sent to ``address``."""
        return [content for rcpts, content in self.messages if address in rcpts]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = envelope.content
        body = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        self.server.messages.append((list(envelope.rcpt_tos), body))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on 127.0.0.1 (random free port)."""
    server = SmtpServer(port=free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
async def safety_hub(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Hub]:
    """Return a hub on the test database; stop runtimes, bus and ledger afterwards."""
    ledger = Ledger(database)
    bus = Bus(clock=clock, sink=ledger)
    hub = Hub(
        settings=Settings(data_dir=tmp_path), db=database, ledger=ledger, bus=bus, clock=clock
    )
    yield hub
    safety = hub.extras.get("safety")
    if safety is not None:
        await safety.stop()
    runtime = hub.extras.get("notify")
    if isinstance(runtime, NotifyRuntime):
        await runtime.stop()
    await bus.close()
    ledger.close()


def ledger_payloads(hub: Hub, event_type: str) -> list[dict[str, Any]]:
    """Return the payloads of the ledger rows of ``event_type``, oldest first."""
    rows = hub.ledger.query(types=[event_type], limit=10_000, newest_first=False)
    return [json.loads(r.payload) for r in rows]


def raw_rows(database: Database, sql: str) -> list[str]:
    """Return every column of every row of ``sql`` as text, as stored."""
    with database.engine.connect() as conn:
        return [str(value) for row in conn.execute(text(sql)) for value in row]
