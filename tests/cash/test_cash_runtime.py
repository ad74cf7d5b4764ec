"""The running cash domain: the POS sink, the tick's alarms, and the robbery playbook's count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.auth.permissions import Role
from bastion.automation.playbooks import service as playbook_service
from bastion.automation.playbooks.runtime import runtime_for
from bastion.cash import counts, movements, tasks
from bastion.cash import settings as cash_settings
from bastion.cash.runtime import start_cash
from bastion.core.context import Context
from bastion.core.ports import pos_sink_of

from .conftest import CTX, balance_of, record


@pytest.fixture
async def cash(site_hub):
    runtime = await start_cash(site_hub, tick_s=None)
    yield runtime
    await runtime.stop()
    await site_hub.bus.close()


async def test_the_sink_ingests_off_the_loop_and_a_till_left_over_its_limit_alarms_once(
    store, site_hub, clock, cash
):
    sink = pos_sink_of(site_hub.extras)
    assert sink is cash
    at = clock.now() - timedelta(minutes=1)
    report = await sink.ingest(
        store.site.site.id,
        [record("S1", at, total=150_000), record("S1", at, total=150_000)],
        [],
        source="test",
        context=Context(actor="integration:pos"),
    )
    assert (report.accepted, report.duplicates) == (1, 1)
    assert balance_of(site_hub, store.register1) == 150_000
    await cash.tick()
    clock.advance(9 * 60)
    await cash.tick()
    with site_hub.db.sessions() as session:
        assert session.execute(select(Alarm)).scalars().all() == []
    clock.advance(2 * 60)
    await cash.tick()
    await cash.tick()
    await site_hub.bus.drain()
    with site_hub.db.sessions() as session:
        (alarm,) = session.execute(select(Alarm)).scalars().all()
    assert alarm.alarm_type == "till_over_limit" and "Register 1" in alarm.message
    assert alarm.sop_id == "cash_till"


async def test_a_real_robbery_run_starts_dual_counts_and_the_agreed_counts_finish_its_step(
    store, site_hub, clock, cash, make_account
):
    ann = make_account("ann", Role.SECURITY_MANAGER, totp=False).id
    ben = make_account("ben", Role.SECURITY_MANAGER, totp=False).id
    with site_hub.unit_of_work() as session:
        movements.post(
            session=session,
            site_id=store.site.site.id,
            kind="funding",
            amount_cents=30_000,
            container_id=store.vault,
            legs=[(store.vault, 30_000)],
            context=CTX,
            now=clock.now(),
        )
    playbooks = runtime_for(site_hub)
    drill = await playbooks.start_run(
        "armed_robbery", site_id=store.site.site.id, drill=True, context=Context(actor="test")
    )
    await site_hub.bus.drain()
    with site_hub.db.sessions() as session:
        assert counts.list_counts(session=session, site_id=store.site.site.id) == []
    run = await playbooks.start_run(
        "armed_robbery", site_id=store.site.site.id, context=Context(actor="test")
    )
    await site_hub.bus.drain()
    assert drill.id != run.id
    with site_hub.db.sessions() as session:
        started = counts.list_counts(session=session, site_id=store.site.site.id, open_only=True)
        assert {c.container_id for c in started} == {
            store.register1,
            store.register2,
            store.safe,
            store.vault,
        }
        assert all(c.dual and c.playbook_run_id == run.id for c in started)
    now = clock.now() + timedelta(hours=2)
    for count in started:
        counted = 20_000 if count.container_id == store.vault else count.book_cents
        for user in (ann, ben):
            with site_hub.unit_of_work() as session:
                counts.submit(
                    session=session,
                    site=store.site,
                    count=counts.get_count(session=session, count_id=count.id),
                    user_id=user,
                    amount_cents=counted,
                    settings=cash_settings.load(session=session, site_id=store.site.site.id),
                    context=Context(actor=f"user:{user}"),
                    now=now,
                )
    with site_hub.db.sessions() as session:
        step = playbook_service.get_step(
            session=session,
            run=playbook_service.get_run(session=session, run_id=run.id),
            step_id="full-count",
        )
        assert step.status == "done" and "variance -$100.00" in step.detail
        (notice,) = tasks.list_tasks(session=session, site_id=store.site.site.id)
        assert notice.kind == "regulator_notice" and notice.source == f"robbery:{run.id}"
