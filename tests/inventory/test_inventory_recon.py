"""Every reconciliation check: a case that must fire and one that must not."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from bastion.core.context import Context, new_id
from bastion.inventory import catalog, counts, movements, recon, units
from bastion.inventory.models import (
    InvFinding,
    InvImport,
    InvMovement,
    InvPackage,
    InvPlant,
    InvSaleLine,
    InvTrackingUser,
    InvTransfer,
    InvTransferLine,
)
from tests.inventory.conftest import CTX, SITE, TAGS, new_package


def found(hub, shop, now, check):
    with hub.db.sessions() as session:
        return recon.evaluate(session, site=shop.site, now=now, checks=(check,))


def sale(session, source, receipt, at, tag, qty, price=0):
    session.add(
        InvSaleLine(
            site_id=SITE,
            source=source,
            receipt=receipt,
            at=at,
            day=at.date().isoformat(),
            tag=tag,
            quantity=units.to_stored(Decimal(qty)),
            unit="g",
            price_cents=price,
        )
    )


def test_physical_variances_fire_and_the_ca_threshold_asks_for_a_notice(site_hub, shop, clock):
    now = clock.now()
    new_package(site_hub, shop, TAGS[0], "10", now=now)
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session, site=shop.site, counters=[shop.alice_user], context=CTX, now=now
        )
        cid = count.id
        counts.enter(
            session=session,
            count=count,
            user_id=shop.alice_user,
            tag=TAGS[0],
            counted=Decimal(10),
            context=CTX,
            now=now,
        )
        counts.complete(
            session=session, count=count, witness_user_id=shop.bob_user, context=CTX, now=now
        )
    assert found(site_hub, shop, now, "physical") == []
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session, site=shop.site, counters=[shop.alice_user], context=CTX, now=now
        )
        assert count.id != cid
        counts.enter(
            session=session,
            count=count,
            user_id=shop.alice_user,
            tag=TAGS[0],
            counted=Decimal(7),
            context=CTX,
            now=now,
        )
        counts.complete(
            session=session, count=count, witness_user_id=shop.bob_user, context=CTX, now=now
        )
    result = found(site_hub, shop, now, "physical")
    assert [f.severity for f in result] == ["medium", "high"]
    assert "counted 7 g, the books say 10 g" in result[0].message
    assert result[1].notice and "3" in result[1].threshold


def test_pos_and_state_sales_must_agree_per_day_and_tag(site_hub, shop, clock):
    now = clock.now().replace(hour=18)
    with site_hub.unit_of_work() as session:
        sale(session, "pos", "P1", now, TAGS[0], "3.5")
        sale(session, "metrc", "M1", now, TAGS[0], "3.5")
    assert found(site_hub, shop, now, "pos_vs_tracking") == []
    with site_hub.unit_of_work() as session:
        sale(session, "pos", "P2", now, TAGS[1], "7")
    result = found(site_hub, shop, now, "pos_vs_tracking")
    assert len(result) == 1 and TAGS[1] in result[0].message


def test_receipts_outside_store_hours_are_flagged(site_hub, shop, clock):
    night = clock.now().replace(hour=9)  # 09:00 UTC is night in the site's zone
    with site_hub.unit_of_work() as session:
        sale(session, "pos", "P1", night, TAGS[0], "1")
        sale(session, "metrc", "M1", night, TAGS[0], "1")
    result = found(site_hub, shop, night, "pos_vs_tracking")
    assert {f.key for f in result} == {"hours:pos:P1", "hours:metrc:M1"}


def make_harvest(hub, shop, now, wet, waste, packaged, finished=True):
    with hub.unit_of_work() as session:
        batch = catalog.create_batch(
            session=session,
            site_id=SITE,
            name=f"B{wet}",
            strain="OG",
            count=1,
            context=CTX,
            now=now,
        )
        plants = catalog.tag_plants(
            session=session, batch=batch, tags=[TAGS[100 + int(wet) % 50]], context=CTX, now=now
        )
        h = catalog.harvest(
            session=session,
            site_id=SITE,
            name=f"H{wet}",
            plants=plants,
            wet_weight=Decimal(wet),
            unit="g",
            context=CTX,
            now=now,
        )
        catalog.record_waste(
            session=session, harvest_row=h, weight=Decimal(waste), context=CTX, now=now
        )
        h.packaged_weight = units.to_stored(Decimal(packaged))
        h.current_weight = 0
        if finished:
            h.finished_at = now


def test_mass_balance_moisture_loss_must_be_in_range(site_hub, shop, clock):
    now = clock.now()
    make_harvest(site_hub, shop, now, 1000, 50, 250)  # 70 % loss
    assert found(site_hub, shop, now, "mass_balance") == []
    make_harvest(
        site_hub, shop, now, 1001, 50, 700
    )  # 25 % loss: product unaccounted for? no, too little
    result = found(site_hub, shop, now, "mass_balance")
    assert len(result) == 1 and "moisture loss" in result[0].message


def test_a_package_whose_log_does_not_add_up_is_flagged(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "10", now=now)
    assert found(site_hub, shop, now, "lineage") == []
    with site_hub.unit_of_work() as session:
        session.get(InvPackage, pid).quantity += 50_000  # edited behind the log's back
    result = found(site_hub, shop, now, "lineage")
    assert result[0].severity == "high" and "movements add up to 10 g" in result[0].message


def test_batch_counts_must_add_up(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        batch = catalog.create_batch(
            session=session, site_id=SITE, name="B1", strain="OG", count=10, context=CTX, now=now
        )
    assert found(site_hub, shop, now, "batch_counts") == []
    with site_hub.unit_of_work() as session:
        session.merge(batch).live_count = 8
    result = found(site_hub, shop, now, "batch_counts")
    assert "10 plants planted but 8 accounted for" in result[0].message


def test_transfers_short_received_and_stuck_in_transit(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        session.add(
            InvTransfer(
                id="T1",
                site_id=SITE,
                manifest_no="0001",
                direction="in",
                status="received",
                departed_at=now - timedelta(hours=2),
                received_at=now,
                external_ids={},
            )
        )
        session.add(
            InvTransferLine(
                transfer_id="T1", tag=TAGS[0], unit="g", shipped_qty=10_000, received_qty=10_000
            )
        )
        session.add(
            InvTransfer(
                id="T2",
                site_id=SITE,
                manifest_no="0002",
                direction="in",
                status="in_transit",
                departed_at=now - timedelta(hours=2),
                external_ids={},
            )
        )
    assert found(site_hub, shop, now, "transfers") == []
    with site_hub.unit_of_work() as session:
        session.add(
            InvTransferLine(
                transfer_id="T1", tag=TAGS[1], unit="g", shipped_qty=10_000, received_qty=9_000
            )
        )
    later = now + timedelta(hours=30)
    keys = {f.key for f in found(site_hub, shop, later, "transfers")}
    assert keys == {f"line:0001:{TAGS[1]}", "transit:0002"}


def adjust(hub, shop, pid, now, reason, note="checked"):
    with hub.unit_of_work() as session:
        movements.adjust(
            session=session,
            site=shop.site,
            package=movements.get_package(session, SITE, pid),
            delta=Decimal("-0.1"),
            unit="g",
            reason=reason,
            note=note,
            actor=movements.Actor(Context(actor="user:7")),
            now=now,
        )


def test_theft_adjustments_above_the_weekly_limit_fire(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "10", now=now)
    for _ in range(3):
        adjust(site_hub, shop, pid, now, "Theft")
    assert found(site_hub, shop, now, "adjustments") == []
    adjust(site_hub, shop, pid, now, "Theft")
    result = found(site_hub, shop, now, "adjustments")
    assert result[0].severity == "high" and result[0].notice
    assert "user:7 made 4 Theft adjustments" in result[0].message


def test_a_tag_on_both_a_package_and_a_plant_fires(site_hub, shop, clock):
    now = clock.now()
    new_package(site_hub, shop, TAGS[0], "10", now=now)
    assert found(site_hub, shop, now, "tags") == []
    with site_hub.unit_of_work() as session:  # as an import from elsewhere could leave it
        session.add(
            InvPlant(
                id="P1", site_id=SITE, tag=TAGS[0], strain="OG", planted_at=now, external_ids={}
            )
        )
    result = found(site_hub, shop, now, "tags")
    assert result[0].key == f"both:{TAGS[0]}"


def test_tracking_users_must_be_on_the_roster(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        session.add(
            InvTrackingUser(site_id=SITE, name="Alice Budtender", license_no="E1", seen_at=now)
        )
    assert found(site_hub, shop, now, "users") == []
    with site_hub.unit_of_work() as session:
        session.add(
            InvTrackingUser(site_id=SITE, name="Mallory Former", license_no="E2", seen_at=now)
        )
    result = found(site_hub, shop, now, "users")
    assert [f.key for f in result] == ["user:E2"]


def test_sync_freshness_is_reportable_after_72_hours(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        session.add(
            InvImport(
                id="I1",
                site_id=SITE,
                source="metrc",
                kind="packages",
                digest="d",
                status="accepted",
                at=now,
                actor="test",
            )
        )
    assert found(site_hub, shop, now + timedelta(hours=2), "freshness") == []
    assert found(site_hub, shop, now + timedelta(hours=30), "freshness")[0].severity == "medium"
    late = found(site_hub, shop, now + timedelta(hours=80), "freshness")[0]
    assert late.severity == "high" and late.notice and "72 h" in late.threshold


def test_run_stores_each_finding_once_and_opens_an_incident(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        _, new = recon.run(session, site=shop.site, context=CTX, now=now)
        assert [f.key for f in new] == ["never"]
    with site_hub.unit_of_work() as session:
        _, again = recon.run(session, site=shop.site, context=CTX, now=now)
        assert again == []
        finding = session.query(InvFinding).one()
        alarm_id = recon.open_incident(
            session, site=shop.site, finding=finding, context=CTX, now=now
        )
        assert alarm_id and finding.notice_due_at is not None
        with pytest.raises(Exception, match="already has an incident"):
            recon.open_incident(session, site=shop.site, finding=finding, context=CTX, now=now)


def test_store_hours_are_judged_in_local_time_to_the_minute(site_hub, shop, clock):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(shop.site.site.timezone)
    now = clock.now()
    local = now.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    last_open = (local.replace(hour=21, minute=59) - timedelta(days=1)).astimezone(UTC)
    closing = (local.replace(hour=22) - timedelta(days=1)).astimezone(UTC)
    opening = local.replace(hour=8).astimezone(UTC)
    with site_hub.unit_of_work() as session:
        sale(session, "pos", "OPEN", last_open, TAGS[0], "1")
        sale(session, "metrc", "OPEN", last_open, TAGS[0], "1")
        sale(session, "pos", "SHUT", closing, TAGS[1], "1")
        sale(session, "metrc", "SHUT", closing, TAGS[1], "1")
        sale(session, "pos", "MORNING", opening, TAGS[2], "1")
        sale(session, "metrc", "MORNING", opening, TAGS[2], "1")
    keys = {f.key for f in found(site_hub, shop, now, "pos_vs_tracking")}
    assert keys == {"hours:pos:SHUT", "hours:metrc:SHUT"}


def test_closed_windows_follow_daylight_saving_time():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/Chicago")
    since = datetime(2026, 3, 7, 12, tzinfo=UTC)
    windows = recon.closed_windows(tz, 8, 22, since, since + timedelta(days=1))
    spring = [w for w in windows if w[0] == datetime(2026, 3, 8, 4, tzinfo=UTC)]
    # 22:00 CST on the 7th to 08:00 CDT on the 8th: nine hours, the clocks went forward.
    assert spring == [(datetime(2026, 3, 8, 4, tzinfo=UTC), datetime(2026, 3, 8, 13, tzinfo=UTC))]


def test_the_migrations_create_exactly_the_inventory_tables_and_indexes_of_the_models(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bastion.store.base import Base

    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def about_inventory(item):
        first = item[0] if isinstance(item, list) else item
        return "inv_" in repr(first)

    assert [d for d in diff if about_inventory(d)] == []


def unnoted_adjustment(hub, pid, now, reason, note=None):
    """Add an adjustment straight to the log, as an import from the state system could."""
    with hub.unit_of_work() as session:
        package = session.get(InvPackage, pid)
        row = InvMovement(
            id=new_id(),
            site_id=SITE,
            kind="adjust",
            package_id=pid,
            tag=package.tag,
            delta=0,
            unit="g",
            quantity_after=package.quantity,
            reason=reason,
            note=note,
            method="",
            at=now,
            actor="user:7",
            status="posted",
            flags=[],
            reference={},
            event_id=new_id(),
        )
        session.add(row)
        return row.id


def test_an_adjustment_that_needs_a_note_and_has_none_fires(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "10", now=now)
    adjust(site_hub, shop, pid, now, "Lost")  # with its note
    unnoted_adjustment(site_hub, pid, now, "Drying")  # drying needs none
    unnoted_adjustment(site_hub, pid, now - timedelta(days=120), "Theft")  # before the period
    assert found(site_hub, shop, now, "adjustments") == []
    mid = unnoted_adjustment(site_hub, pid, now, "Entry Error")
    result = found(site_hub, shop, now, "adjustments")
    assert [(f.key, f.severity, f.message) for f in result] == [
        (f"note:{mid}", "medium", f"{TAGS[0]}: a Entry Error adjustment has no note")
    ]
    assert result[0].evidence == [{"tag": TAGS[0], "reason": "Entry Error"}]


def test_an_ill_formed_tag_fires_unless_the_package_came_from_ccrs(site_hub, shop, clock):
    now = clock.now()
    first = new_package(site_hub, shop, TAGS[0], "10", now=now)
    second = new_package(site_hub, shop, TAGS[1], "10", now=now)
    assert found(site_hub, shop, now, "tags") == []
    with site_hub.unit_of_work() as session:  # as an import from elsewhere could leave them
        session.get(InvPackage, first).tag = "1a4ff0100000022000000001"  # lower case
        ccrs = session.get(InvPackage, second)
        ccrs.tag, ccrs.external_ids = "WA-LOT-77", {"ccrs": "WA-LOT-77"}
    assert [f.key for f in found(site_hub, shop, now, "tags")] == ["form:1a4ff0100000022000000001"]
    with site_hub.unit_of_work() as session:
        session.get(InvPackage, first).tag = TAGS[0][:-1]  # 23 characters
    assert [f.key for f in found(site_hub, shop, now, "tags")] == [f"form:{TAGS[0][:-1]}"]


def test_a_package_with_no_log_at_all_is_flagged(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "10", now=now)
    with site_hub.unit_of_work() as session:
        package = session.get(InvPackage, pid)
        session.add(
            InvPackage(
                id=new_id(),
                site_id=SITE,
                tag=TAGS[1],
                item_id=package.item_id,
                location_id=package.location_id,
                quantity=units.to_stored(Decimal(5)),
                initial_quantity=units.to_stored(Decimal(5)),
                unit="g",
                status="active",
                on_hold=False,
                source_tags=[],
                external_ids={},
                created_at=now,
                updated_at=now,
            )
        )
    result = found(site_hub, shop, now, "lineage")
    assert [f.key for f in result] == [f"log:{TAGS[1]}"]
    assert "shows 5 g but its movements add up to 0 g" in result[0].message
