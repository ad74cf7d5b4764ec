"""Asset register, schedules and work orders, upgrade planning; the migration matches the models."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.maintenance import models, planning
from bastion.maintenance.uptime import DeviceUptime
from bastion.store.base import Base

CTX = Context(actor="user:manager")
assert models


def test_the_migration_creates_exactly_the_maintenance_tables_of_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "maintenance_" in repr(d[0] if isinstance(d, list) else d)] == []


def test_the_register_lists_every_device_and_keeps_what_people_add(hub, site, clock):
    now = clock.now()
    with hub.unit_of_work() as session:
        assets = planning.register(session=session, site=site, context=CTX, now=now)
        assert [a.device_id for a in assets] == [d.id for d in site.devices]
        planning.update_asset(
            session=session,
            site=site,
            device_id="cam-dock-apron",
            changes={"model": "Axis P3265", "firmware": "10.12", "end_of_life": date(2026, 1, 1)},
            context=CTX,
            now=now,
        )
        with pytest.raises(InvalidInput, match="unknown asset fields"):
            planning.update_asset(
                session=session,
                site=site,
                device_id="cam-dock-apron",
                changes={"owner": "x"},
                context=CTX,
                now=now,
            )
        with pytest.raises(NotFound):
            planning.update_asset(
                session=session, site=site, device_id="nope", changes={}, context=CTX, now=now
            )
    with hub.unit_of_work() as session:
        again = {
            a.device_id: a
            for a in planning.register(session=session, site=site, context=CTX, now=now)
        }
        assert again["cam-dock-apron"].model == "Axis P3265"
        poor = DeviceUptime("lobby-pir", "Lobby PIR", "sensor", 86400, down_s=7200, failures=3)
        plan = planning.upgrade_plan(list(again.values()), [poor], date(2026, 3, 7))
    assert {(i.device_id, i.reasons[0].split(" (")[0]) for i in plan} == {
        ("cam-dock-apron", "past end of life"),
        ("lobby-pir", "uptime 91.7%"),
    }


def test_a_due_schedule_opens_one_work_order_and_completing_it_moves_the_schedule(hub, site, clock):
    now = clock.now()
    with hub.unit_of_work() as session:
        schedules = planning.ensure_default_schedules(
            session=session, site=site, context=CTX, now=now
        )
        assert {s.task for s in schedules} == set(planning.TASKS)
        opened = planning.open_due(session=session, now=now, context=CTX)
        assert len(opened) == len(planning.TASKS)
        assert planning.open_due(session=session, now=now, context=CTX) == []  # one per schedule
        order = next(o for o in opened if o.task == "ups_test")
        with pytest.raises(InvalidInput, match="not yet done: Record runtime"):
            planning.complete(
                session=session,
                site_id=site.site.id,
                order_id=order.id,
                done_items=["Run the UPS self-test"],
                note="",
                context=CTX,
                now=now,
            )
        done = planning.complete(
            session=session,
            site_id=site.site.id,
            order_id=order.id,
            done_items=["Run the UPS self-test", "Record runtime on battery"],
            note="42 min on battery",
            context=CTX,
            now=now,
        )
        assert done.state == "done" and all(i["done"] for i in done.checklist)
        with pytest.raises(Conflict):
            planning.complete(
                session=session,
                site_id=site.site.id,
                order_id=order.id,
                done_items=[],
                note="",
                context=CTX,
                now=now,
            )
        with pytest.raises(NotFound):
            planning.work_order(session=session, site_id="elsewhere", order_id=order.id)
        ups = next(
            s
            for s in planning.list_schedules(session=session, site_id=site.site.id)
            if s.task == "ups_test"
        )
        assert ups.next_due == now + timedelta(days=90)
    later = now + timedelta(days=91)
    with hub.unit_of_work() as session:
        assert [o.task for o in planning.open_due(session=session, now=later, context=CTX)] == [
            "ups_test"
        ]
    work = [r.payload for r in hub.ledger.query(types=["maintenance.record"], limit=1000)]
    assert any('"action":"done"' in p for p in work)


def test_schedules_refuse_unknown_tasks_and_silly_intervals(hub, site, clock):
    with hub.unit_of_work() as session:
        with pytest.raises(InvalidInput, match="unknown task"):
            planning.add_schedule(
                session=session, site=site, task="dance", context=CTX, now=clock.now()
            )
        with pytest.raises(InvalidInput, match="every 1 to 3660"):
            planning.add_schedule(
                session=session,
                site=site,
                task="ups_test",
                every_days=0,
                context=CTX,
                now=clock.now(),
            )
