"""Metrc v2 files in and out: real-shaped list responses, bad files refused whole, round trip."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bastion.core.errors import InvalidInput
from bastion.inventory import imports, metrc, movements, recon
from bastion.inventory.models import (
    InvHarvest,
    InvItem,
    InvLocation,
    InvMovement,
    InvPackage,
    InvPlant,
    InvPlantBatch,
    InvSaleLine,
    InvTransferLine,
)
from tests.inventory.conftest import CTX, SITE

SAMPLES = Path(__file__).parent / "samples"
LICENSE = "IL-DISP-0000-EXAMPLE"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def load(hub, shop, kind, data, now, **kw):
    with hub.unit_of_work() as session:
        return metrc.import_file(
            session,
            site=shop.site,
            kind=kind,
            data=data,
            license_no=LICENSE,
            context=CTX,
            now=now,
            **kw,
        )


def tags(hub):
    with hub.db.sessions() as session:
        return {p.tag: (str(p.quantity), p.unit) for p in session.query(InvPackage)}


def test_packages_import_with_lineage_units_and_locations(site_hub, shop, clock):
    result = load(site_hub, shop, "packages", sample("metrc_packages.json"), clock.now())
    assert result.status == "accepted" and result.accepted == 4
    assert tags(site_hub)["1A4FF0100000022000000004"] == (str(2500), "lb")
    with site_hub.db.sessions() as session:
        p2 = session.query(InvPackage).filter_by(tag="1A4FF0100000022000000002").one()
        assert p2.source_tags == ["1A4FF0100000022000000001"]
        assert p2.external_ids == {"metrc": "10301"}
        vault = session.query(InvLocation).filter_by(name="Vault").one()
        assert vault.zone_id == "vault"  # the site's own location, matched by name
        assert session.query(InvItem).filter_by(name="Gummies 10 pack").one().unit == "each"
    again = load(site_hub, shop, "packages", sample("metrc_packages.json"), clock.now())
    assert again.status == "duplicate" and "already imported" in again.message


@pytest.mark.parametrize(
    ("mutate", "record", "field", "words"),
    [
        (
            lambda d: d["Data"][1].pop("Quantity"),
            "record 2 (1A4FF0100000022000000002)",
            "Quantity",
            "missing",
        ),
        (
            lambda d: d["Data"][2].update(UnitOfMeasureName="Stone"),
            "record 3",
            "UnitOfMeasureName",
            "unknown unit",
        ),
        (lambda d: d["Data"][0].update(Quantity=-1), "record 1", "Quantity", "negative"),
        (lambda d: d["Data"][3].update(Label="ABC"), "record 4", "Label", "not a Metrc tag"),
        (lambda d: d["Data"][3].update(Label=d["Data"][0]["Label"]), "record 4", "Label", "twice"),
        (lambda d: d.pop("Total"), "file", "Total", "missing Total"),
    ],
)
def test_a_bad_record_refuses_the_whole_file_and_is_kept_for_review(
    site_hub, shop, clock, mutate, record, field, words
):
    body = json.loads(sample("metrc_packages.json"))
    mutate(body)
    result = load(site_hub, shop, "packages", json.dumps(body).encode(), clock.now())
    assert result.status == "rejected" and result.accepted == 0
    first = result.rejected[0]
    assert first.record.startswith(record) and first.field == field and words in first.message
    assert tags(site_hub) == {}
    with site_hub.db.sessions() as session:
        kept = imports.rejected_rows(session, result.import_id)
        assert kept and kept[0].field == field
        assert session.query(InvMovement).count() == 0


def test_a_file_for_another_licence_or_state_is_refused(site_hub, shop, clock):
    with (
        site_hub.unit_of_work() as session,
        pytest.raises(InvalidInput, match="a CO licence; this site is in IL"),
    ):
        metrc.import_file(
            session,
            site=shop.site,
            kind="packages",
            data=sample("metrc_packages.json"),
            license_no="CO-403R-00001",
            context=CTX,
            now=clock.now(),
        )
    with site_hub.unit_of_work() as session:
        body = json.loads(sample("metrc_transfers.json"))
        body["Data"][0]["RecipientFacilityLicenseNumber"] = "IL-DISP-9999"
        result = metrc.import_file(
            session,
            site=shop.site,
            kind="transfers",
            data=json.dumps(body).encode(),
            license_no=LICENSE,
            context=CTX,
            now=clock.now(),
        )
        assert (
            result.status == "rejected"
            and "neither the shipper nor the recipient" in result.message
        )


def test_not_json_and_a_bare_list_are_refused_in_words(site_hub, shop, clock):
    assert "not a Metrc JSON" in load(site_hub, shop, "packages", b"<html>", clock.now()).message
    assert "not a bare list" in load(site_hub, shop, "packages", b"[]", clock.now()).message


def test_transfers_receipts_and_employees_feed_the_checks(site_hub, shop, clock):
    now = clock.now()
    assert load(site_hub, shop, "packages", sample("metrc_packages.json"), now).status == "accepted"
    assert (
        load(site_hub, shop, "transfers", sample("metrc_transfers.json"), now).status == "accepted"
    )
    r = load(
        site_hub,
        shop,
        "transfer_packages",
        sample("metrc_transfer_packages.json"),
        now,
        manifest="0000000001",
    )
    assert r.status == "accepted"
    assert load(site_hub, shop, "receipts", sample("metrc_receipts.json"), now).status == "accepted"
    assert (
        load(site_hub, shop, "employees", sample("metrc_employees.json"), now).status == "accepted"
    )
    with site_hub.db.sessions() as session:
        assert session.query(InvTransferLine).count() == 2
        line = session.query(InvSaleLine).one()
        assert line.source == "metrc" and line.day == "2025-01-15"
        # 16:44:53 local (Chicago, no zone in the file) is 22:44:53 UTC
        assert line.at.hour == 22
        found = recon.evaluate(
            session,
            site=shop.site,
            now=now,
            days=10_000,
            checks=("transfers", "users", "pos_vs_tracking"),
        )
    keys = {f.key for f in found}
    assert "line:0000000001:1A4FF0100000022000000002" in keys  # 7 g shipped, 3.5 g received
    assert not any(k.startswith("user:") for k in keys)  # both tracking users are employees
    assert "2025-01-15:1A4FF0100000022000000002" in keys  # the state sold it, the POS did not


def test_adjustment_and_receipt_exports_are_metrc_request_bodies(site_hub, shop, clock):
    now = clock.now()
    load(site_hub, shop, "packages", sample("metrc_packages.json"), now)
    with site_hub.unit_of_work() as session:
        pkg = movements.by_tag(session, SITE, "1A4FF0100000022000000001")
        movements.adjust(
            session=session,
            site=shop.site,
            package=pkg,
            delta=Decimal("-2.5"),
            unit="g",
            reason="Theft",
            note="Incident INC-0042",
            actor=movements.Actor(CTX),
            now=now,
        )
        session.add(
            InvSaleLine(
                site_id=SITE,
                source="pos",
                receipt="POS-000123",
                at=now,
                day="x",
                tag="1A4FF0100000022000000002",
                quantity=35_000,
                unit="g",
                price_cents=3500,
            )
        )
    with site_hub.db.sessions() as session:
        body = metrc.export_adjustments(
            session, site=shop.site, since=now - timedelta(days=1), until=now + timedelta(1)
        )
        receipts = metrc.export_receipts(
            session, site=shop.site, since=now - timedelta(days=1), until=now + timedelta(1)
        )
    assert body == [
        {
            "Label": "1A4FF0100000022000000001",
            "Quantity": -2.5,
            "UnitOfMeasure": "Grams",
            "AdjustmentReason": "Theft",
            "AdjustmentDate": body[0]["AdjustmentDate"],
            "ReasonNote": "Incident INC-0042",
        }
    ]
    assert receipts[0]["Transactions"] == [
        {
            "PackageLabel": "1A4FF0100000022000000002",
            "Quantity": 3.5,
            "UnitOfMeasure": "Grams",
            "TotalAmount": 35.0,
        }
    ]
    assert "+" not in receipts[0]["SalesDateTime"] and "Z" not in receipts[0]["SalesDateTime"]


def test_round_trip_import_export_import_gives_the_same_state(site_hub, shop, clock):
    now = clock.now()
    load(site_hub, shop, "packages", sample("metrc_packages.json"), now)
    with site_hub.db.sessions() as session:
        first = metrc.export_packages(session, site=shop.site)
    before = tags(site_hub)
    with site_hub.unit_of_work() as session:  # forget the books, keep the places
        session.query(InvMovement).delete()
        session.query(InvPackage).delete()
        session.query(InvItem).delete()
    result = load(site_hub, shop, "packages", json.dumps(first).encode(), now)
    assert result.status == "accepted"
    assert tags(site_hub) == before
    with site_hub.db.sessions() as session:
        assert metrc.export_packages(session, site=shop.site) == first


def test_plants_and_harvests_import_into_batches_and_the_mass_balance(site_hub, shop, clock):
    now = clock.now()
    assert load(site_hub, shop, "plants", sample("metrc_plants.json"), now).status == "accepted"
    assert load(site_hub, shop, "harvests", sample("metrc_harvests.json"), now).status == "accepted"
    with site_hub.db.sessions() as session:
        batch = session.query(InvPlantBatch).one()
        assert (batch.name, batch.count, batch.live_count) == ("BD-2025-01", 4, 4)
        assert session.query(InvPlant).filter_by(phase="Flowering").count() == 3
        harvest = session.query(InvHarvest).one()
        assert harvest.wet_weight == 240_000_000 and harvest.finished_at is not None
        found = recon.evaluate(
            session, site=shop.site, now=now, checks=("mass_balance", "batch_counts")
        )
    # 24 kg wet, 1.2 kg waste, 5.4 kg packaged: 72.5 % moisture loss is in range
    assert found == []
    body = json.loads(sample("metrc_plants.json"))
    body["Data"][0]["GrowthPhase"] = "Sprouting"
    bad = load(site_hub, shop, "plants", json.dumps(body).encode(), now)
    assert bad.status == "rejected" and bad.rejected[0].field == "GrowthPhase"
