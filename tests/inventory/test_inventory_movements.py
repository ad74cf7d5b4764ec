"""Packages, units, adjustments, destruction with two people, and the badge/arming/clip links."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from bastion.alarms.models import Alarm
from bastion.automation import arming
from bastion.core.context import Context
from bastion.core.errors import Conflict, Forbidden, InvalidInput
from bastion.inventory import catalog, movements, units
from bastion.inventory.models import InvMovement
from tests.inventory.conftest import CTX, SITE, TAGS, actor, badge_in, new_package, quantity


def test_conversions_are_exact_decimals_and_unknown_units_are_refused():
    assert units.convert(Decimal(1), "lb", "g") == Decimal("453.59237")
    assert units.convert(Decimal(16), "oz", "lb") == Decimal(1)
    assert units.convert(Decimal("2.5"), "kg", "mg") == Decimal(2_500_000)
    assert units.to_stored(Decimal("3.5")) == 35_000
    assert units.from_stored(35_000) == Decimal("3.5000")
    assert units.unit("Grams") == "g"
    with pytest.raises(InvalidInput, match="unknown unit 'stone'"):
        units.unit("stone")
    with pytest.raises(InvalidInput, match="cannot convert g to ml"):
        units.convert(Decimal(1), "g", "ml")


def test_every_change_is_an_append_only_movement_with_a_ledger_event(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "100", now=now)
    who = actor(site_hub, shop.alice_user)
    with site_hub.unit_of_work() as session:
        pkg = movements.get_package(session, SITE, pid)
        movements.adjust(
            session=session,
            site=shop.site,
            package=pkg,
            delta=Decimal("-1.5"),
            unit="g",
            reason="Drying",
            actor=who,
            now=now,
        )
    assert quantity(site_hub, pid) == Decimal("98.5")
    with site_hub.db.sessions() as session:
        rows = movements.history(session, pid)
        assert [(r.kind, r.delta) for r in rows] == [("create", 1_000_000), ("adjust", -15_000)]
        assert rows[-1].person_id == shop.alice
    events = site_hub.ledger.query(types=["inventory.movement"], limit=10, newest_first=False)
    payloads = [json.loads(e.payload) for e in events]
    assert [p["kind"] for p in payloads] == ["create", "adjust"]
    assert payloads[1]["delta"] == "-1.5000" and payloads[1]["subject"] == shop.alice


def test_bad_changes_name_the_tag_and_field(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "10", now=now)
    with pytest.raises(Conflict, match=f"tag {TAGS[0]}: already used"):
        new_package(site_hub, shop, TAGS[0], "10", now=now)
    with pytest.raises(InvalidInput, match="24 letters and digits"):
        new_package(site_hub, shop, "short", "10", now=now)
    with site_hub.unit_of_work() as session:
        pkg = movements.get_package(session, SITE, pid)
        with pytest.raises(InvalidInput, match="quantity would go negative"):
            movements.adjust(
                session=session,
                site=shop.site,
                package=pkg,
                delta=Decimal(-11),
                unit="g",
                reason="Drying",
                actor=movements.Actor(CTX),
                now=now,
            )
        with pytest.raises(InvalidInput, match="needs a note"):
            movements.adjust(
                session=session,
                site=shop.site,
                package=pkg,
                delta=Decimal(-1),
                unit="g",
                reason="Theft",
                actor=movements.Actor(CTX),
                now=now,
            )
        with pytest.raises(InvalidInput, match="unknown unit"):
            movements.adjust(
                session=session,
                site=shop.site,
                package=pkg,
                delta=Decimal(-1),
                unit="pinch",
                reason="Drying",
                actor=movements.Actor(CTX),
                now=now,
            )
    assert quantity(site_hub, pid) == Decimal(10)


def test_plant_tags_cannot_label_packages(site_hub, shop, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        batch = catalog.create_batch(
            session=session,
            site_id=SITE,
            name="B1",
            strain="Blue Dream",
            count=2,
            context=CTX,
            now=now,
        )
        catalog.tag_plants(session=session, batch=batch, tags=[TAGS[5]], context=CTX, now=now)
    with pytest.raises(Conflict, match="a plant tag cannot label a package"):
        new_package(site_hub, shop, TAGS[5], "1", now=now)


def test_an_unbadged_vault_move_is_flagged_with_the_vault_clip_and_alarm(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "50", now=now)
    with site_hub.unit_of_work() as session:
        pkg = movements.get_package(session, SITE, pid)
        row = movements.move(
            session=session,
            site=shop.site,
            package=pkg,
            location=catalog.get_location(session, SITE, shop.vault),
            actor=actor(site_hub, shop.alice_user),
            now=now,
        )
        assert row.status == "posted"
        assert "no_badge:vault" in row.flags
        assert row.clip is not None and row.clip["camera_id"]
    with site_hub.db.sessions() as session:
        alarm = session.query(Alarm).filter_by(alarm_type="inventory_diversion").one()
        assert "no_badge:vault" in alarm.message


def test_a_badged_move_is_clean_and_an_armed_zone_is_flagged(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "50", now=now)
    badge_in(site_hub, shop.alice, now - timedelta(minutes=5), door="boh-door")
    badge_in(site_hub, shop.alice, now - timedelta(minutes=5), door="vault-door")
    with site_hub.unit_of_work() as session:
        row = movements.move(
            session=session,
            site=shop.site,
            package=movements.get_package(session, SITE, pid),
            location=catalog.get_location(session, SITE, shop.vault),
            actor=actor(site_hub, shop.alice_user),
            now=now,
        )
        assert row.flags == []
    with site_hub.unit_of_work() as session:
        arming.set_arming(
            session=session,
            site=shop.site,
            zone_id="back-of-house",
            armed=True,
            context=CTX,
            now=now,
        )
    later = now + timedelta(minutes=10)
    with site_hub.unit_of_work() as session:
        row = movements.move(
            session=session,
            site=shop.site,
            package=movements.get_package(session, SITE, pid),
            location=catalog.get_location(session, SITE, shop.backroom),
            actor=actor(site_hub, shop.alice_user),
            now=later,
        )
        assert "zone_armed:back-of-house" in row.flags


def test_destruction_above_the_threshold_waits_for_a_second_badged_person(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "500", now=now)
    badge_in(site_hub, shop.alice, now - timedelta(minutes=1), door="boh-door")
    with site_hub.unit_of_work() as session:
        row = movements.destroy(
            session=session,
            site=shop.site,
            package=movements.get_package(session, SITE, pid),
            quantity=Decimal(200),
            unit="g",
            method="Grinding",
            note="failed lab test",
            actor=actor(site_hub, shop.alice_user),
            now=now,
        )
        assert row.status == "pending"
        mid = row.id
    assert quantity(site_hub, pid) == Decimal(500)
    with site_hub.unit_of_work() as session, pytest.raises(Forbidden, match="different person"):
        movements.confirm(
            session=session,
            site=shop.site,
            movement=movements.get_movement(session, SITE, mid),
            actor=actor(site_hub, shop.alice_user),
            now=now,
        )
    with site_hub.unit_of_work() as session, pytest.raises(Forbidden, match="badged"):
        movements.confirm(
            session=session,
            site=shop.site,
            movement=movements.get_movement(session, SITE, mid),
            actor=actor(site_hub, shop.bob_user),
            now=now,
        )
    badge_in(site_hub, shop.bob, now - timedelta(minutes=1), door="boh-door")
    with site_hub.unit_of_work() as session:
        row = movements.confirm(
            session=session,
            site=shop.site,
            movement=movements.get_movement(session, SITE, mid),
            actor=actor(site_hub, shop.bob_user),
            now=now,
        )
        assert row.status == "confirmed" and row.witness_person_id == shop.bob
    assert quantity(site_hub, pid) == Decimal(300)
    with site_hub.db.sessions() as session:
        assert session.get(InvMovement, mid).note == "failed lab test"


def test_small_destruction_needs_no_second_person(site_hub, shop, clock):
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "50", now=now)
    with site_hub.unit_of_work() as session:
        row = movements.destroy(
            session=session,
            site=shop.site,
            package=movements.get_package(session, SITE, pid),
            quantity=Decimal(50),
            unit="g",
            method="Composting",
            actor=movements.Actor(CTX),
            now=now,
        )
        assert row.status == "posted"
        assert movements.get_package(session, SITE, pid).status == "destroyed"


def test_lineage_consumes_the_source(site_hub, shop, clock):
    now = clock.now()
    src = new_package(site_hub, shop, TAGS[0], "100", now=now)
    with site_hub.unit_of_work() as session:
        child = movements.create_package(
            session=session,
            site=shop.site,
            site_id=SITE,
            tag=TAGS[1],
            item=catalog.get_item(session, SITE, shop.flower),
            quantity=Decimal(40),
            unit="g",
            actor=movements.Actor(Context(actor="test")),
            now=now,
            sources=[(movements.get_package(session, SITE, src), Decimal(40))],
        )
        assert child.source_tags == [TAGS[0]]
    assert quantity(site_hub, src) == Decimal(60)
