import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_DOOR_FORCED,
    EVENT_SENSOR_READING,
    AlarmPayload,
    DoorPayload,
    Event,
    SensorReadingPayload,
)


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def append(self, events: Sequence[Event[Any]]) -> None:
        self.events.extend(events)


def forced(door: str = "vault") -> DoorPayload:
    return DoorPayload(door_id=door, state="forced")


async def test_subscriber_receives_only_its_types():
    bus = Bus()
    got: list[str] = []
    bus.subscribe(lambda e: got.append(e.type.name), types=[EVENT_DOOR_FORCED])
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await bus.publish(EVENT_ALARM_RAISED, AlarmPayload(alarm_type="x", priority=1, message="m"))
    await bus.drain()
    assert got == ["door.forced"]
    await bus.close()


async def test_where_filter_and_async_handler():
    bus = Bus()
    got: list[str] = []

    async def handler(event):
        await asyncio.sleep(0)
        got.append(event.payload.door_id)

    bus.subscribe(handler, where=lambda e: getattr(e.payload, "door_id", "") == "b")
    for door in "abcb":
        await bus.publish(EVENT_DOOR_FORCED, forced(door))
    await bus.drain()
    assert got == ["b", "b"]
    await bus.close()


async def test_failing_subscriber_is_logged_and_does_not_break_publisher(caplog):
    bus = Bus()
    good: list[str] = []

    def bad(event):
        raise RuntimeError("boom")

    def bad_filter(event):
        raise ValueError("filter boom")

    bus.subscribe(bad)
    bus.subscribe(lambda e: good.append(e.id), where=bad_filter)
    bus.subscribe(lambda e: good.append(e.id))
    with caplog.at_level(logging.ERROR):
        event = await bus.publish(EVENT_DOOR_FORCED, forced())
        await bus.drain()
    assert good == [event.id]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "failed on door.forced" in messages
    assert "filter" in messages
    await bus.close()


async def test_security_events_reach_the_sink_before_subscribers():
    sink = RecordingSink()
    bus = Bus(sink=sink)
    seen_in_sink: list[int] = []
    bus.subscribe(lambda e: seen_in_sink.append(len(sink.events)))
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await bus.publish(
        EVENT_SENSOR_READING, SensorReadingPayload(device_id="s", quantity="q", value=1)
    )
    await bus.drain()
    assert [e.type.name for e in sink.events] == ["door.forced"]
    assert seen_in_sink == [1, 1]
    await bus.close()


async def test_sink_failure_propagates_and_nobody_sees_the_event():
    class Broken:
        async def append(self, events):
            raise OSError("disk full")

    bus = Bus(sink=Broken())
    got: list[Any] = []
    bus.subscribe(got.append)
    with pytest.raises(OSError):
        await bus.publish(EVENT_DOOR_FORCED, forced())
    await bus.drain()
    assert got == []
    await bus.close()


async def test_slow_subscriber_does_not_delay_others():
    bus = Bus()
    release = asyncio.Event()
    fast: list[str] = []

    async def slow(event):
        await release.wait()

    bus.subscribe(slow)
    bus.subscribe(lambda e: fast.append(e.id))
    event = await bus.publish(EVENT_DOOR_FORCED, forced())
    for _ in range(5):
        await asyncio.sleep(0)
    assert fast == [event.id]
    release.set()
    await bus.close()


async def test_unsubscribe_and_close():
    bus = Bus()
    got: list[Any] = []
    unsubscribe = bus.subscribe(got.append)
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await bus.drain()
    unsubscribe()
    unsubscribe()
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await bus.drain()
    assert len(got) == 1
    await bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(EVENT_DOOR_FORCED, forced())


async def test_publish_uses_bus_clock_and_context(clock):
    bus = Bus(clock=clock)
    parent = Context(actor="rule:lock-adjacent")
    event = await bus.publish(EVENT_DOOR_FORCED, forced(), context=parent.child(), site="s1")
    assert event.time == clock.now()
    assert event.context.parent_id == parent.id
    assert event.context.actor == "rule:lock-adjacent"
    assert event.site == "s1"
    await bus.close()


async def test_cancelled_handler_stops_its_worker_but_not_the_bus():
    bus = Bus()
    started = asyncio.Event()

    async def blocked(event):
        started.set()
        await asyncio.Event().wait()

    bus.subscribe(blocked)
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await started.wait()
    worker = bus._subscriptions[0].task
    assert worker is not None
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    got: list[Any] = []
    bus.subscribe(got.append)
    await bus.publish(EVENT_DOOR_FORCED, forced())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(got) == 1
