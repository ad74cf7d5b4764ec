"""Asyncio publish/subscribe with the ledger-first guarantee.

Security events are handed to the :class:`EventSink` (the ledger) and are durable
before any subscriber sees them: committed to the ledger or, while the database is
unreachable, written to the ledger's local outbox, which reaches the ledger later
in the same order. Reactions therefore go on during a database outage: subscribers
still see each event once, after it is durable, in publishing order, but an event
they see then may not be in the ledger tables yet. Each subscriber owns a queue and
a worker task, so a slow or failing subscriber never delays or breaks the publisher
or the other subscribers; its errors are logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bastion.core.clock import SYSTEM_CLOCK, Clock
from bastion.core.context import Context
from bastion.core.events import Event, EventType, P, make_event

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[Event[Any]], Awaitable[None] | None]
Predicate = Callable[[Event[Any]], bool]


class EventSink(Protocol):
    """Durable store for security events (the ledger)."""

    async def append(self, events: Sequence[Event[Any]]) -> None:
        """Store ``events`` in order; return only once they are durable (ledger or outbox)."""
        ...


@dataclass(eq=False)
class _Subscription:
    handler: Handler
    names: frozenset[str] | None
    where: Predicate | None
    queue: asyncio.Queue[Event[Any] | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    pending: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    mirrored: bool = False

    def wants(self, event: Event[Any]) -> bool:
        if self.names is not None and event.type.name not in self.names:
            return False
        return self.where is None or self.where(event)


class Bus:
    """Publish typed events; fan them out to subscribers after the ledger commit.

    Must be used from a single event loop.
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, sink: EventSink | None = None) -> None:
        self.clock = clock
        self.sink = sink
        self._subscriptions: list[_Subscription] = []
        self._closed = False

    def subscribe(
        self,
        handler: Handler,
        *,
        types: Iterable[EventType[Any]] | None = None,
        where: Predicate | None = None,
        mirrored: bool = False,
    ) -> Callable[[], None]:
        """Call ``handler`` for every matching event; return a function that unsubscribes.

        ``mirrored`` subscribers (live views: the door board, the console feed, lockdown
        and threat state) also get the events another central node handled
        (:meth:`deliver_mirrored`); reactions (alarms, automation) must not, or they
        would run once per node. Must run in the event loop.
        """
        names = frozenset(t.name for t in types) if types is not None else None
        sub = _Subscription(handler=handler, names=names, where=where, mirrored=mirrored)
        sub.idle.set()
        sub.task = asyncio.get_running_loop().create_task(self._worker(sub))
        self._subscriptions.append(sub)

        def unsubscribe() -> None:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
                sub.queue.put_nowait(None)

        return unsubscribe

    async def publish(
        self,
        event_type: EventType[P],
        payload: P,
        *,
        context: Context | None = None,
        site: str | None = None,
        time: datetime | None = None,
    ) -> Event[P]:
        """Build, commit (if it is a security event) and fan out one event."""
        event = make_event(
            event_type, payload, context=context, time=time or self.clock.now(), site=site
        )
        await self.emit(event)
        return event

    async def emit(self, event: Event[Any]) -> None:
        """Commit ``event`` to the sink when it is a security event, then fan it out."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        if event.type.is_security and self.sink is not None:
            await self.sink.append([event])
        self.deliver(event)

    def deliver(self, event: Event[Any]) -> None:
        """Fan out an event that is already committed (e.g. staged in a domain transaction).

        Must run in the event loop; never blocks.
        """
        self._fan_out(event, mirrored_only=False)

    def deliver_mirrored(self, event: Event[Any]) -> None:
        """Hand an event another central node committed and reacted to to the live views only.

        Must run in the event loop; never blocks.
        """
        self._fan_out(event, mirrored_only=True)

    def _fan_out(self, event: Event[Any], *, mirrored_only: bool) -> None:
        for sub in self._subscriptions:
            if mirrored_only and not sub.mirrored:
                continue
            try:
                wanted = sub.wants(event)
            except Exception:
                _LOGGER.exception("subscriber filter %r failed", sub.where)
                continue
            if wanted:
                sub.pending += 1
                sub.idle.clear()
                sub.queue.put_nowait(event)

    async def _worker(self, sub: _Subscription) -> None:
        while True:
            event = await sub.queue.get()
            if event is None:
                return
            try:
                result = sub.handler(event)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception(
                    "subscriber %s failed on %s %s",
                    getattr(sub.handler, "__qualname__", repr(sub.handler)),
                    event.type.name,
                    event.id,
                )
            finally:
                sub.pending -= 1
                if sub.pending == 0:
                    sub.idle.set()

    async def drain(self) -> None:
        """Wait until every subscriber has handled every event published so far."""
        while any(s.pending for s in self._subscriptions):
            await asyncio.gather(*(s.idle.wait() for s in self._subscriptions))

    async def close(self) -> None:
        """Drain, then stop every subscriber worker."""
        await self.drain()
        self._closed = True
        for sub in list(self._subscriptions):
            sub.queue.put_nowait(None)
        tasks = [s.task for s in self._subscriptions if s.task is not None]
        self._subscriptions.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
