"""A missed lone-worker check-in raises an alarm and climbs its call tree on the frozen clock."""

from __future__ import annotations

from bastion.notify import service as notify_service
from bastion.notify.runtime import start_notify
from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn
from bastion.safety import service
from bastion.safety.models import Timer
from bastion.safety.runtime import start_safety
from bastion.safety.schemas import CheckIn, TimerCreate
from tests.safety.conftest import ACTOR, ledger_payloads


def _tree(hub, clock, smtp_server) -> str:
    with hub.unit_of_work() as session:
        ids = []
        for name, address in (("Supervisor", "sup@example.com"), ("Manager", "mgr@example.com")):
            contact = notify_service.create_contact(
                session=session,
                data=ContactCreate(
                    name=name, channels=[ChannelIn(kind="email", url=smtp_server.url(address))]
                ),
                context=ACTOR,
                now=clock.now(),
            )
            ids.append(contact.id)
        tree = notify_service.create_tree(
            session=session,
            data=CallTreeCreate(
                name="lone-worker",
                tiers=[TierIn(contacts=[i], ack_timeout_s=120) for i in ids],
            ),
            context=ACTOR,
            now=clock.now(),
        )
        return tree.id


async def test_missed_check_in_reaches_the_next_tier(safety_hub, clock, smtp_server):
    hub = safety_hub
    notify = await start_notify(hub, base_url="https://bastion.test", tick_s=None, resume=False)
    worker = await start_safety(hub, tick_s=None)
    tree_id = _tree(hub, clock, smtp_server)
    with hub.unit_of_work() as session:
        timer_id = service.start_timer(
            session=session,
            owner_id=7,
            data=TimerCreate(
                task="Vault count",
                interval_minutes=15,
                location="Back office",
                call_tree_id=tree_id,
            ),
            context=ACTOR,
            now=clock.now(),
        ).id

    clock.advance(14 * 60)
    assert await worker.tick() == 0
    with hub.unit_of_work() as session:
        timer = service.get_own_timer(session=session, timer_id=timer_id, owner_id=7)
        service.check_in(
            session=session, timer=timer, data=CheckIn(), context=ACTOR, now=clock.now()
        )
    clock.advance(14 * 60)
    assert await worker.tick() == 0

    clock.advance(2 * 60)
    assert await worker.tick() == 1
    await notify.drain()
    assert len(smtp_server.to("sup@example.com")) == 1
    assert smtp_server.to("mgr@example.com") == []
    assert "Back office" not in smtp_server.to("sup@example.com")[0]
    alarms = ledger_payloads(hub, "alarm.raised")
    assert [(a["alarm_type"], a["priority"]) for a in alarms] == [("lone_worker_missed", 2)]
    with hub.unit_of_work() as session:
        timer = session.get(Timer, timer_id)
        assert timer.status == "missed" and timer.run_id is not None
        run_id = timer.run_id
    assert await worker.tick() == 0  # already escalated: nothing twice

    clock.advance(121)
    assert await notify.tick() == 1
    await notify.drain()
    assert len(smtp_server.to("mgr@example.com")) == 1
    status = await notify.status(run_id)
    assert status.current_tier == 1
    escalations = ledger_payloads(hub, "notify.escalated")
    assert [(e["from_tier"], e["to_tier"]) for e in escalations] == [(0, 1)]


async def test_missed_check_in_without_a_tree_still_raises_the_alarm(safety_hub, clock):
    worker = await start_safety(safety_hub, tick_s=None, default_call_tree="no-such-tree")
    with safety_hub.unit_of_work() as session:
        service.start_timer(
            session=session,
            owner_id=7,
            data=TimerCreate(task="Patrol", interval_minutes=5),
            context=ACTOR,
            now=clock.now(),
        )
    clock.advance(301)
    assert await worker.tick() == 1
    assert [a["alarm_type"] for a in ledger_payloads(safety_hub, "alarm.raised")] == [
        "lone_worker_missed"
    ]
