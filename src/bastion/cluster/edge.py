"""An edge node's link to the central side: replicate its ledger up, apply commands coming down.

The edge decides and records on its own (access engine, local SQLite ledger) whether
or not the bus answers; this link only reads what is already committed. Rows go up
in sequence order with the event id as the JetStream message id, and the position
acknowledged by the stream is kept in the edge's database, so after a crash, a kill
or an outage the edge sends again from there (the stream drops what it already
holds, the central side drops the rest). Commands arrive on the site's durable
consumer and are acknowledged only once applied, so one sent while the edge was
away is applied when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import String, select, text, type_coerce
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.runtime import engine_of
from bastion.cluster.bus import connect, ensure_streams
from bastion.cluster.models import ClusterCursor
from bastion.cluster.names import Names, check_token
from bastion.cluster.wire import (
    MAX_ROWS_PER_MESSAGE,
    Command,
    Heartbeat,
    ReplicatedEvent,
    ReplicatedRows,
    decode,
    encode,
    epoch_now,
)
from bastion.core.context import Context
from bastion.core.errors import BastionError
from bastion.core.events import EVENT_LOCKDOWN, LockdownPayload
from bastion.hub import Hub, work_in_thread
from bastion.store.db import Database
from bastion.store.ledger import LedgerRow

_LOGGER = logging.getLogger(__name__)
CLOSE_S = 10.0


@dataclass
class EdgeStats:
    """What the edge reports in its heartbeat."""

    head_seq: int = 0
    acked_seq: int = 0
    commands_applied: int = 0
    last_command_ms: float | None = None
    published: int = 0
    """Rows published, counting those sent again after a timeout or outage."""


def read_cursor(db: Database, node_id: str) -> int:
    """Return the newest local row the stream has acknowledged (0 before the first)."""
    with db.sessions() as session:
        row = session.get(ClusterCursor, node_id)
        return row.seq if row is not None else 0


def write_cursor(db: Database, node_id: str, seq: int) -> None:
    """Remember that the stream holds every local row up to ``seq``."""
    with db.unit_of_work() as session:
        row = session.get(ClusterCursor, node_id)
        if row is None:
            session.add(ClusterCursor(name=node_id, seq=seq))
        elif seq > row.seq:
            row.seq = seq


def read_rows(
    db: Database, node_id: str, after: int, limit: int, *, sent_at: float = 0.0
) -> list[ReplicatedEvent]:
    """Return up to ``limit`` local ledger rows after ``after``, as they travel.

    ``sent_at`` stamps the rows when they are read just before being published.
    """
    # Plain column tuples, not ORM objects: reading is most of an edge's replication work.
    columns = LedgerRow.__table__.c
    sqlite = db.engine.dialect.name == "sqlite"
    # On SQLite the generic datetime parser (a regular expression per row) costs more than
    # the rest of the read; the stored text is ISO 8601 in UTC, which fromisoformat reads.
    wanted = _SQLITE_READ_COLUMNS if sqlite else _READ_COLUMNS
    with db.sessions() as session:
        rows = session.execute(
            select(*wanted).where(columns.seq > after).order_by(columns.seq).limit(limit)
        ).all()
    # Built without validation: the rows come from this edge's own ledger, and the central
    # side checks every message it receives against the model anyway.
    events = []
    for row in rows:
        fields = dict(zip(_WIRE_FIELDS, row, strict=True))
        if sqlite:
            fields["time"] = datetime.fromisoformat(fields["time"]).replace(tzinfo=UTC)
        events.append(ReplicatedEvent.model_construct(node=node_id, sent_at=sent_at, **fields))
    return events


_WIRE_FIELDS = (
    "seq", "id", "type", "time", "site", "subject", "device", "ctx", "parent",
    "actor", "payload", "prev", "hash",
)  # fmt: skip
_READ_COLUMNS = tuple(
    LedgerRow.__table__.c[name]
    for name in (
        "seq", "id", "type", "time", "site", "subject", "device", "context_id", "parent_id",
        "actor", "payload", "prev_hash", "hash",
    )
)  # fmt: skip
_SQLITE_READ_COLUMNS = tuple(
    type_coerce(column, String) if column.name == "time" else column for column in _READ_COLUMNS
)


def head_seq(db: Database) -> int:
    """Return the newest sequence number of the local ledger."""
    with db.sessions() as session:
        value = session.execute(text("SELECT seq FROM ledger_head WHERE id = 1")).scalar()
        return int(value or 0)


def _cancelled() -> bool:
    """Return True once the running task has been asked to stop.

    The NATS client turns a cancellation inside some calls into its own errors, which the
    loops here catch; so the loops also ask the task whether it is being cancelled.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Replicator:
    """Send a database's committed ledger rows to the stream, in order, until stopped."""

    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        names: Names,
        *,
        node_id: str,
        site_id: str,
        batch: int = 500,
        poll_s: float = 0.05,
        ack_timeout_s: float = 5.0,
        per_message: int = 100,
    ) -> None:
        self.db = db
        self.js = js
        self.names = names
        self.node_id = check_token(node_id, "node id")
        self.subject = names.events(site_id)
        self.batch = batch
        self.poll_s = poll_s
        self.ack_timeout_s = ack_timeout_s
        self.per_message = max(1, min(per_message, MAX_ROWS_PER_MESSAGE))
        self.stats = EdgeStats()
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Replicate for ever: read, publish, wait for the stream's acks, advance the cursor."""
        self.stats.acked_seq = await asyncio.to_thread(read_cursor, self.db, self.node_id)
        delay = 0.2
        while not _cancelled():
            rows = await asyncio.to_thread(
                read_rows,
                self.db,
                self.node_id,
                self.stats.acked_seq,
                self.batch,
                sent_at=epoch_now(),
            )
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_s)
                self.wake.clear()
                continue
            sent = await self.publish(rows)
            if sent:
                await asyncio.to_thread(write_cursor, self.db, self.node_id, sent)
                self.stats.acked_seq = sent
                delay = 0.2
            if sent != rows[-1].seq:
                await asyncio.sleep(delay)  # the bus is away: the rows wait on disk
                delay = min(delay * 2, 5.0)

    async def publish(self, rows: Sequence[ReplicatedEvent]) -> int:
        """Publish ``rows``, ``per_message`` to a message; return the last seq acked without a gap.

        0 means none was acknowledged.

        A message's id names its edge and first and last sequence numbers, so the stream
        drops a message sent again unchanged; one sent again cut differently (after a
        restart) reaches the central side, which keeps each row once by its sequence number.
        """
        futures: list[asyncio.Future[Any]] = []
        chunks = [rows[i : i + self.per_message] for i in range(0, len(rows), self.per_message)]
        now = epoch_now()
        try:
            for chunk in chunks:
                stamped = [
                    row if row.sent_at else row.model_copy(update={"sent_at": now}) for row in chunk
                ]
                data = encode(ReplicatedRows(rows=stamped))
                self.stats.published += len(chunk)
                futures.append(
                    await self.js.publish_async(
                        self.subject,
                        data,
                        wait_stall=self.ack_timeout_s,
                        headers={"Nats-Msg-Id": f"{self.node_id}:{chunk[0].seq}-{chunk[-1].seq}"},
                    )
                )
        except Exception as exc:
            _LOGGER.debug("publishing stopped after %d messages: %s", len(futures), exc)
        if not futures:
            return 0
        done, _ = await asyncio.wait(futures, timeout=self.ack_timeout_s)
        acked = 0
        for chunk, future in zip(chunks, futures, strict=False):
            if future not in done or future.cancelled() or future.exception() is not None:
                break
            acked = chunk[-1].seq
        for future in futures:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning
        return acked


