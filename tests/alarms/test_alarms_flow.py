"""Alarms: raising from device events, priority, dedup, correlation, lifecycle, SOPs, arming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.alarms import service
from bastion.alarms.models import Alarm, Incident
from bastion.alarms.runtime import start_alarms
from bastion.alarms.sop import Sop, load_sops
from bastion.automation import arming
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_DEVICE_HEALTH,
    EVENT_DOOR_FORCED,
    EVENT_SENSOR_READING,
    EVENT_SENSOR_STATE,
    EVENT_VIDEO_DETECTION,
    AlarmPayload,
    DeviceHealthPayload,
    DoorPayload,
    SensorReadingPayload,
    SensorStatePayload,
    VideoDetectionPayload,
)
from bastion.site.schemas import Layer

OPERATOR = "user:7"


@pytest.fixture
async def alarms(hub):
    runtime = await start_alarms(hub, tick_s=None)
    yield runtime
    await runtime.stop()


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm).order_by(Alarm.raised_at, Alarm.id)).scalars())


def _incidents(hub) -> list[Incident]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Incident)).scalars())


async def _publish(hub, site, event_type, payload, actor="device:x"):
    event = await hub.bus.publish(
        event_type, payload, context=Context(actor=actor), site=site.site.id
    )
    await hub.bus.drain()
    await hub.bus.drain()
    return event


def test_priority_comes_from_type_and_layer():
    assert service.priority_for("door_forced", Layer.BUILDING) == 2
    assert service.priority_for("door_forced", Layer.VAULT) == 1
    assert service.priority_for("door_held", Layer.RESTRICTED) == 3
    assert service.priority_for("device_trouble", None) == 5
    assert service.priority_for("panic", Layer.VAULT) == 1


async def test_forced_door_raises_one_alarm_with_sop_incident_and_evidence(
    hub, site, alarms, recorder
):
    forced = await _publish(
        hub,
        site,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="vault-door", state="forced", zone_id="vault"),
    )
    # The simulator-style duplicate: another component raises the same alarm for the same event.
    await _publish(
        hub,
        site,
        EVENT_ALARM_RAISED,
        AlarmPayload(
            alarm_type="door_forced",
            priority=1,
            message="dup",
            door_id="vault-door",
            source_event_id=forced.id,
        ),
    )
    (alarm,) = _alarms(hub)
    assert (
        alarm.alarm_type == "door_forced" and alarm.priority == 1 and alarm.sop_id == "door_forced"
    )
    assert alarm.source_event_id == forced.id and alarm.incident_id is not None
    raised = next(e for e in recorder.of("alarm.raised") if e.id == alarm.raised_event_id)
    assert raised.context.parent_id == forced.context.id  # why: walk up to the forced door
    with hub.db.sessions() as session:
        evidence = service.evidence_of(session=session, alarm_id=alarm.id)
    kinds = {(e.kind, e.ref) for e in evidence}
    assert ("event", forced.id) in kinds
    cameras = service.covering_cameras(site, "vault", "vault-door")
    assert cameras and {r for k, r in kinds if k == "bookmark"} == set(cameras)


async def test_alarms_published_by_others_are_ingested_once(hub, site, alarms):
    event = await _publish(
        hub,
        site,
        EVENT_ALARM_RAISED,
        AlarmPayload(alarm_type="lockout", priority=3, message="account locked"),
        actor="auth",
    )
    (alarm,) = _alarms(hub)
    assert (
        alarm.raised_event_id == event.id
        and alarm.alarm_type == "lockout"
        and alarm.sop_id == "default"
    )


async def test_related_alarms_in_adjacent_zones_share_an_incident(hub, site, alarms, clock):
    await _publish(
        hub,
        site,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="dock-door", state="forced", zone_id="loading-dock"),
    )
    clock.advance(60)
    await _publish(
        hub,
        site,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="dock-boh", state="forced", zone_id="back-of-house"),
    )
    clock.advance(1000)  # outside the window: a new incident
    await _publish(
        hub,
        site,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="vault-door", state="forced", zone_id="vault"),
    )
    a, b, c = _alarms(hub)
    assert a.incident_id == b.incident_id != c.incident_id
    incident = next(i for i in _incidents(hub) if i.id == a.incident_id)
    assert set(incident.zone_ids) == {"loading-dock", "back-of-house"}


async def test_lifecycle_records_reaction_times_and_needs_reasons(hub, site, alarms, clock):
    await _publish(
        hub,
        site,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="dock-door", state="forced", zone_id="loading-dock"),
    )
    (alarm,) = _alarms(hub)
    sops = alarms.sops
    ctx = Context(actor=OPERATOR)
    clock.advance(42)
    with hub.unit_of_work() as session:
        service.acknowledge(
            session=session, alarm_id=alarm.id, operator=OPERATOR, context=ctx, now=clock.now()
        )
    with hub.unit_of_work() as session, pytest.raises(Conflict, match="still open"):
        service.resolve(
            session=session,
            alarm_id=alarm.id,
            operator=OPERATOR,
            context=ctx,
            now=clock.now(),
            sops=sops,
        )
    steps = [("view_camera", "no"), ("check_locks", "yes"), ("send_guard", "door dented")]
    for step_id, answer in steps:
        clock.advance(10)
        with hub.unit_of_work() as session:
            service.complete_step(
                session=session,
                alarm_id=alarm.id,
                step_id=step_id,
                answer=answer,
                operator=OPERATOR,
                context=ctx,
                now=clock.now(),
                sops=sops,
            )
    with hub.unit_of_work() as session, pytest.raises(InvalidInput, match="reason"):
        service.skip_step(
            session=session,
            alarm_id=alarm.id,
            step_id="notify_manager",
            reason=" ",
            operator=OPERATOR,
            context=ctx,
            now=clock.now(),
            sops=sops,
        )
    with hub.unit_of_work() as session:
        service.skip_step(
            session=session,
            alarm_id=alarm.id,
            step_id="notify_manager",
            reason="manager on site",
            operator=OPERATOR,
            context=ctx,
            now=clock.now(),
            sops=sops,
        )
    clock.advance(8)
    with hub.unit_of_work() as session:
        service.resolve(
            session=session,
            alarm_id=alarm.id,
            operator=OPERATOR,
            context=ctx,
            now=clock.now(),
            sops=sops,
        )
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert alarm.state == "resolved" and alarm.ack_seconds == 42 and alarm.resolve_seconds == 38
    with hub.db.sessions() as session:
        log = service.step_log(session=session, alarm_id=alarm.id)
        stats = service.reaction_stats(session=session)
    assert [(s.step_id, s.outcome, s.operator) for s in log][-1] == (
        "notify_manager",
        "skipped",
        OPERATOR,
    )
    assert log[-1].reason == "manager on site"
    assert stats.median_ack_s == 42
    notices = hub.ledger.query(types=["notify.requested"])
    assert len(notices) == 1 and '"supervisor"' in notices[0].payload
    (incident,) = _incidents(hub)
    assert incident.status == "closed"


async def test_false_alarm_needs_a_reason(hub, site, alarms):
    await _publish(
        hub, site, EVENT_DEVICE_HEALTH, DeviceHealthPayload(device_id="dock-pir", status="tamper")
    )
    (alarm,) = _alarms(hub)
    assert alarm.alarm_type == "tamper"
    ctx = Context(actor=OPERATOR)
    with hub.unit_of_work() as session, pytest.raises(InvalidInput):
        service.mark_false_alarm(
            session=session,
            alarm_id=alarm.id,
            operator=OPERATOR,
            reason="",
            context=ctx,
            now=hub.clock.now(),
        )
    with hub.unit_of_work() as session:
        service.mark_false_alarm(
            session=session,
            alarm_id=alarm.id,
            operator=OPERATOR,
            reason="cleaner bumped it",
            context=ctx,
            now=hub.clock.now(),
        )
    assert _alarms(hub)[0].state == "false_alarm"


def test_sop_branches_and_cycles():
    sops = load_sops()
    sop = sops.for_type("door_forced")
    assert sop.following("view_camera", "yes") == "call_police"
    assert sop.following("view_camera", "no") == "check_locks"
    with pytest.raises(InvalidInput):
        sop.following("view_camera", "maybe")
    with pytest.raises(ValueError, match="cycle"):
        Sop.model_validate(
            {
                "id": "x",
                "title": "x",
                "alarm_types": ["x"],
                "steps": [
                    {"id": "a", "prompt": "a", "answers": {"yes": "b", "no": "end"}},
                    {"id": "b", "prompt": "b", "next": "a"},
                ],
            }
        )


async def test_intrusion_respects_arming_entry_delay_and_bypass(hub, site, alarms, clock):
    motion = SensorStatePayload(
        device_id="dock-pir", sensor_type="motion", state="active", zone_id="loading-dock"
    )
    await _publish(hub, site, EVENT_SENSOR_STATE, motion)  # disarmed: nothing
    assert _alarms(hub) == []
    with hub.unit_of_work() as session:
        arming.set_arming(
            session=session,
            site=site,
            zone_id="loading-dock",
            armed=True,
            context=Context(actor=OPERATOR),
            now=clock.now(),
            exit_delay_s=30,
            entry_delay_s=20,
        )
    await hub.bus.drain()
    clock.advance(31)
    await _publish(hub, site, EVENT_SENSOR_STATE, motion)
    clock.advance(10)
    with hub.unit_of_work() as session:  # disarmed inside the entry delay: no alarm
        arming.set_arming(
            session=session,
            site=site,
            zone_id="loading-dock",
            armed=False,
            context=Context(actor=OPERATOR),
            now=clock.now(),
        )
    await hub.bus.drain()
    clock.advance(30)
    alarms.tick()
    assert _alarms(hub) == []
    with hub.unit_of_work() as session:
        arming.set_arming(
            session=session,
            site=site,
            zone_id="loading-dock",
            armed=True,
            context=Context(actor=OPERATOR),
            now=clock.now(),
            entry_delay_s=20,
        )
        arming.bypass_sensor(
            session=session,
            site=site,
            device_id="dock-pir",
            reason="faulty lens",
            until=clock.now() + timedelta(hours=1),
            context=Context(actor=OPERATOR),
            now=clock.now(),
        )
    await hub.bus.drain()
    await _publish(hub, site, EVENT_SENSOR_STATE, motion)  # bypassed
    clock.advance(3601)
    await _publish(hub, site, EVENT_SENSOR_STATE, motion)  # bypass expired → pending entry
    clock.advance(21)
    alarms.tick()
    (alarm,) = _alarms(hub)
    assert alarm.alarm_type == "intrusion" and alarm.device_id == "dock-pir"


async def test_24_hour_zones_cannot_be_disarmed_and_raise_at_once(hub, site, alarms):
    with hub.unit_of_work() as session, pytest.raises(Conflict, match="24-hour"):
        arming.set_arming(
            session=session,
            site=site,
            zone_id="vault",
            armed=False,
            context=Context(actor=OPERATOR),
            now=hub.clock.now(),
        )
    with hub.unit_of_work() as session, pytest.raises(InvalidInput, match="reason"):
        arming.bypass_sensor(
            session=session,
            site=site,
            device_id="vault-pir-1",
            reason="",
            until=hub.clock.now() + timedelta(hours=1),
            context=Context(actor=OPERATOR),
            now=hub.clock.now(),
        )
    await _publish(
        hub,
        site,
        EVENT_SENSOR_STATE,
        SensorStatePayload(
            device_id="vault-pir-1", sensor_type="motion", state="active", zone_id="vault"
        ),
    )
    (alarm,) = _alarms(hub)
    assert alarm.alarm_type == "intrusion" and alarm.priority == 1


async def test_trouble_and_thresholds_and_video(hub, site, alarms):
    await _publish(
        hub,
        site,
        EVENT_DEVICE_HEALTH,
        DeviceHealthPayload(device_id="dock-pir", status="trouble", detail="unavailable"),
    )
    for value in (50.0, 80.0, 90.0, 40.0, 75.0):
        await _publish(
            hub,
            site,
            EVENT_SENSOR_READING,
            SensorReadingPayload(device_id="restroom-env", quantity="vape_index", value=value),
        )
    await _publish(
        hub,
        site,
        EVENT_VIDEO_DETECTION,
        VideoDetectionPayload(
            camera_id="cam-dock-apron",
            kind="loitering",
            label="person",
            zone_id="parking",
            source_id="1.2-abc",
        ),
    )
    types = [a.alarm_type for a in _alarms(hub)]
    assert types.count("device_trouble") == 1 and "intrusion" not in types
    # Two excursions above 70; the second is a repeat of the still-open alarm.
    env = [a for a in _alarms(hub) if a.alarm_type == "environmental"]
    assert len(env) == 1 and env[0].occurrences == 2
    assert "loitering" in types
