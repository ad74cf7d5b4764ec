from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from bastion.core.clock import FrozenClock, SystemClock
from bastion.core.context import Context
from bastion.core.errors import ConfigError, InvalidInput
from bastion.core.events import (
    CATALOGUE,
    EVENT_ACCESS_DECISION,
    EVENT_DOOR_FORCED,
    AccessDecisionPayload,
    AlarmPayload,
    DoorPayload,
    EventType,
    Payload,
    canonical_json,
    lookup,
    make_event,
    register,
)
from bastion.core.events import EVENT_ALARM_RAISED as EVENT_ALARM_RAISED_T


def test_payloads_are_frozen_and_strict():
    payload = DoorPayload(door_id="d", state="forced")
    with pytest.raises(pydantic.ValidationError):
        payload.door_id = "x"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        DoorPayload(door_id="d", state="forced", colour="red")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        DoorPayload(door_id="d", state="ajar")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        AlarmPayload(alarm_type="x", priority=9, message="m")


def test_make_event_checks_payload_type_and_time():
    with pytest.raises(InvalidInput, match="expects DoorPayload"):
        make_event(EVENT_DOOR_FORCED, AlarmPayload(alarm_type="x", priority=1, message="m"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timezone-aware"):
        make_event(
            EVENT_DOOR_FORCED, DoorPayload(door_id="d", state="forced"), time=datetime(2026, 1, 1)
        )


def test_event_subject_device_and_canonical_json():
    event = make_event(
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(
            door_id="vault", reader_id="r1", subject="p1", granted=False, reason="revoked"
        ),
        time=datetime(2026, 1, 1, 12, tzinfo=UTC),
    )
    assert event.subject == "p1"
    assert event.device == "vault"
    assert event.payload_json() == canonical_json(event.payload.model_dump(mode="json"))
    assert event.payload_json().index('"door_id"') < event.payload_json().index('"granted"')
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_catalogue_lookup_and_duplicate_registration():
    assert lookup("door.forced") is EVENT_DOOR_FORCED
    with pytest.raises(InvalidInput, match="unknown event type"):
        lookup("door.exploded")

    class Other(Payload):
        x: int

    with pytest.raises(ValueError, match="already registered"):
        register(EventType("door.forced", Other, "clash"))
    assert register(EVENT_DOOR_FORCED) is EVENT_DOOR_FORCED
    assert all(name == et.name for name, et in CATALOGUE.items())


def test_context_child_chain():
    root = Context(actor="user:1")
    child = root.child(actor="rule:r")
    grandchild = child.child()
    assert child.parent_id == root.id and grandchild.parent_id == child.id
    assert grandchild.actor == "rule:r"
    assert len({root.id, child.id, grandchild.id}) == 3


def test_frozen_clock():
    clock = FrozenClock(datetime(2026, 3, 8, 7, 59, tzinfo=UTC))
    start_mono = clock.monotonic()
    clock.advance(61)
    assert clock.now() == datetime(2026, 3, 8, 8, 0, 1, tzinfo=UTC)
    assert clock.monotonic() - start_mono == 61
    clock.set(datetime(2026, 3, 8, 9, tzinfo=UTC))
    assert clock.now().hour == 9
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
    default = FrozenClock()
    assert default.now().tzinfo is not None


def test_system_clock_is_aware_and_monotonic():
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is not None and abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert clock.monotonic() <= clock.monotonic()


def test_config_error_location_formatting():
    err = ConfigError("unknown zone 'x'", file="site.yaml", line=12, field="doors.3.to")
    assert str(err) == "site.yaml:12: doors.3.to: unknown zone 'x'"
    assert str(ConfigError("bad", field="version")) == "version: bad"
    assert str(ConfigError("bad")) == "bad"
    assert ConfigError("x", file="f").location == "f"


def test_event_without_device_or_subject():
    event = make_event(EVENT_ALARM_RAISED_T, AlarmPayload(alarm_type="x", priority=2, message="m"))
    assert event.device is None and event.subject is None