class CommandApplier:
    """Apply the site's commands on this edge (engine first, then its own records)."""

    def __init__(self, hub: Hub, *, stats: EdgeStats) -> None:
        self.hub = hub
        self.stats = stats

    async def apply(self, command: Command) -> None:
        """Apply one command now; what does not apply here is logged and counted."""
        engine = engine_of(self.hub)
        if command.kind == "revoke_credential" and command.credential_id:
            if engine is not None:
                with contextlib.suppress(BastionError):
                    engine.revoke_credential(command.credential_id)
            self._applied(command)
            await self._revoke_record(command)
        elif command.kind == "lockdown":
            zones = list(command.zone_ids)
            if engine is not None:
                zones = []
                for zone in command.zone_ids:
                    try:
                        engine.lockdown(
                            command.site_id,
                            zone,
                            active=command.active,
                            reason=command.reason,
                            by=f"central:{command.actor}"[:128],
                        )
                        zones.append(zone)
                    except BastionError as exc:
                        _LOGGER.warning("lockdown command %s: %s", command.id, exc)
            self._applied(command)
            if zones:
                await self._lockdown_record(command, zones)
        else:
            self._applied(command)

    def _applied(self, command: Command) -> None:
        self.stats.commands_applied += 1
        self.stats.last_command_ms = max(0.0, (epoch_now() - command.issued_at) * 1000.0)

    async def _lockdown_record(self, command: Command, zones: list[str]) -> None:
        # The edge's own ledger says which central lockdown it applied, and when (the
        # row replicates up; the central side knows it by id and does not send it back).
        await self.hub.bus.publish(
            EVENT_LOCKDOWN,
            LockdownPayload(
                zone_ids=tuple(zones),
                active=command.active,
                reason=command.reason or "sent by the central side",
            ),
            context=Context(actor=f"central:{command.actor}"[:128]),
            site=command.site_id,
        )

    async def _revoke_record(self, command: Command) -> None:
        credential_id = command.credential_id or ""

        def revoke(session: Session) -> None:
            try:
                access_service.revoke_credential(
                    session=session,
                    credential_id=credential_id,
                    reason=command.reason or "revoked centrally",
                    context=Context(actor=f"central:{command.actor}"[:128]),
                    now=self.hub.clock.now(),
                )
            except BastionError as exc:
                _LOGGER.info("revocation %s not recorded here: %s", command.id, exc)

        await work_in_thread(self.hub, revoke)


