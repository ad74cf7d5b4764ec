"""The hub: one running Bastion node's shared services (settings, database, ledger, bus, clock).

API routes, the CLI, integrations and background workers all reach the domains
through the hub; it is created once per process by :func:`open_hub`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.core.bus import Bus
from bastion.core.clock import SYSTEM_CLOCK, Clock
from bastion.core.events import Event
from bastion.core.ports import AccessDecider
from bastion.settings import Settings
from bastion.store import crypto
from bastion.store.anchor import Anchor, AnchorConfig
from bastion.store.db import Database
from bastion.store.files import secure_dir
from bastion.store.ledger import Ledger, take_staged
from bastion.store.outbox import OUTBOX_FILE, Outbox

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Hub:
    """Shared services of one process."""

    settings: Settings
    db: Database
    ledger: Ledger
    bus: Bus
    clock: Clock = SYSTEM_CLOCK
    access: AccessDecider | None = None
    anchor: Anchor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def hash_credential(self, value: str, *, purpose: str) -> str:
        """Return the keyed hash of credential data (card number, PIN, mobile token)."""
        return crypto.keyring().keyed_hash(value, purpose=purpose)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Yield a session; commit it, then deliver the events it staged to the bus."""
        with self.db.unit_of_work() as session:
            yield session
            events = take_staged(session)
        self.deliver(events)

    def deliver(self, events: list[Event[Any]]) -> None:
        """Hand committed events to the bus when an event loop is running here."""
        if not events:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # CLI or worker thread: nobody in this thread is subscribed.
        for event in events:
            self.bus.deliver(event)

    def close(self) -> None:
        """Stop the ledger writer, write the final checkpoint and close database connections."""
        self.ledger.close()
        if self.anchor is not None:
            self.anchor.close()
        self.db.dispose()


async def work_in_thread(hub: Any, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in a worker thread inside one unit of work; deliver its events after.

    The database calls block, so background workers run them off the event loop; the
    events they staged reach the bus only once the transaction has committed.
    """

    def run() -> tuple[T, list[Event[Any]]]:
        with hub.db.unit_of_work() as session:
            result = fn(session)
            events = take_staged(session)
        return result, events

    result, events = await asyncio.to_thread(run)
    hub.deliver(events)
    return result


def keyring_for(settings: Settings, *, create: bool) -> crypto.KeyRing:
    """Return the key ring from BASTION_SECRET_KEYS or the data directory's key file."""
    if settings.secret_keys:
        return crypto.KeyRing.from_strings(settings.secret_keys)
    value = crypto.load_or_create_key_file(settings.data_dir, create=create)
    return crypto.KeyRing.from_strings(value)


def open_hub(
    settings: Settings | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    migrate: bool = False,
    create_key: bool = False,
    database: Database | None = None,
) -> Hub:
    """Open the database (migrating it when asked), install the key ring and build the hub.

    The data directory is made owner-only; the ledger's outbox lives in it.
    """
    settings = settings or Settings()
    secure_dir(settings.data_dir, create=create_key)
    crypto.configure(keyring_for(settings, create=create_key))
    db = database or Database(settings.resolved_database_url())
    if migrate:
        db.migrate()
    else:
        db.require_schema()
    ledger = Ledger(db, outbox=Outbox(settings.data_dir / OUTBOX_FILE))
    bus = Bus(clock=clock, sink=ledger)
    anchor = Anchor(ledger, anchor_config(settings))
    return Hub(settings=settings, db=db, ledger=ledger, bus=bus, clock=clock, anchor=anchor)


def anchor_config(settings: Settings) -> AnchorConfig:
    """Return where the ledger's signing key and checkpoints live, from the settings."""
    token = settings.checkpoint_url_token
    return AnchorConfig(
        key_file=settings.resolved_ledger_key_file(),
        checkpoint_dir=settings.resolved_checkpoint_dir(),
        every_events=settings.checkpoint_every_events,
        every_seconds=settings.checkpoint_every_seconds,
        remote_url=settings.checkpoint_url,
        remote_token=token.get_secret_value() if token else None,
        remote_method=settings.checkpoint_url_method,
        data_dir=settings.data_dir,
    )
