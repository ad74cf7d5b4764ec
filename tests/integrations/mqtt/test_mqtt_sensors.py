"""MQTT sensors: parsing, supervision, debounce and bad input, then against the real broker."""

from __future__ import annotations

import json
import logging

import pytest

from bastion.core.clock import FrozenClock
from bastion.integrations import create
from bastion.integrations.mqtt import MqttIntegration
from bastion.integrations.mqtt.sensors import SensorBoard
from tests.monitoring_support import publish_raw, wait_until

P = "bastion/sensors"


@pytest.fixture
def board(site, clock) -> SensorBoard:
    return SensorBoard(site=site, prefix=P, clock=clock, offline_after_s=30, debounce_s=5)


def _kinds(outputs):
    return [
        (
            o.event_type.name,
            ("up" if o.payload.online else "down")
            if o.event_type.name == "device.status"
            else getattr(o.payload, "state", None) or getattr(o.payload, "value", None),
        )
        for o in outputs
    ]


def _data(outputs):
    """Return the outputs other than link reports."""
    return [o for o in outputs if o.event_type.name != "device.status"]


def test_states_readings_and_doors(board):
    assert _kinds(board.on_message(f"{P}/dock-pir", b"ON")) == [
        ("device.status", "up"),  # the first message: the sensor reports
        ("sensor.state", "active"),
    ]
    assert _kinds(board.on_message(f"{P}/dock-pir/state", b'{"state": "off"}')) == [
        ("sensor.state", "inactive")
    ]
    assert _kinds(_data(board.on_message(f"{P}/dock-door-dc", b"forced"))) == [
        ("door.forced", "forced")
    ]
    assert _kinds(board.on_message(f"{P}/dock-door-dc", b"closed")) == [("door.state", "closed")]
    out = _data(
        board.on_message(
            "bastion/dispensary-main/env/restroom", b'{"vape_index": 12, "sound_db": 61.5}'
        )
    )
    assert _kinds(out) == [("sensor.reading", 12.0), ("sensor.reading", 61.5)]
    assert out[0].payload.unit == "index"


def test_silence_reports_the_link_down_after_n_seconds(board, clock: FrozenClock):
    board.on_message(f"{P}/dock-pir", b"heartbeat")
    clock.advance(29)
    assert board.check() == []
    clock.advance(1)
    (down,) = board.check()
    assert _kinds([down]) == [("device.status", "down")]
    assert (down.payload.kind, down.payload.detail) == ("sensor", "no message for 30 s")
    assert board.check() == []  # once
    assert _kinds(board.on_message(f"{P}/dock-pir", b"OFF")) == [
        ("device.status", "up"),
        ("sensor.state", "inactive"),
    ]


def test_a_restart_reports_the_link_and_never_a_false_activation(board, clock: FrozenClock):
    board.on_message(f"{P}/dock-pir", b"OFF")
    assert _kinds(board.on_message(f"{P}/dock-pir/availability", b"offline")) == [
        ("device.status", "down")
    ]
    clock.advance(2)
    # Comes back and, as many sensors do at boot, reports a spurious activation, then quiet.
    assert _kinds(board.on_message(f"{P}/dock-pir/availability", b"online")) == [
        ("device.status", "up")
    ]
    assert board.on_message(f"{P}/dock-pir", b"ON") == []
    assert _kinds(board.on_message(f"{P}/dock-pir", b"OFF")) == [("sensor.state", "inactive")]
    clock.advance(6)
    assert board.check() == []


def test_activation_that_persists_through_the_settle_window_is_released(board, clock: FrozenClock):
    board.on_message(f"{P}/dock-pir/availability", b"offline")
    board.on_message(f"{P}/dock-pir/availability", b"online")
    assert board.on_message(f"{P}/dock-pir", b"ON") == []
    clock.advance(5)
    assert _kinds(board.check()) == [("sensor.state", "active")]


def test_panic_is_never_held(board):
    board.on_message(f"{P}/checkin-panic/availability", b"offline")
    board.on_message(f"{P}/checkin-panic/availability", b"online")
    assert _kinds(board.on_message(f"{P}/checkin-panic", b"pressed")) == [
        ("sensor.state", "active")
    ]


def test_unavailable_is_reported_down_once(board, clock: FrozenClock):
    board.on_message(f"{P}/dock-pir", b"OFF")
    assert _kinds(board.on_message(f"{P}/dock-pir", b"unavailable")) == [("device.status", "down")]
    clock.advance(30)
    assert board.check() == []
    assert board.status("dock-pir") == "offline"


