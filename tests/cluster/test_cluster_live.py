"""Live state between central nodes through the real NATS: views update, reactions run once."""

from __future__ import annotations

import asyncio
from typing import Any

import nats

from bastion.cluster.live import LiveMirror
from bastion.cluster.names import Names
from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_COMMAND, DoorCommandPayload, Event
from bastion.hub import Hub
from tests.cluster.conftest import close, wait_for


async def test_a_mirrored_event_reaches_only_the_live_views() -> None:
    bus = Bus()
    views: list[Event[Any]] = []
    reactions: list[Event[Any]] = []
    bus.subscribe(views.append, mirrored=True)
    bus.subscribe(reactions.append)
    event = _unlock("front-entry")
    bus.deliver_mirrored(event)
    bus.deliver(_unlock("vault-door"))
    await bus.drain()
    assert [e.payload.door_id for e in views] == ["front-entry", "vault-door"]
    assert [e.payload.door_id for e in reactions] == ["vault-door"]
    await bus.close()


def _unlock(door: str) -> Event[Any]:
    from bastion.core.events import make_event

    return make_event(
        EVENT_DOOR_COMMAND,
        DoorCommandPayload(door_id=door, command="unlock", reason="delivery"),
        context=Context(actor="user:ana"),
        site="dispensary-main",
    )


async def test_what_one_node_handled_reaches_the_other_nodes_views_once(
    nats_url: str, names: Names, hub: Hub
) -> None:
    other = Hub(settings=hub.settings, db=hub.db, ledger=hub.ledger, bus=Bus())
    connections = [await nats.connect(nats_url), await nats.connect(nats_url)]
    mirrors = [
        LiveMirror(hub, connections[0], names, node_id="central-a"),
        LiveMirror(other, connections[1], names, node_id="central-b"),
    ]
    views: dict[str, list[Event[Any]]] = {"a": [], "b": []}
    reactions: dict[str, list[Event[Any]]] = {"a": [], "b": []}
    for key, node in (("a", hub), ("b", other)):
        node.bus.subscribe(views[key].append, mirrored=True)
        node.bus.subscribe(reactions[key].append, where=lambda e: e.type.is_security)
    try:
        for mirror in mirrors:
            await mirror.start()
        for nc in connections:
            await nc.flush()
        event = _unlock("front-entry")
        hub.bus.deliver(event)  # node A handled it (committed by its own request)
        await wait_for(lambda: asyncio.sleep(0, len(views["b"]) == 1))
        (seen,) = views["b"]
        assert (seen.id, seen.type, seen.payload, seen.context) == (
            event.id,
            event.type,
            event.payload,
            event.context,
        )
        assert seen.site == event.site and seen.time == event.time
        await asyncio.sleep(0.5)  # give a wrong echo back to A the time to arrive
        await hub.bus.drain()
        await other.bus.drain()
        assert [e.id for e in views["a"]] == [event.id]  # A's own, not echoed back
        assert [e.id for e in reactions["a"]] == [event.id]
        assert reactions["b"] == []  # B's alarms and automation never see it
        assert (mirrors[0].sent, mirrors[1].received, mirrors[0].received) == (1, 1, 0)
        # A message that is not a live event is ignored, and the next one still arrives.
        await connections[0].publish(names.live, b'{"origin": "x"}')
        second = _unlock("vault-door")
        hub.bus.deliver(second)
        await wait_for(lambda: asyncio.sleep(0, len(views["b"]) == 2))
        assert views["b"][1].id == second.id
    finally:
        for mirror in mirrors:
            await mirror.stop()
        for nc in connections:
            await close(nc)
        await other.bus.close()
