"""Walk tests: the zone's devices are on hold (no alarm, no rule), each must report once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.automation.arming import ArmingBoard
from bastion.automation.config import parse_rules
from bastion.automation.engine import RuleEngine
from bastion.automation.state import RuleEnv
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_DEVICE_HOLD,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_REX,
    EVENT_DOOR_STATE,
    EVENT_READER_CARD,
    EVENT_SENSOR_STATE,
    DeviceHoldPayload,
    DoorPayload,
    ReaderCardPayload,
    SensorStatePayload,
    make_event,
)
from bastion.maintenance import walktests
from bastion.maintenance.upkeep import start_upkeep

CTX = Context(actor="user:tech")


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm)).scalars())


async def _pir(hub, site, device="cash-pir", zone="cash-room") -> None:
    await hub.bus.publish(
        EVENT_SENSOR_STATE,
        SensorStatePayload(device_id=device, sensor_type="motion", state="active", zone_id=zone),
        context=Context(actor=f"device:{device}"),
        site=site.site.id,
    )


@pytest.fixture
async def runtimes(hub):
    alarms = await start_alarms(hub, tick_s=None)
    upkeep = await start_upkeep(hub, tick_s=None)
    yield upkeep
    await upkeep.stop()
    await alarms.stop()


async def test_a_walk_test_holds_alarms_and_fails_the_one_silent_device(hub, site, clock, runtimes):
    sid = site.site.id
    with hub.unit_of_work() as session:
        started = walktests.start(
            session=session,
            site=site,
            zone_id="cash-room",
            minutes=30,
            context=CTX,
            now=clock.now(),
        )
    test_id = started.test.id
    assert "cash-door" in started.held and "cash-panic" in started.devices
    device = Context(actor="device:test")
    await _pir(hub, site)  # the cash room is a 24-hour zone: this would be an intrusion alarm
    for reader in ("cash-door-rdr-in", "cash-door-rdr-out"):
        await hub.bus.publish(
            EVENT_READER_CARD,
            ReaderCardPayload(reader_id=reader, door_id="cash-door", credential_ref="x", bits=26),
            context=device,
            site=sid,
        )
    door = DoorPayload(door_id="cash-door", state="open", zone_id="cash-room")
    for event_type in (EVENT_DOOR_STATE, EVENT_DOOR_REX, EVENT_DOOR_FORCED):
        await hub.bus.publish(event_type, door, context=device, site=sid)
    await hub.bus.drain()
    await hub.bus.drain()
    assert _alarms(hub) == []  # forced door and motion in a 24-hour zone: held, no alarm
    clock.advance(31 * 60)
    await runtimes.tick()
    await hub.bus.drain()
    with hub.db.sessions() as session:
        test = walktests.get(session=session, test_id=test_id)
        outcome = {
            d.device_id: d.result for d in walktests.results(session=session, test_id=test_id)
        }
    assert test.state == "failed"
    assert [d for d, r in outcome.items() if r != "passed"] == ["cash-panic"]
    ledgered = [r.payload for r in hub.ledger.query(types=["maintenance.walk_test"])]
    assert '"failed":["cash-panic"]' in ledgered[0]
    holds = hub.ledger.query(types=["device.hold"])
    assert [('"active":true' in r.payload) for r in reversed(holds)] == [True, False]
    await _pir(hub, site)  # the hold is over: the sensor alarms again
    await hub.bus.drain()
    await hub.bus.drain()
    assert [a.alarm_type for a in _alarms(hub)] == ["intrusion"]


async def test_other_zones_keep_alarming_during_a_walk_test(hub, site, clock, runtimes):
    with hub.unit_of_work() as session:
        walktests.start(
            session=session,
            site=site,
            zone_id="cash-room",
            minutes=30,
            context=CTX,
            now=clock.now(),
        )
    await _pir(hub, site, device="vault-pir-1", zone="vault")
    await hub.bus.drain()
    await hub.bus.drain()
    assert [a.device_id for a in _alarms(hub)] == ["vault-pir-1"]


def test_walk_tests_refuse_unknown_zones_empty_zones_bad_windows_and_doubles(hub, site, clock):
    now = clock.now()
    with hub.unit_of_work() as session:
        with pytest.raises(NotFound):
            walktests.start(
                session=session, site=site, zone_id="moon", minutes=5, context=CTX, now=now
            )
        with pytest.raises(InvalidInput, match="no sensors"):
            walktests.start(
                session=session, site=site, zone_id="restroom", minutes=5, context=CTX, now=now
            )
        with pytest.raises(InvalidInput, match="between"):
            walktests.start(
                session=session, site=site, zone_id="vault", minutes=0, context=CTX, now=now
            )
        walktests.start(
            session=session, site=site, zone_id="vault", minutes=5, context=CTX, now=now
        )
        with pytest.raises(Conflict):
            walktests.start(
                session=session, site=site, zone_id="vault", minutes=5, context=CTX, now=now
            )


async def test_the_rules_engine_does_not_fire_on_a_held_device(site, clock):
    (rule,) = parse_rules(
        "version: 1\nrules:\n  - id: pir\n"
        "    triggers: [{kind: event, event_type: sensor.state}]\n"
        "    actions: [{action: lock_door, doors: adjacent}]\n"
    ).rules
    board = ArmingBoard({site.site.id: site})
    engine = RuleEngine(RuleEnv(sites={site.site.id: site}, board=board, clock=clock), dry_run=True)
    engine.load([rule])
    pir = make_event(
        EVENT_SENSOR_STATE,
        SensorStatePayload(device_id="cash-pir", sensor_type="motion", state="active"),
        time=clock.now(),
        site=site.site.id,
    )
    hold = make_event(
        EVENT_DEVICE_HOLD,
        DeviceHoldPayload(
            device_ids=("cash-pir",), active=True, until=clock.now() + timedelta(minutes=5)
        ),
        time=clock.now(),
        site=site.site.id,
    )
    assert len(await engine.process(pir)) == 1
    await engine.process(hold)
    assert await engine.process(pir) == []
    other = make_event(
        EVENT_SENSOR_STATE,
        SensorStatePayload(device_id="vault-pir-1", sensor_type="motion", state="active"),
        time=clock.now(),
        site=site.site.id,
    )
    assert len(await engine.process(other)) == 1
    later = make_event(
        EVENT_SENSOR_STATE,
        SensorStatePayload(device_id="cash-pir", sensor_type="motion", state="active"),
        time=clock.now() + timedelta(minutes=6),
        site=site.site.id,
    )
    assert len(await engine.process(later)) == 1  # the hold expired