class EdgeNode:
    """Everything an edge runs on the bus: replication, commands, heartbeats."""

    def __init__(
        self,
        hub: Hub,
        *,
        url: str,
        node_id: str,
        site_id: str,
        names: Names | None = None,
        batch: int = 500,
        heartbeat_s: float = 1.0,
    ) -> None:
        self.hub = hub
        self.url = url
        self.node_id = check_token(node_id, "node id")
        self.site_id = check_token(site_id, "site id")
        self.names = names or Names()
        self.batch = batch
        self.heartbeat_s = heartbeat_s
        self.nc: Client | None = None
        self.replicator: Replicator | None = None
        self.applier: CommandApplier | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()

    @property
    def stats(self) -> EdgeStats:
        """Return the replication and command figures (zero before the link is up)."""
        return self.replicator.stats if self.replicator is not None else EdgeStats()

    def start(self) -> None:
        """Start linking in the background; deciding never waits for it."""
        self.tasks.append(asyncio.get_running_loop().create_task(self._run(), name="edge-link"))

    async def _run(self) -> None:
        self.nc = await connect(self.url, name=f"bastion-edge-{self.node_id}")
        js = self.nc.jetstream()
        while True:
            if _cancelled():
                return
            try:
                await ensure_streams(js, self.names)
                break
            except Exception as exc:
                _LOGGER.warning("cannot set up the streams yet: %s", exc)
                await asyncio.sleep(1.0)
        self.replicator = Replicator(
            self.hub.db,
            js,
            self.names,
            node_id=self.node_id,
            site_id=self.site_id,
            batch=self.batch,
        )
        self.applier = CommandApplier(self.hub, stats=self.replicator.stats)
        loop = asyncio.get_running_loop()
        self.tasks += [
            loop.create_task(self.replicator.run(), name="edge-replicate"),
            loop.create_task(self._commands(js), name="edge-commands"),
            loop.create_task(self._heartbeats(), name="edge-heartbeat"),
        ]
        self.ready.set()

    async def _commands(self, js: JetStreamContext) -> None:
        subject = self.names.commands(self.site_id)
        durable = self.names.edge_durable(self.node_id)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=subject,
            ack_wait=30,
        )
        sub = None
        while sub is None:
            if _cancelled():
                return
            try:
                sub = await js.pull_subscribe(
                    subject, durable=durable, stream=self.names.commands_stream, config=config
                )
            except Exception as exc:
                _LOGGER.warning("cannot follow the commands yet: %s", exc)
                await asyncio.sleep(1.0)
        while not _cancelled():
            try:
                msgs = await sub.fetch(batch=50, timeout=1.0)
            except NatsTimeout:
                continue
            except Exception as exc:
                _LOGGER.debug("fetching commands failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self._one_command(msg)

    async def _one_command(self, msg: Msg) -> None:
        try:
            command = decode(Command, msg.data)
        except BastionError as exc:
            _LOGGER.warning("dropping an unreadable command: %s", exc)
            await msg.term()
            return
        assert self.applier is not None
        try:
            await self.applier.apply(command)
        except Exception:
            _LOGGER.exception("applying command %s failed; it will come again", command.id)
            await msg.nak(delay=1.0)
            return
        await msg.ack()

    async def _heartbeats(self) -> None:
        while not _cancelled():
            if self.nc is not None and self.nc.is_connected and self.replicator is not None:
                stats = self.replicator.stats
                stats.head_seq = await asyncio.to_thread(head_seq, self.hub.db)
                beat = Heartbeat(
                    node=self.node_id,
                    site_id=self.site_id,
                    head_seq=stats.head_seq,
                    acked_seq=stats.acked_seq,
                    commands_applied=stats.commands_applied,
                    last_command_ms=stats.last_command_ms,
                    sent_at=epoch_now(),
                )
                with contextlib.suppress(Exception):
                    await self.nc.publish(self.names.status(self.site_id), encode(beat))
            await asyncio.sleep(self.heartbeat_s)

    async def stop(self) -> None:
        """Stop the link; unsent rows stay on disk and go up on the next start."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # Bounded: a task that does not end in time is left cancelled, not awaited.
            await asyncio.wait(self.tasks, timeout=CLOSE_S)
        for task in self.tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved (logged nowhere: the link is going away)
        self.tasks = []
        if self.nc is not None:
            # Bounded: closing a connection in the middle of a reconnect can wait for ever.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), CLOSE_S)
            self.nc = None
