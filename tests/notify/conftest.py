"""Fixtures for the notification tests: a real local SMTP server, a webhook receiver, a hub.

Nothing here mocks Apprise: messages cross real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.notify import service
from bastion.notify.runtime import NotifyRuntime, start_notify
from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger

BASE_URL = "https://bastion.test"


def free_port() -> int:
    """Return a TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    content: str


@dataclass
class SmtpServer:
    port: int
    messages: list[Mail] = field(default_factory=list)

    def url(self, to: str) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=bastion@example.org&to={to}&mode=insecure&cto=5"
        )

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages if address in m.recipients]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = envelope.content
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        self.server.messages.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), text))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on 127.0.0.1 (random free port) that keeps every message."""
    server = SmtpServer(port=free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def url(self, path: str = "/hook/s3cr3t-t0ken") -> str:
        return f"json://127.0.0.1:{self.port}{path}"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """Run a tiny HTTP server on 127.0.0.1 that records every JSON post."""
    receiver = WebhookReceiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            receiver.posts.append(json.loads(self.rfile.read(length) or b"{}"))
            receiver.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_url() -> str:
    """Return a webhook URL on a port where nothing listens."""
    return f"json://127.0.0.1:{free_port()}/hook/nobody-home"


@pytest.fixture
async def notify_hub(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Hub]:
    """Return a hub on the test database; close the bus and ledger afterwards."""
    ledger = Ledger(database)
    bus = Bus(clock=clock, sink=ledger)
    hub = Hub(
        settings=Settings(data_dir=tmp_path), db=database, ledger=ledger, bus=bus, clock=clock
    )
    yield hub
    runtime = hub.extras.get("notify")
    if isinstance(runtime, NotifyRuntime):
        await runtime.stop()
    await bus.close()
    ledger.close()


@pytest.fixture
async def runtime(notify_hub: Hub) -> NotifyRuntime:
    """Start the notification runtime without its ticker (tests tick by hand)."""
    return await start_notify(notify_hub, base_url=BASE_URL, tick_s=None, resume=False)


ACTOR = Context(actor="test")


@pytest.fixture
def add_contact(notify_hub: Hub, clock: FrozenClock) -> Callable[..., str]:
    """Return a factory creating a contact (channels as (kind, url) pairs); gives its id."""

    def make(name: str, *channels: tuple[str, str], **fields: Any) -> str:
        rate = fields.pop("rate_limit", 10)
        data = ContactCreate(
            name=name,
            channels=[ChannelIn(kind=k, url=u, rate_limit=rate) for k, u in channels],  # type: ignore[arg-type]
            **fields,
        )
        with notify_hub.unit_of_work() as session:
            return service.create_contact(
                session=session, data=data, context=ACTOR, now=clock.now()
            ).id

    return make


@pytest.fixture
def add_tree(notify_hub: Hub, clock: FrozenClock) -> Callable[..., str]:
    """Return a factory creating a call tree from tiers of contact ids; gives its id."""

    def make(name: str, *tiers: list[str], timeout_s: int = 60) -> str:
        data = CallTreeCreate(
            name=name, tiers=[TierIn(contacts=t, ack_timeout_s=timeout_s) for t in tiers]
        )
        with notify_hub.unit_of_work() as session:
            return service.create_tree(
                session=session, data=data, context=ACTOR, now=clock.now()
            ).id

    return make


@pytest.fixture
def load_templates(notify_hub: Hub, clock: FrozenClock) -> None:
    """Load the shipped scenario templates."""
    with notify_hub.unit_of_work() as session:
        service.load_default_templates(session=session, context=ACTOR, now=clock.now())


def ledger_events(hub: Hub, prefix: str = "notify.") -> list[Any]:
    """Return the ledger rows whose type starts with ``prefix``, oldest first."""
    rows = hub.ledger.query(limit=10_000, newest_first=False)
    return [r for r in rows if r.type.startswith(prefix)]
