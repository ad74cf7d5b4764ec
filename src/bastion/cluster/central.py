"""A central node: pull every site's events into the database, note heartbeats, send commands.

All central nodes pull the same durable consumer, so each message goes to one of
them and one that dies leaves its unacknowledged messages to the others (redelivered
after ``ack_wait``). A message is acknowledged only after its row is committed (or
found already stored); while the database is away nothing is acknowledged and the
stream holds everything. Stored rows are then handed to this node's bus, so alarms
and automation react once, on the node that stored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bastion.cluster import ingest
from bastion.cluster.bus import connect, ensure_streams
from bastion.cluster.live import LiveMirror
from bastion.cluster.names import Names, check_token
from bastion.cluster.wire import (
    Command,
    Heartbeat,
    ReplicatedEvent,
    decode,
    decode_rows,
    encode,
)
from bastion.core.context import Context
from bastion.core.errors import BastionError
from bastion.core.events import Event, lookup
from bastion.hub import Hub
from bastion.store.db import Database

_LOGGER = logging.getLogger(__name__)
CLOSE_S = 10.0
EARLY_DELAY_S = 0.2
DOWN_DELAY_S = 1.0


@dataclass
class CentralStats:
    """What this central node has done since it started."""

    stored: int = 0
    duplicates: int = 0
    early: int = 0
    rejected: int = 0
    database_down: bool = False


class _Seen:
    """Ids of events this node took from the stream (so it never sends them back down)."""

    def __init__(self, size: int = 10000) -> None:
        self.size = size
        self.ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> None:
        self.ids[event_id] = None
        while len(self.ids) > self.size:
            self.ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.ids


class CentralNode:
    """Consume, store and fan out; send commands for the edges."""

    def __init__(
        self,
        db: Database,
        *,
        url: str,
        node_id: str,
        names: Names | None = None,
        hub: Hub | None = None,
        batch: int = 50,
        ack_wait_s: float = 10.0,
        heartbeat_s: float = 1.0,
    ) -> None:
        self.db = db
        self.url = url
        self.node_id = check_token(node_id, "node id")
        self.names = names or Names()
        self.hub = hub
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self.heartbeat_s = heartbeat_s
        self.stats = CentralStats()
        self.seen = _Seen()
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self._beats: list[Heartbeat] = []
        self.mirror: LiveMirror | None = None

    def start(self) -> None:
        """Start consuming in the background."""
        self.tasks.append(asyncio.get_running_loop().create_task(self._run(), name="central"))

    async def _run(self) -> None:
        self.nc = await connect(self.url, name=f"bastion-central-{self.node_id}")
        self.js = self.nc.jetstream()
        while True:
            try:
                await ensure_streams(self.js, self.names)
                sub = await self.js.pull_subscribe(
                    self.names.all_events,
                    durable=self.names.central_durable,
                    stream=self.names.events_stream,
                    config=ConsumerConfig(
                        durable_name=self.names.central_durable,
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=self.ack_wait_s,
                        max_ack_pending=50000,
                        max_deliver=-1,
                    ),
                )
                break
            except Exception as exc:
                _LOGGER.warning("cannot follow the events stream yet: %s", exc)
                await asyncio.sleep(1.0)
        await self.nc.subscribe(self.names.all_status, queue="central", cb=self._on_beat)
        if self.hub is not None:
            self.mirror = LiveMirror(self.hub, self.nc, self.names, node_id=self.node_id)
            await self.mirror.start()
        loop = asyncio.get_running_loop()
        self.tasks += [
            loop.create_task(self._consume(sub), name="central-consume"),
            loop.create_task(self._alive(), name="central-alive"),
        ]
        self.ready.set()

    async def _consume(self, sub: JetStreamContext.PullSubscription) -> None:
        """Fetch the next batch while the current one is being stored (one store at a time).

        Batches are still stored one after the other in the order fetched, so rows keep
        their order and each is stored once; only the wait for the bus overlaps the
        database work. Messages fetched but not stored when the node stops are handed
        back to the stream at once, for the other central nodes.
        """
        fetching: asyncio.Task[list[Msg]] | None = None
        try:
            while not self.stopping.is_set():
                fetching = asyncio.create_task(self._fetch(sub))
                msgs = await fetching
                fetching = None
                while msgs and not self.stopping.is_set():
                    fetching = asyncio.create_task(self._fetch(sub))
                    await self.handle(msgs)
                    msgs = await fetching
                    fetching = None
                if msgs:
                    await self._give_back(msgs)
        finally:
            if fetching is not None:
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._give_back(await fetching)

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Return the next batch, or nothing when none came in time or the bus failed."""
        try:
            return list(await sub.fetch(batch=self.batch, timeout=1.0))
        except NatsTimeout:
            return []
        except Exception as exc:
            _LOGGER.debug("fetching events failed: %s", exc)
            await asyncio.sleep(0.5)
            return []

    async def _give_back(self, msgs: Sequence[Msg]) -> None:
        """Return fetched messages to the stream unstored (they are delivered again)."""
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.nak()

    async def handle(self, msgs: Sequence[Msg]) -> None:
        """Store a fetched batch in one transaction and settle every message.

        A message is acknowledged once all its rows are stored (or found stored already);
        one holding a row that arrived early goes back to the stream as a whole (its
        stored rows count as duplicates next time); one that cannot be read is refused.
        """
        events: list[ReplicatedEvent] = []
        kept: list[tuple[Msg, int]] = []
        for msg in msgs:
            try:
                rows = decode_rows(msg.data)
            except BastionError as exc:
                await self._refuse(msg, exc.message)
                continue
            events.extend(rows)
            kept.append((msg, len(rows)))
        if not events:
            return
        try:
            result = await asyncio.to_thread(ingest.store_batch, self.db, events)
        except Exception as exc:
            if not self.stats.database_down:
                _LOGGER.warning("the database refused replicated events (%s); holding", exc)
            self.stats.database_down = True
            for msg, _ in kept:
                with contextlib.suppress(Exception):
                    await msg.nak(delay=DOWN_DELAY_S)
            await asyncio.sleep(DOWN_DELAY_S)
            return
        self.stats.database_down = False
        start = 0
        for msg, count in kept:
            outcomes = result.outcomes[start : start + count]
            start += count
            with contextlib.suppress(Exception):
                if "early" in outcomes:
                    await msg.nak(delay=EARLY_DELAY_S)
                else:
                    await msg.ack()
        self.stats.stored += len(result.stored)
        self.stats.duplicates += result.count("duplicate")
        self.stats.early += result.count("early")
        self._fan_out(result.stored)

    async def _refuse(self, msg: Msg, reason: str) -> None:
        self.stats.rejected += 1
        node = None
        with contextlib.suppress(Exception):
            value = json.loads(msg.data).get("node")
            node = value if isinstance(value, str) and len(value) <= 63 else None
        _LOGGER.warning("refusing a replicated message on %s: %s", msg.subject, reason)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(ingest.note_rejected, self.db, node, reason)
        with contextlib.suppress(Exception):
            await msg.term()

    def _fan_out(self, stored: Sequence[ReplicatedEvent]) -> None:
        if self.hub is None:
            return
        for row in stored:
            try:
                event = _event_of(row)
            except Exception as exc:
                _LOGGER.debug("event %s not handed to the bus: %s", row.id, exc)
                continue
            self.seen.add(event.id)
            self.hub.bus.deliver(event)

    async def _on_beat(self, msg: Msg) -> None:
        try:
            self._beats.append(decode(Heartbeat, msg.data))
        except BastionError as exc:
            _LOGGER.debug("ignoring a heartbeat: %s", exc)

    async def _alive(self) -> None:
        while not self.stopping.is_set():
            beats, self._beats = self._beats, []
            try:
                await asyncio.to_thread(ingest.record_heartbeats, self.db, beats)
                await asyncio.to_thread(ingest.record_central, self.db, self.node_id)
            except Exception as exc:
                _LOGGER.debug("heartbeats not recorded: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.heartbeat_s)

    async def send(self, command: Command) -> None:
        """Publish a command for a site's edges (stored: an edge away now gets it later)."""
        if self.js is None:
            raise BastionError("this central node is not connected to the bus yet")
        await self.js.publish(
            self.names.commands(command.site_id),
            encode(command),
            headers={"Nats-Msg-Id": command.id},
        )

    async def consumer_pending(self) -> tuple[int, int] | None:
        """Return (waiting, in flight) of the shared consumer, or None when unknown."""
        if self.js is None:
            return None
        try:
            info = await self.js.consumer_info(self.names.events_stream, self.names.central_durable)
        except Exception:
            return None
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)

    async def stop(self) -> None:
        """Stop consuming; unacknowledged messages go to the other central nodes.

        A batch being written is finished first (its thread cannot be interrupted).
        """
        self.stopping.set()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=15)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []
        if self.mirror is not None:
            await self.mirror.stop()
            self.mirror = None
        if self.nc is not None:
            # Bounded: closing a connection in the middle of a reconnect can wait for ever.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), CLOSE_S)
            self.nc = None


def _event_of(row: ReplicatedEvent) -> Event[Any]:
    """Rebuild the typed event a replicated row holds."""
    event_type = lookup(row.type)
    return Event(
        type=event_type,
        payload=event_type.payload.model_validate_json(row.payload),
        context=Context(actor=row.actor, parent_id=row.parent, id=row.ctx),
        time=row.time,
        site=row.site,
        id=row.id,
    )
