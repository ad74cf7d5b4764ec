"""Frigate: its MQTT event contract becomes detections and health; PTZ presets go back out."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.core.events import EVENT_CAMERA_PTZ, CameraPtzPayload
from bastion.integrations import create
from bastion.integrations.frigate.events import FrigateTranslator
from tests.monitoring_support import Listener, publish_raw, wait_until


def _obj(**after):
    base = {
        "id": "1700000000.1-abc",
        "camera": "dock_apron",
        "label": "person",
        "false_positive": False,
        "entered_zones": [],
        "current_zones": [],
        "stationary": False,
        "start_time": 1700000000.0,
        "frame_time": 1700000001.0,
    }
    base.update(after)
    return base


def _msg(kind, before, after) -> bytes:
    return json.dumps({"type": kind, "before": before, "after": after}).encode()


@pytest.fixture
def translator() -> FrigateTranslator:
    return FrigateTranslator(
        cameras={"dock_apron": "cam-dock-apron"},
        zones={"dock_door_area": "parking", "restricted_bay": "loading-dock"},
        loitering_zones=frozenset({"dock_door_area"}),
        vehicle_zones=frozenset({"restricted_bay"}),
        stationary_s=10,
    )


def test_entry_into_a_loitering_zone_is_the_loitering_alert(translator):
    before = _obj()
    after = _obj(entered_zones=["dock_door_area"], current_zones=["dock_door_area"], top_score=0.8)
    (out,) = translator.on_message("frigate/events", _msg("update", before, after))
    p = out.payload
    assert (p.kind, p.camera_id, p.zone_id, p.source_id) == (
        "loitering",
        "cam-dock-apron",
        "parking",
        after["id"],
    )
    assert (
        translator.on_message("frigate/events", _msg("update", after, after)) == []
    )  # no re-entry
    review = {
        "id": "r1",
        "camera": "dock_apron",
        "severity": "alert",
        "data": {"detections": [after["id"]], "zones": ["dock_door_area"], "objects": ["person"]},
    }
    assert translator.on_message("frigate/reviews", _msg("new", {}, review)) == []  # same object


def test_false_positives_and_short_stops_are_ignored(translator):
    fp = _obj(false_positive=True, entered_zones=["dock_door_area"])
    assert translator.on_message("frigate/events", _msg("new", {}, fp)) == []
    car = _obj(
        id="2-car",
        label="car",
        stationary=True,
        current_zones=["restricted_bay"],
        frame_time=1700000005.0,
    )
    assert translator.on_message("frigate/events", _msg("update", car, car)) == []
    parked = {**car, "frame_time": 1700000012.0}
    (out,) = translator.on_message("frigate/events", _msg("update", car, parked))
    assert (out.payload.kind, out.payload.zone_id, out.payload.label) == (
        "stationary_vehicle",
        "loading-dock",
        "car",
    )


def test_availability_and_bad_input(translator, caplog):
    assert translator.on_message("frigate/available", b"online") == []
    (out,) = translator.on_message("frigate/available", b"offline")
    assert out.payload.status == "offline" and out.payload.device_id == "frigate"
    (back,) = translator.on_message("frigate/available", b"online")
    assert back.payload.status == "restored"
    for payload in (b"{nope", b'{"type": "new"}', b"x" * 70000, b'{"after": {"camera": "c"}}'):
        assert translator.on_message("frigate/events", payload) == []
    assert translator.rejected == 4
    assert (
        len([r for r in caplog.records if r.levelname == "WARNING"]) == 4
    )  # one per distinct problem


async def test_frigate_over_mosquitto_raises_alarms_and_sends_ptz(
    hub, site, broker, prefix, recorder
):
    alarms = await start_alarms(hub, tick_s=None)
    integration, config = create(
        {
            "type": "frigate",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"fr-{prefix[-8:]}",
            "cameras": {"dock_apron": "cam-dock-apron", "lot_ptz": "cam-lot-ptz"},
            "zones": {"dock_door_area": "parking"},
            "loitering_zones": ["dock_door_area"],
        }
    )
    listener = Listener([f"{prefix}/+/ptz"])
    await listener.start()
    await integration.setup(hub, config)
    try:
        await wait_until(integration.connection.connected.is_set)
        after = _obj(entered_zones=["dock_door_area"])
        await publish_raw(f"{prefix}/events", _msg("update", _obj(), after))
        await publish_raw(f"{prefix}/available", b"offline")
        await wait_until(lambda: len(recorder.of("device.health")) == 1)
        await hub.bus.publish(
            EVENT_CAMERA_PTZ,
            CameraPtzPayload(camera_id="cam-lot-ptz", preset="dock-apron"),
            context=Context(actor="rule:test"),
            site=site.site.id,
        )
        await listener.wait_for(lambda m: (f"{prefix}/lot_ptz/ptz", "preset_dock-apron") in m)
        await hub.bus.drain()
        await hub.bus.drain()
    finally:
        await integration.unload()
        await listener.stop()
        await alarms.stop()
    with hub.db.sessions() as session:
        types = sorted(a.alarm_type for a in session.execute(select(Alarm)).scalars())
    assert types == ["device_offline", "loitering"]


def test_a_stationary_vehicle_with_fps_zero_uses_the_frame_times(translator):
    car = _obj(
        id="3-car",
        label="car",
        stationary=True,
        current_zones=["restricted_bay"],
        motionless_count=300,
        fps=0,
        frame_time=1700000012.0,
    )
    (out,) = translator.on_message("frigate/events", _msg("update", car, car))
    assert out.payload.kind == "stationary_vehicle"


def _hostile() -> list[tuple[bytes, str]]:
    long_camera = _obj(camera="c" * 60_000, entered_zones=["dock_door_area"])
    return [
        (b"[" * 20_000 + b"]" * 20_000, "nested 20000 levels deep"),
        (_msg("update", _obj(), _obj(top_score=int("9" * 500))), "a number 500 characters long"),
        (_msg("update", _obj(), long_camera), "not in the site model"),
        (_msg("update", _obj(), _obj(camera="garage")), "not in the site model"),
        (_msg("update", _obj(), _obj(id="i" * 1000)), "usable 'after.id'"),
        (b'{"after": {"camera": "dock_apron", "fps": Infinity}}', "Infinity is not a number"),
    ]


def test_hostile_frigate_messages_are_bad_input_not_exceptions(translator, caplog):
    for payload, what in _hostile():
        caplog.clear()
        fresh = dataclasses.replace(translator, warned=set(), reported=set(), rejected=0)
        assert fresh.on_message("frigate/events", payload) == []
        (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
        assert what in warning.getMessage() and len(warning.getMessage()) < 300
        assert fresh.rejected == 1


async def test_hostile_frigate_messages_over_mosquitto_leave_the_ledger_clean(
    hub, site, broker, prefix, recorder, caplog
):
    caplog.set_level(logging.WARNING)
    alarms = await start_alarms(hub, tick_s=None)
    integration, config = create(
        {
            "type": "frigate",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"fr-{prefix[-8:]}",
            "cameras": {"dock_apron": "cam-dock-apron"},
            "zones": {"dock_door_area": "parking", "restricted_bay": "loading-dock"},
            "loitering_zones": ["dock_door_area"],
            "vehicle_zones": ["restricted_bay"],
        }
    )
    await integration.setup(hub, config)
    try:
        await wait_until(integration.connection.connected.is_set)
        for payload, _ in _hostile():
            await publish_raw(f"{prefix}/events", payload)
        car = _obj(
            id="9-car",
            label="car",
            stationary=True,
            current_zones=["restricted_bay"],
            motionless_count=900,
            fps=0,
            frame_time=1700000100.0,
        )
        await publish_raw(f"{prefix}/events", _msg("update", car, car))
        await wait_until(lambda: len(recorder.of("video.detection")) == 1)
        await hub.bus.drain()
        await hub.bus.drain()
    finally:
        await integration.unload()
        await alarms.stop()
    assert integration.translator.rejected == len(_hostile())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with hub.db.sessions() as session:
        assert [a.alarm_type for a in session.execute(select(Alarm)).scalars()] == [
            "stationary_vehicle"
        ]
    assert max(len(r.payload) for r in hub.ledger.query(limit=1000)) < 2000
