"""A missed lone-worker check-in raises an alarm and climbs its call tree on the frozen clock."""

from __future__ import annotations

import pytest

from bastion.core.errors import InvalidInput
from bastion.notify import service as notify_service
from bastion.notify.runtime import start_notify
from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, ContactUpdate, TierIn
from bastion.safety import service
from bastion.safety.models import Timer
from bastion.safety.runtime import start_safety
from bastion.safety.schemas import CheckIn, TimerCreate
from tests.conftest import add_call_tree
from tests.safety.conftest import ACTOR, ledger_payloads

SUPERVISOR = "mailto://127.0.0.1:9?from=bastion@example.org&to=sup@example.org&mode=insecure"


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
            sites=(),
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


def _start(hub, clock, sites, call_tree_id=None) -> str:
    with hub.unit_of_work() as session:
        return service.start_timer(
            session=session,
            owner_id=7,
            data=TimerCreate(task="Patrol", interval_minutes=5, call_tree_id=call_tree_id),
            sites=sites,
            context=ACTOR,
            now=clock.now(),
        ).id


def _delete_tree(hub, clock, tree_id: str) -> None:
    with hub.unit_of_work() as session:
        notify_service.delete_tree(session=session, tree_id=tree_id, context=ACTOR, now=clock.now())


async def test_a_timer_without_a_chosen_tree_alerts_the_sites_safety_tree(
    safety_hub, clock, smtp_server, dispensary
):
    safety_hub.extras["sites"] = {dispensary.site.id: dispensary}
    notify = await start_notify(safety_hub, base_url="https://bastion.test", tick_s=None)
    worker = await start_safety(safety_hub, tick_s=None)
    add_call_tree(
        safety_hub,
        "lone-worker",
        ("Supervisor", smtp_server.url("sup@example.com")),
        now=clock.now(),
    )
    timer_id = _start(safety_hub, clock, [dispensary])

    clock.advance(301)
    assert await worker.tick() == 1
    await notify.drain()
    assert len(smtp_server.to("sup@example.com")) == 1
    with safety_hub.db.sessions() as session:
        assert session.get(Timer, timer_id).run_id is not None


async def test_a_timer_whose_tree_is_gone_falls_back_to_the_site_tree(
    safety_hub, clock, smtp_server, dispensary
):
    safety_hub.extras["sites"] = {dispensary.site.id: dispensary}
    notify = await start_notify(safety_hub, base_url="https://bastion.test", tick_s=None)
    worker = await start_safety(safety_hub, tick_s=None)
    add_call_tree(
        safety_hub,
        "lone-worker",
        ("Supervisor", smtp_server.url("sup@example.com")),
        now=clock.now(),
    )
    night = add_call_tree(
        safety_hub,
        "night-crew",
        ("Night lead", smtp_server.url("night@example.com")),
        now=clock.now(),
    )
    _start(safety_hub, clock, [dispensary], call_tree_id="night-crew")
    _delete_tree(safety_hub, clock, night)

    clock.advance(301)
    assert await worker.tick() == 1
    await notify.drain()
    assert len(smtp_server.to("sup@example.com")) == 1


async def test_a_missed_check_in_nobody_can_be_alerted_for_still_raises_the_alarm(
    safety_hub, clock, smtp_server
):
    worker = await start_safety(safety_hub, tick_s=None)
    tree = add_call_tree(
        safety_hub,
        "night-crew",
        ("Night lead", smtp_server.url("night@example.com")),
        now=clock.now(),
    )
    _start(safety_hub, clock, [], call_tree_id=tree)
    _delete_tree(safety_hub, clock, tree)

    clock.advance(301)
    assert await worker.tick() == 1
    assert [a["alarm_type"] for a in ledger_payloads(safety_hub, "alarm.raised")] == [
        "lone_worker_missed"
    ]


async def test_a_timer_that_would_alert_nobody_is_refused_in_plain_words(
    safety_hub, clock, dispensary
):
    with pytest.raises(InvalidInput) as missing:
        _start(safety_hub, clock, [dispensary])
    assert missing.value.message.startswith(
        "Nobody would be alerted if you missed a check-in: call tree 'lone-worker' does not exist."
    )
    bare = dispensary.model_copy(
        update={"site": dispensary.site.model_copy(update={"safety_call_tree": None})}
    )
    with pytest.raises(InvalidInput, match="Greenleaf Dispensary — West Loop has no safety call"):
        _start(safety_hub, clock, [bare])
    with pytest.raises(InvalidInput, match="Say which site you are working at"):
        _start(safety_hub, clock, [dispensary, bare])
    away = add_call_tree(safety_hub, "away", ("On leave", SUPERVISOR), now=clock.now())
    with safety_hub.unit_of_work() as session:
        [member] = notify_service.get_tree(session=session, tree_id=away).tiers[0].members
        notify_service.update_contact(
            session=session,
            contact_id=member.contact_id,
            data=ContactUpdate(active=False),
            context=ACTOR,
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="call tree 'away' has no active contact"):
        _start(safety_hub, clock, [dispensary], call_tree_id="away")
    with safety_hub.db.sessions() as session:
        assert service.list_timers(session=session) == []
