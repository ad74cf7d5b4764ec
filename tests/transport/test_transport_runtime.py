"""The runtime on the bus: the compartment opening away from a stop, the panic button, departures."""

from __future__ import annotations

from bastion.core.context import Context
from bastion.core.events import EVENT_SENSOR_STATE, SensorStatePayload
from bastion.transport import gps
from bastion.transport.models import Trip
from bastion.transport.runtime import start_transport
from tests.monitoring_support import wait_until
from tests.transport.conftest import depart, plan
from tests.transport.route_data import drive


async def test_compartment_and_panic_raise_once_each(hub, clock, fleet):
    runtime = await start_transport(hub, tick_s=None)
    try:
        trip = plan(hub, fleet)
        depart(hub, fleet, trip.id)
        await runtime.reload()
        assert trip.id in runtime.watches
        fixes = drive(clock.now())
        reports = []
        for at, lat, lon in fixes[5:15]:
            reports.append(gps.Fix("alice/van1", at, lat, lon, accuracy_m=5))
        clock.advance(160)
        await runtime.ingest(reports)
        payload = SensorStatePayload(
            device_id="van1-lockbox", sensor_type="contact", state="active"
        )
        for _ in range(2):
            await hub.bus.publish(
                EVENT_SENSOR_STATE,
                payload,
                context=Context(actor="device:van1-lockbox"),
                site=fleet.site.site.id,
                time=clock.now(),
            )
        await runtime.ingest([gps.Signal("alice/van1", clock.now(), "panic")])
        await runtime.ingest([gps.Signal("alice/van1", clock.now(), "panic")])
        await runtime.drain()

        def raised():
            with hub.db.sessions() as session:
                return dict(session.get(Trip, trip.id).raised)

        await wait_until(lambda: set(raised()) == {"compartment_opened", "panic"}, 10)
    finally:
        await runtime.stop()
