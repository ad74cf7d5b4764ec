"""A delivery driven through the real GPS protocols: OwnTracks over Mosquitto, OsmAnd over HTTP.

Each run has a detour, a long stop, then silence until the trip is overdue, with bad
reports mixed in; the four alarms are raised once each, and never by a bad report.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta

import aiomqtt
import httpx
import pytest
from sqlalchemy import func, select
from ulid import ULID

from bastion.alarms.models import Alarm
from bastion.transport import listeners
from bastion.transport.models import Position, Trip
from bastion.transport.runtime import start_transport
from tests.conftest import service_missing
from tests.monitoring_support import wait_until
from tests.transport.conftest import depart, plan
from tests.transport.route_data import drive

BROKER = ("127.0.0.1", 1883)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnTracksPhone:
    def __init__(self, client: aiomqtt.Client, base: str, device: str) -> None:
        self.client, self.base, self.device = client, base, device

    async def fix(self, at, lat, lon, acc=8):
        body = {
            "_type": "location",
            "lat": lat,
            "lon": lon,
            "tst": int(at.timestamp()),
            "acc": acc,
            "vel": 36,
            "batt": 77,
        }
        await self.raw(json.dumps(body).encode())

    async def raw(self, payload: bytes, device: str | None = None):
        await self.client.publish(f"{self.base}/{device or self.device}", payload, qos=1)

    async def bad(self, at):
        """Malformed JSON, no timestamp, an unknown phone: three refusals."""
        await self.raw(b"{not json")
        await self.raw(json.dumps({"_type": "location", "lat": 39.79, "lon": -89.65}).encode())
        await self.raw(
            json.dumps(
                {"_type": "location", "lat": 39.79, "lon": -89.65, "tst": int(at.timestamp())}
            ).encode(),
            device="mallory/phone",
        )


class OsmAndPhone:
    def __init__(self, client: httpx.AsyncClient, device: str) -> None:
        self.client, self.device = client, device

    async def fix(self, at, lat, lon, acc=8):
        params = {
            "id": self.device,
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "timestamp": str(int(at.timestamp())),
            "speed": "10",
            "accuracy": str(acc),
            "batt": "77",
        }
        if int(at.timestamp()) % 2:
            reply = await self.client.post("/", data=params)
        else:
            reply = await self.client.get("/", params=params)
        assert reply.status_code in (200, 400), reply.text

    async def bad(self, at):
        r1 = await self.client.get("/?id=&lat=1&lon=2&timestamp=5")
        r2 = await self.client.get(
            "/",
            params={
                "id": self.device,
                "lat": "north",
                "lon": "-89.6",
                "timestamp": str(int(at.timestamp())),
            },
        )
        r3 = await self.client.get(
            "/",
            params={
                "id": "mallory",
                "lat": "39.7",
                "lon": "-89.6",
                "timestamp": str(int(at.timestamp())),
            },
        )
        assert [r.status_code for r in (r1, r2, r3)] == [400, 400, 400]
        assert "no id" in r1.text and "numbers" in r2.text and "no vehicle" in r3.text


async def _settled(runtime, sent: int) -> None:
    await wait_until(lambda: runtime.accepted + sum(runtime.rejects.values()) >= sent, 20)


async def _scenario(hub, clock, runtime, phone, fleet_trip) -> dict[str, int]:
    """Drive the trip; return the number of reports sent."""
    sent = 0
    fixes = drive(clock.now(), every_s=10)

    async def send(lat, lon, acc=8):
        nonlocal sent
        await phone.fix(clock.now(), lat, lon, acc)
        sent += 1
        await _settled(runtime, sent)

    # on the route, with bad reports in between
    for _, lat, lon in fixes[:12]:
        clock.advance(10)
        await send(lat, lon)
    await phone.bad(clock.now())
    sent += 3
    await _settled(runtime, sent)
    # a duplicate, an out-of-order fix, one impossible jump, a low-accuracy fix far away
    last_at = clock.now()
    await phone.fix(last_at, fixes[11][1], fixes[11][2])
    await phone.fix(last_at - timedelta(seconds=5), fixes[11][1], fixes[11][2])
    sent += 2
    clock.advance(5)
    await send(fixes[11][1] + 0.5, fixes[11][2])  # 55 km in 5 s
    clock.advance(10)
    await send(fixes[11][1] + 0.002, fixes[11][2] - 0.002, acc=900)  # 250 m off, but ±900 m
    # the detour: about 330 m west of the first leg for 100 s
    for i in range(10):
        clock.advance(10)
        await send(fixes[11][1] + 0.0003 * i, fixes[11][2] - 0.0039)
    for _, lat, lon in fixes[14:30]:
        clock.advance(10)
        await send(lat, lon)
    # a long stop on the road: 12 minutes in one place
    _, lat, lon = fixes[30]
    for _ in range(13):
        clock.advance(60)
        await send(lat, lon)
    for _, lat, lon in fixes[31:36]:
        clock.advance(10)
        await send(lat, lon)
    return {"sent": sent}


def _alarms(hub, trip_id):
    with hub.db.sessions() as session:
        trip = session.get(Trip, trip_id)
        alarms = session.scalars(
            select(Alarm).where(Alarm.id.in_(list(trip.raised.values())))
        ).all()
        positions = session.scalar(
            select(func.count()).select_from(Position).where(Position.trip_id == trip_id)
        )
        return dict(trip.raised), sorted(a.alarm_type for a in alarms), positions


async def _finish(hub, clock, runtime, trip):
    # the tracker goes silent; the tick finds it, then the trip overdue
    clock.advance(6 * 60)
    await runtime.tick()
    raised, _, _ = _alarms(hub, trip.id)
    assert set(raised) == {"deviation", "unscheduled_stop", "tracker_silent"}
    clock.set(trip.arrive_by + timedelta(minutes=11))
    await runtime.tick()
    await runtime.tick()
    raised, types, positions = _alarms(hub, trip.id)
    assert sorted(raised) == ["deviation", "overdue", "tracker_silent", "unscheduled_stop"]
    assert types == sorted(
        [
            "transport_deviation",
            "transport_overdue",
            "transport_tracker_silent",
            "transport_unscheduled_stop",
        ]
    )
    assert positions > 40


async def test_owntracks_trip_over_mosquitto(hub, clock, fleet):
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError as exc:
        service_missing(f"MQTT broker does not answer: {exc}")
    trip = plan(hub, fleet)
    depart(hub, fleet, trip.id)
    runtime = await start_transport(hub, tick_s=None)
    base = f"test/{str(ULID()).lower()}/owntracks"
    ready = asyncio.Event()
    task = asyncio.create_task(listeners.follow_owntracks(runtime, *BROKER, ready=ready, base=base))
    runtime.keep(task)
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with aiomqtt.Client(*BROKER) as client:
            phone = OwnTracksPhone(client, base, "alice/van1")
            await _scenario(hub, clock, runtime, phone, trip)
        assert runtime.rejects["malformed"] == 1
        assert runtime.rejects["missing_timestamp"] == 1
        assert runtime.rejects["unknown_device"] == 1
        assert runtime.rejects["duplicate"] == 1
        assert runtime.rejects["out_of_order"] == 1
        assert runtime.rejects["impossible_jump"] == 1
        await _finish(hub, clock, runtime, trip)
    finally:
        await runtime.stop()


async def test_osmand_trip_over_http(hub, clock, fleet):
    trip = plan(hub, fleet, vehicle=fleet.car)
    depart(hub, fleet, trip.id)
    runtime = await start_transport(hub, tick_s=None)
    port = _free_port()
    server = await listeners.serve_osmand(runtime, "127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            phone = OsmAndPhone(client, "861234567890123")
            await _scenario(hub, clock, runtime, phone, trip)
        assert runtime.rejects["missing_device"] == 1
        assert runtime.rejects["missing_position"] == 1
        assert runtime.rejects["unknown_device"] == 1
        assert runtime.rejects["duplicate"] == 1
        assert runtime.rejects["impossible_jump"] == 1
        await _finish(hub, clock, runtime, trip)
    finally:
        await server.stop()
        await runtime.stop()


@pytest.mark.parametrize("body", [b'{"device_id": "861234567890123"}', b"\xff\xfe", b"[]"])
async def test_osmand_json_body_errors_are_plain(hub, clock, fleet, body):
    runtime = await start_transport(hub, tick_s=None)
    app = listeners.osmand_app(runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        reply = await client.post("/", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.text.startswith("refused: ")
    await runtime.stop()