@pytest.mark.parametrize(
    ("topic", "payload", "what"),
    [
        (f"{P}/dock-pir", b"x" * 5000, "bytes"),
        (f"{P}/nosuch-sensor", b"ON", "unknown sensor"),
        ("bastion/dispensary-main/env/restroom", b'{"vape_index": 12,', "malformed JSON"),
        ("bastion/dispensary-main/env/restroom", b'{"vape_index": 1e9}', "outside"),
        ("bastion/dispensary-main/env/restroom", b'{"vape_index": "lots"}', "non-numeric"),
        (f"{P}/dock-pir", b"\xff\xfe", "not UTF-8"),
        (f"{P}/dock-pir", b"banana", "unknown state"),
        (f"{P}/dock-door-dc", b"ajar", "unknown door state"),
    ],
)
def test_bad_input_gives_one_warning_and_no_output(board, caplog, topic, payload, what):
    caplog.set_level(logging.WARNING, logger="bastion.integrations.mqtt.sensors")
    for _ in range(3):
        out = board.on_message(topic, payload)
        assert _data(out) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and what in warnings[0].getMessage()
    assert board.rejected == 3


async def test_integration_against_mosquitto(hub, site, broker, prefix, recorder, caplog):
    caplog.set_level(logging.WARNING)
    integration, config = create(
        {
            "type": "mqtt",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"bastion-{prefix[-8:]}",
            "debounce_s": 0,
        }
    )
    assert isinstance(integration, MqttIntegration)
    await integration.setup(hub, config)
    try:
        assert integration.connection is not None
        await wait_until(integration.connection.connected.is_set)
        await publish_raw(f"{prefix}/dock-pir", b"ON")
        await publish_raw(f"{prefix}/dock-pir", b"{broken")  # malformed
        await publish_raw(f"{prefix}/ghost", b"ON")  # unknown sensor
        await publish_raw(f"{prefix}/dock-pir", b"y" * 10_000)  # oversized
        await publish_raw(f"{prefix}/dock-door-dc", json.dumps({"state": "forced"}))
        await publish_raw(f"{prefix}/dock-pir/availability", b"offline")
        await wait_until(
            lambda: [e.payload.online for e in recorder.of("device.status")][-1:] == [False]
        )
        await hub.bus.drain()
    finally:
        await integration.unload()
    assert [e.payload.state for e in recorder.of("sensor.state")] == ["active"]
    assert [e.payload.door_id for e in recorder.of("door.forced")] == ["dock-door"]
    down = recorder.of("device.status")[-1].payload
    assert (down.device_id, down.kind) == ("dock-pir", "sensor")
    assert recorder.of("door.forced")[0].context.actor == "device:dock-door-dc"
    assert hub.ledger.query(types=["door.forced"])  # security events reached the ledger
    assert integration.board is not None and integration.board.rejected == 3


DEEP = b"[" * 2000 + b"]" * 2000
HUGE_INT = b'{"vape_index": ' + b"9" * 500 + b"}"
HUGE_FLOAT = b'{"vape_index": ' + b"9" * 400 + b".5}"
HOSTILE = [
    (f"{P}/dock-pir", DEEP, "nested 2000 levels deep"),
    ("bastion/dispensary-main/env/restroom", HUGE_INT, "a number 500 characters long"),
    ("bastion/dispensary-main/env/restroom", HUGE_FLOAT, "a number 402 characters long"),
    ("bastion/dispensary-main/env/restroom", b'{"vape_index": NaN}', "NaN is not a number"),
    ("bastion/dispensary-main/env/restroom", b'{"vape_index": 1e999}', "is too large"),
    ("bastion/dispensary-main/env/restroom", b'{"x' + b"q" * 3000 + b'": 1}', "unknown quantity"),
]


@pytest.mark.parametrize(("topic", "payload", "what"), HOSTILE)
def test_hostile_payloads_are_bad_input_not_exceptions(board, caplog, topic, payload, what):
    caplog.set_level(logging.WARNING, logger="bastion.integrations.mqtt.sensors")
    assert _data(board.on_message(topic, payload)) == []
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert what in warning.getMessage() and len(warning.getMessage()) < 300
    assert board.rejected == 1


async def test_hostile_payloads_over_mosquitto_are_counted_and_the_next_message_works(
    hub, site, broker, prefix, recorder, caplog
):
    caplog.set_level(logging.WARNING)
    integration, config = create(
        {"type": "mqtt", "site_id": site.site.id, "topic_prefix": prefix, "debounce_s": 0}
    )
    assert isinstance(integration, MqttIntegration)
    await integration.setup(hub, config)
    try:
        assert integration.connection is not None and integration.board is not None
        await wait_until(integration.connection.connected.is_set)
        restroom = "bastion/dispensary-main/env/restroom"
        for topic, payload, _ in HOSTILE:
            await publish_raw(topic.replace(P, prefix), payload)
        await publish_raw(f"{prefix}/{'z' * 60_000}", b"ON")  # a 60,000-character sensor id
        await publish_raw(restroom, b'{"vape_index": 12}')
        await wait_until(lambda: len(recorder.of("sensor.reading")) == 1)
        await hub.bus.drain()
    finally:
        await integration.unload()
    assert integration.connection is None or integration.connection.errors == 0
    assert integration.board.rejected == len(HOSTILE) + 1
    assert [e.payload.value for e in recorder.of("sensor.reading")] == [12.0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert max(len(r.getMessage()) for r in caplog.records) < 300
