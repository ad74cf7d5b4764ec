"""Each shipped playbook end to end from its trigger; drills; runs in progress; mustering."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.automation.playbooks import service
from bastion.automation.playbooks.presence import (
    Presence,
    register_presence_source,
    unregister_presence_source,
)
from bastion.automation.playbooks.runtime import start_playbooks
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_SAFETY_REPORT,
    EVENT_SENSOR_STATE,
    AlarmPayload,
    EventType,
    Payload,
    SafetyReportPayload,
    SensorStatePayload,
)
from tests.automation.playbooks.conftest import OPERATOR, SITE, Emergency

DEVICE = Context(actor="device:counter-panic-1")

TRIGGERS: dict[str, tuple[EventType[Any], Payload]] = {
    "armed_robbery": (
        EVENT_SENSOR_STATE,
        SensorStatePayload(
            device_id="counter-panic-1", sensor_type="panic", state="active", zone_id="sales-floor"
        ),
    ),
    "fire": (
        EVENT_ALARM_RAISED,
        AlarmPayload(alarm_type="fire", priority=1, message="Fire panel: smoke", zone_id="lobby"),
    ),
    "medical": (
        EVENT_ALARM_RAISED,
        AlarmPayload(alarm_type="medical", priority=1, message="Man down", zone_id="sales-floor"),
    ),
    "internal_theft": (
        EVENT_ALARM_RAISED,
        AlarmPayload(
            alarm_type="cash_discrepancy", priority=2, message="Till short", zone_id="cash-room"
        ),
    ),
    "bomb_threat": (
        EVENT_SAFETY_REPORT,
        SafetyReportPayload(report_id="r-1", kind="threat_call", action="filed"),
    ),
    "active_shooter": (
        EVENT_ALARM_RAISED,
        AlarmPayload(alarm_type="gunshot", priority=1, message="Shots", zone_id="lobby"),
    ),
    "civil_unrest": (
        EVENT_ALARM_RAISED,
        AlarmPayload(alarm_type="civil_unrest", priority=2, message="Crowd at the gate"),
    ),
    "suspicious_item": (
        EVENT_SAFETY_REPORT,
        SafetyReportPayload(report_id="r-2", kind="suspicious_item", action="filed"),
    ),
}

# What each scenario must do to the doors (command, door ids).
DOORS: dict[str, set[tuple[str, str]]] = {
    "armed_robbery": {("lock", "vault-door"), ("lock", "cash-door")},
    "fire": {("unlock", "front-entry"), ("unlock", "sales-exit")},
    "civil_unrest": {
        ("lock", d) for d in ("lot-gate", "ped-gate", "front-entry", "dock-door", "sales-exit")
    },
}
# Where each scenario's call tree lands.
RECIPIENTS = {
    "armed_robbery": ("manager@example.com", True),
    "fire": ("staff@example.com", False),
    "medical": ("manager@example.com", False),
    "internal_theft": ("manager@example.com", False),
    "bomb_threat": ("manager@example.com", True),
    "active_shooter": ("staff@example.com", False),
    "civil_unrest": ("staff@example.com", False),
    "suspicious_item": ("manager@example.com", False),
}


def test_every_scenario_is_shipped():
    from bastion.automation.playbooks.config import load_library

    assert set(load_library()) == set(TRIGGERS)


@pytest.mark.parametrize("playbook_id", sorted(TRIGGERS))
async def test_playbook_runs_end_to_end_from_its_trigger(emergency: Emergency, playbook_id: str):
    event_type, payload = TRIGGERS[playbook_id]
    await emergency.hub.bus.publish(event_type, payload, site=SITE, context=DEVICE)
    await emergency.settle()

    with emergency.hub.db.sessions() as session:
        runs = service.list_runs(session=session, site_ids=None)
        assert [r.playbook_id for r in runs] == [playbook_id]
        run = runs[0]
        assert run.drill is False and run.trigger_type == event_type.name
        steps = {s.step_id: s for s in run.steps}
        config = emergency.playbooks.get(playbook_id)
        for step in config.steps:
            row = steps[step.id]
            if step.automatic:
                assert row.status == "done", (step.id, row.detail)
                assert row.elapsed_s is not None and row.completed_at is not None
            else:
                assert row.status == "pending"

    commands = {(p["command"], p["door_id"]) for p in emergency.payloads("door.command")}
    assert commands == DOORS.get(playbook_id, set())
    address, police = RECIPIENTS[playbook_id]
    assert emergency.smtp.to(address), f"nothing reached {address}"
    assert bool(emergency.webhook.posts) is police
    started = [p for p in emergency.payloads("playbook.run") if p["action"] == "started"]
    assert [p["playbook_id"] for p in started] == [playbook_id]
    emergency.hub.ledger.verify_or_raise()


async def test_robbery_bookmarks_cameras_and_opens_an_incident(emergency: Emergency):
    event_type, payload = TRIGGERS["armed_robbery"]
    await emergency.hub.bus.publish(event_type, payload, site=SITE, context=DEVICE)
    await emergency.settle()

    [bookmark] = emergency.payloads("camera.bookmark")
    assert set(bookmark["camera_ids"]) == {"cam-pos", "cam-sales-1", "cam-sales-2"}
    assert bookmark["zone_id"] == "sales-floor"
    [incident] = emergency.payloads("incident.changed")
    assert incident["action"] == "requested" and incident["priority"] == 1
    assert len(emergency.smtp.to("manager@example.com")) == 1
    [post] = emergency.webhook.posts
    assert post["title"] == "Armed robbery in progress: Greenleaf Dispensary — West Loop"
    assert "Silent hold-up alarm" in post["message"]
    # The door commands are caused by the panic event, through the run.
    [row] = [r for r in emergency.ledger("door.command")][:1]
    assert row.actor == "playbook:armed_robbery"


async def test_robbery_gives_police_and_management_each_their_own_message_in_site_time(
    emergency: Emergency,
):
    event_type, payload = TRIGGERS["armed_robbery"]
    await emergency.hub.bus.publish(event_type, payload, site=SITE, context=DEVICE)
    await emergency.settle()

    # Police dispatch (the webhook): what dispatch needs, nothing meant for staff.
    [post] = emergency.webhook.posts
    assert "1200 W Example St, Chicago, IL 60607" in post["message"]
    assert "zone Sales floor" in post["message"]
    assert "Police have been called" not in post["message"]
    assert "Do not come to the site" not in post["message"]
    # Management (e-mail): the management text.
    [mail] = emergency.smtp.to("manager@example.com")
    assert "Police have been called" in mail.content
    # 15:00 UTC on the frozen clock is 09:00 in Chicago.
    for text in (post["message"], mail.content):
        assert "2026-03-07 09:00 CST" in text
        assert "UTC" not in text


async def test_a_second_panic_joins_the_robbery_in_progress(emergency: Emergency):
    event_type, payload = TRIGGERS["armed_robbery"]
    await emergency.hub.bus.publish(event_type, payload, site=SITE, context=DEVICE)
    await emergency.settle()
    second = SensorStatePayload(
        device_id="counter-panic-2", sensor_type="panic", state="active", zone_id="sales-floor"
    )
    await emergency.hub.bus.publish(event_type, second, site=SITE, context=DEVICE)
    await emergency.settle()

    actions = [p["action"] for p in emergency.payloads("playbook.run")]
    assert actions.count("started") == 1 and actions.count("skipped") == 1
    assert len(emergency.smtp.to("manager@example.com")) == 1


async def test_drill_sends_nothing_and_moves_no_door(emergency: Emergency):
    run = await emergency.playbooks.start_run(
        "armed_robbery", site_id=SITE, zone_id="sales-floor", drill=True, context=OPERATOR
    )
    await emergency.settle()

    assert run.drill
    steps = {s.step_id: s for s in run.steps}
    assert steps["lock-vault"].status == "simulated"
    assert "door.command lock vault-door" in steps["lock-vault"].detail
    assert steps["bookmark"].status == "simulated"
    for alert in ("alert-police", "alert-management"):
        assert steps[alert].status == "done" and "nothing sent" in steps[alert].detail
    assert emergency.smtp.messages == [] and emergency.webhook.posts == []
    assert emergency.ledger("door.") == [] and emergency.ledger("camera.") == []
    outcomes = {p["outcome"] for p in emergency.payloads("notify.delivery")}
    assert outcomes == {"drill"}

    notify_runs = await emergency.playbooks.notify_runs(run.id)
    assert [(r.tree_name, r.drill, len(r.recipients)) for r in notify_runs] == [
        ("police-dispatch", True, 1),
        ("management", True, 1),
    ]


async def test_drill_report_shows_missed_slow_and_unacknowledged(emergency: Emergency, clock):
    run = await emergency.playbooks.start_run(
        "armed_robbery", site_id=SITE, zone_id="sales-floor", drill=True, context=OPERATOR
    )
    await emergency.settle()
    clock.advance(60)
    with emergency.hub.unit_of_work() as session:
        row = service.get_run(session=session, run_id=run.id)
        service.complete_step(
            session=session,
            run=row,
            step_id="confirm-police",
            status="done",
            context=OPERATOR,
            now=clock.now(),
        )
    clock.advance(400)  # 460 s: watch-cameras (300 s) is now late and still not done
    with emergency.hub.unit_of_work() as session:
        row = service.get_run(session=session, run_id=run.id)
        service.complete_step(
            session=session,
            run=row,
            step_id="preserve-scene",
            status="done",
            context=OPERATOR,
            now=clock.now(),
        )
        service.finish_run(session=session, run=row, context=OPERATOR, now=clock.now())
    notify_runs = await emergency.playbooks.notify_runs(run.id)
    with emergency.hub.db.sessions() as session:
        report = service.run_report(
            session=session,
            run=service.get_run(session=session, run_id=run.id),
            notify_runs=notify_runs,
            now=clock.now(),
        )
    gaps = {(g.kind, g.step_id) for g in report.gaps}
    assert ("missed", "watch-cameras") in gaps
    assert ("missed", "full-count") not in gaps  # an after-incident task
    assert ("slow", "confirm-police") not in gaps  # 60 s against 120 s
    assert sorted(report.unacknowledged) == ["Manager", "Police dispatch"]
    assert report.duration_s == 460
    times = {s.step_id: s.elapsed_s for s in report.run.steps}
    assert times["confirm-police"] == 60 and times["preserve-scene"] == 460


async def test_fire_drill_musters_who_is_inside_and_takes_a_roll_call(
    emergency: Emergency, walk_in, clock, request
):
    walk_in("p-ana", ("front-entry", "front-entry-rdr-in"), ("checkin-door", "checkin-door-rdr-in"))
    walk_in("p-bo", ("dock-door", "dock-door-rdr-in"), ("dock-boh", "dock-boh-rdr-in"))
    walk_in(
        "p-cy",
        ("front-entry", "front-entry-rdr-in"),
        ("boh-door", "boh-door-rdr-in"),
        ("boh-door", "boh-door-rdr-out"),
    )
    walk_in("p-gone", ("ped-gate", "ped-gate-rdr-in"), ("front-entry", "front-entry-rdr-in"))
    emergency.hub.ledger.append_sync([])

    def visitors(session: Any, site: Any, now: Any) -> list[Presence]:
        return [Presence("visitor:v1", "Vic Visitor", "lobby", now, "visitors")]

    register_presence_source("test-visitors", visitors)
    request.addfinalizer(lambda: unregister_presence_source("test-visitors"))
    run = await emergency.playbooks.start_run(
        "fire", site_id=SITE, zone_id="lobby", drill=True, context=OPERATOR
    )
    await emergency.settle()
    assert {s.step_id: s.status for s in run.steps}["muster"] == "done"
    assert emergency.ledger("door.") == []  # egress doors were not really unlocked

    with emergency.hub.db.sessions() as session:
        site = emergency.playbooks.site(SITE)
        assert site is not None
        muster = service.muster_read(
            session=session,
            site=site,
            run=service.get_run(session=session, run_id=run.id),
            now=clock.now(),
        )
    where = {p.subject: p.zone_id for p in muster.people}
    assert where == {
        "person:p-ana": "sales-floor",
        "person:p-bo": "back-of-house",
        "person:p-cy": "sales-floor",
        "person:p-gone": "lobby",
        "visitor:v1": "lobby",
    }
    assert muster.unaccounted == 5 and muster.by_zone["Sales floor"] == 2

    clock.advance(90)
    with emergency.hub.unit_of_work() as session:
        row = service.get_run(session=session, run_id=run.id)
        for subject in ("person:p-ana", "visitor:v1"):
            service.mark(
                session=session,
                run=row,
                subject=subject,
                status="safe",
                context=OPERATOR,
                now=clock.now(),
                site=site,
            )
        service.mark(
            session=session,
            run=row,
            subject="person:p-bo",
            status="missing",
            context=OPERATOR,
            now=clock.now(),
            site=site,
        )
    with emergency.hub.db.sessions() as session:
        muster = service.muster_read(
            session=session,
            site=site,
            run=service.get_run(session=session, run_id=run.id),
            now=clock.now(),
        )
    assert (muster.safe, muster.missing, muster.unaccounted) == (2, 1, 2)
    safe = {p.subject: p.elapsed_s for p in muster.people if p.status == "safe"}
    assert safe == {"person:p-ana": 90, "visitor:v1": 90}
    marks = emergency.payloads("muster.roll_call")
    assert [m["status"] for m in marks] == ["safe", "safe", "missing"]
    assert all(m["drill"] for m in marks)
    assert all("Vic" not in str(m) for m in marks)  # names never reach the ledger


async def test_start_playbooks_is_idempotent_per_hub(emergency: Emergency):
    again = await start_playbooks(emergency.hub)
    assert again is emergency.playbooks
    event_type, payload = TRIGGERS["medical"]
    await emergency.hub.bus.publish(event_type, payload, site=SITE, context=DEVICE)
    await emergency.settle()
    started = [p for p in emergency.payloads("playbook.run") if p["action"] == "started"]
    assert len(started) == 1
