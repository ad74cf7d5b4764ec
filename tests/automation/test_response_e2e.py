"""End to end: a forced door at 02:00 in an armed zone, over MQTT, through the rules engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bastion.alarms import service as alarms_service
from bastion.alarms.models import Alarm, Incident
from bastion.alarms.runtime import start_alarms
from bastion.automation import arming
from bastion.automation.runtime import start_automation
from bastion.core.context import Context
from bastion.integrations import create
from bastion.site.graph import SiteGraph
from tests.monitoring_support import EXAMPLE_RULES, Listener, publish_raw, wait_until

TWO_AM = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # 02:00 in Chicago (CST)


@pytest.mark.usefixtures("example_trees")
async def test_forced_door_at_2am_in_armed_zone(hub, site, broker, prefix, recorder, clock):
    clock.set(TWO_AM)
    alarms = await start_alarms(hub, tick_s=None)
    automation = await start_automation(hub, [EXAMPLE_RULES], tick_s=None, flush_s=None)
    with hub.unit_of_work() as session:
        event = arming.set_arming(
            session=session,
            site=site,
            zone_id="loading-dock",
            armed=True,
            context=Context(actor="user:1"),
            now=clock.now(),
        )
    hub.extras["arming_board"].apply(event)
    sensors, sensors_cfg = create(
        {
            "type": "mqtt",
            "site_id": site.site.id,
            "topic_prefix": f"{prefix}/sensors",
            "client_id": f"s-{prefix[-8:]}",
        }
    )
    frigate, frigate_cfg = create(
        {
            "type": "frigate",
            "site_id": site.site.id,
            "topic_prefix": f"{prefix}/frigate",
            "client_id": f"f-{prefix[-8:]}",
        }
    )
    ptz = Listener([f"{prefix}/frigate/+/ptz"])
    await ptz.start()
    await sensors.setup(hub, sensors_cfg)
    await frigate.setup(hub, frigate_cfg)
    try:
        await wait_until(
            lambda: sensors.connection.connected.is_set() and frigate.connection.connected.is_set()
        )
        await publish_raw(f"{prefix}/sensors/dock-door-dc", json.dumps({"state": "forced"}))
        await ptz.wait_for(
            lambda m: (f"{prefix}/frigate/cam-lot-ptz/ptz", "preset_dock-apron") in m
        )
        await wait_until(lambda: len(alarms.raised) == 1)
        for _ in range(3):
            await hub.bus.drain()
            await automation.engine.wait_idle()
    finally:
        await sensors.unload()
        await frigate.unload()
        await ptz.stop()
        await automation.stop()
        await alarms.stop()

    (forced,) = recorder.of("door.forced")
    assert forced.payload.door_id == "dock-door" and forced.time == TWO_AM
    # Adjacent doors locked: one EVENT_DOOR_COMMAND each, caused by the forced door.
    locks = recorder.of("door.command")
    assert sorted(c.payload.door_id for c in locks) == sorted(
        d.id for d in SiteGraph(site).adjacent_doors("dock-door")
    )
    assert all(
        c.payload.command == "lock" and c.context.parent_id == forced.context.id for c in locks
    )
    # PTZ preset sent (seen on the broker above) because of the same rule run.
    (ptz_event,) = recorder.of("camera.ptz")
    assert ptz_event.context.parent_id == forced.context.id
    # Alarm raised with its SOP; incident created (the rule's request joins the alarm's incident).
    with hub.db.sessions() as session:
        (alarm,) = session.execute(select(Alarm)).scalars().all()
        incidents = session.execute(select(Incident)).scalars().all()
        progress = alarms_service.sop_progress(session=session, alarm=alarm, sops=alarms.sops)
    assert alarm.alarm_type == "door_forced" and alarm.source_event_id == forced.id
    assert (
        alarm.sop_id == "door_forced" and progress is not None and progress.current == "view_camera"
    )
    assert len(incidents) == 1 and alarm.incident_id == incidents[0].id
    assert "loading-dock" in incidents[0].zone_ids
    # Everything is in the ledger and the chain verifies.
    assert hub.ledger.verify().ok
    ledgered = {r.type for r in hub.ledger.query(limit=200)}
    assert {
        "door.forced",
        "door.command",
        "camera.ptz",
        "alarm.raised",
        "notify.requested",
        "incident.changed",
        "camera.bookmark",
    } <= ledgered
