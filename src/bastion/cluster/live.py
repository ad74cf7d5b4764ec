"""Live state shared between central nodes: what one node handled, the others' consoles show.

Every central node writes to the same database, but door boards, lockdown and threat
state and the console's live feed are kept in memory from each node's own bus. So a
door unlocked through one node would still look locked on another. Each central node
therefore publishes the security events its bus handled (its own requests and the
replicated rows it stored) on one plain NATS subject, and hands the events of the
other nodes to its *mirrored* subscribers only (:meth:`Bus.deliver_mirrored`):
live views update everywhere, while alarms and automation still react once, on the
node that handled the event. The ledger stays the truth: a message lost while the
bus is away only leaves a view stale until the next change or restart.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bastion.cluster.names import Names
from bastion.cluster.wire import LiveEvent, decode, encode
from bastion.core.context import Context
from bastion.core.errors import BastionError
from bastion.core.events import Event, lookup
from bastion.hub import Hub

_LOGGER = logging.getLogger(__name__)


def live_of(event: Event[Any], origin: str) -> LiveEvent:
    """Return the message that carries ``event`` to the other central nodes."""
    return LiveEvent(
        origin=origin,
        id=event.id,
        type=event.type.name,
        time=event.time,
        site=event.site,
        ctx=event.context.id,
        parent=event.context.parent_id,
        actor=event.context.actor[:128],
        payload=event.payload_json(),
    )


def event_of(message: LiveEvent) -> Event[Any]:
    """Rebuild the typed event a live message carries (unknown types raise)."""
    event_type = lookup(message.type)
    return Event(
        type=event_type,
        payload=event_type.payload.model_validate_json(message.payload),
        context=Context(actor=message.actor, parent_id=message.parent, id=message.ctx),
        time=message.time,
        site=message.site,
        id=message.id,
    )


class LiveMirror:
    """Publish this node's handled events; deliver the other nodes' to the live views."""

    def __init__(self, hub: Hub, nc: Client, names: Names, *, node_id: str) -> None:
        self.hub = hub
        self.nc = nc
        self.names = names
        self.node_id = node_id
        self.sent = 0
        self.received = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Follow the bus and the peers' subject. Must run in the loop."""
        self._sub = await self.nc.subscribe(self.names.live, cb=self._on_peer)
        self._unsubscribe = self.hub.bus.subscribe(
            self._publish, where=lambda event: event.type.is_security
        )

    async def _publish(self, event: Event[Any]) -> None:
        try:
            data = encode(live_of(event, self.node_id))
        except Exception as exc:  # a field too long for the wire: the ledger still has it
            _LOGGER.debug("event %s not mirrored: %s", event.id, exc)
            return
        try:
            await self.nc.publish(self.names.live, data)
            self.sent += 1
        except Exception as exc:
            _LOGGER.debug("event %s not mirrored (bus away): %s", event.id, exc)

    async def _on_peer(self, msg: Msg) -> None:
        try:
            message = decode(LiveEvent, msg.data)
            if message.origin == self.node_id:
                return
            event = event_of(message)
        except (BastionError, ValueError, KeyError) as exc:
            _LOGGER.debug("ignoring a live message: %s", exc)
            return
        self.received += 1
        self.hub.bus.deliver_mirrored(event)

    async def stop(self) -> None:
        """Stop publishing and following."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
