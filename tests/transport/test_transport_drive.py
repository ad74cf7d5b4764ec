"""The demo's simulated delivery over the real broker: one detour and one long stop, alarmed once."""

from __future__ import annotations

import asyncio
import socket

from ulid import ULID

from bastion.transport import drive, listeners
from bastion.transport.models import Trip
from bastion.transport.runtime import start_transport
from tests.conftest import service_missing
from tests.monitoring_support import wait_until
from tests.transport.conftest import depart, plan

BROKER = ("127.0.0.1", 1883)


async def test_simulated_delivery_raises_deviation_and_stop_once(hub, clock, fleet):
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError as exc:
        service_missing(f"MQTT broker does not answer: {exc}")
    trip = plan(hub, fleet, minutes=60)
    depart(hub, fleet, trip.id)
    runtime = await start_transport(hub, tick_s=None)
    base = f"test/{str(ULID()).lower()}/owntracks"
    ready = asyncio.Event()
    runtime.keep(
        asyncio.create_task(listeners.follow_owntracks(runtime, *BROKER, ready=ready, base=base))
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        sent = 0

        async def step(seconds: float) -> None:
            nonlocal sent
            sent += 1
            await wait_until(lambda: runtime.accepted + sum(runtime.rejects.values()) >= sent, 20)
            clock.advance(seconds)

        the_plan = drive.Plan(every_s=10, detour_from=12, stop_at=25, stop_fixes=70)
        total = await drive.drive(
            *BROKER,
            "alice/van1",
            drive.SPRINGFIELD_ROUTE,
            the_plan,
            base=base,
            now=clock.now,
            sleep=step,
        )
        assert total == sent and total > 100
        await runtime.tick()
        with hub.db.sessions() as session:
            raised = session.get(Trip, trip.id).raised
        assert sorted(raised) == ["deviation", "unscheduled_stop"]
        assert sum(runtime.rejects.values()) == 0
    finally:
        await runtime.stop()
