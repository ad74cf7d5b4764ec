"""Washington CCRS CSV in and out: metadata rows, exact headers, refusals in words, round trip."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.inventory import ccrs, units
from bastion.inventory.models import InvItem, InvMovement, InvPackage, InvSaleLine
from tests.inventory.conftest import CTX

LIC = "IL-DISP-0000-EXAMPLE"  # the example site's licence stands in for a WA licence number


def csv_file(
    kind: str, rows: list[str], declared: int | None = None, header: str | None = None
) -> bytes:
    cols = len(ccrs.HEADERS[kind])
    pad = "," * (cols - 2)
    head = header or ",".join(ccrs.HEADERS[kind])
    meta = [
        f"SubmittedBy,OpenTHC{pad}",
        f"SubmittedDate,01/15/2025{pad}",
        f"NumberRecords,{len(rows) if declared is None else declared}{pad}",
    ]
    return ("\r\n".join([*meta, head, *rows]) + "\r\n").encode()


INVENTORY = [
    f"{LIC},Blue Dream,Vault,Blue Dream Flower,28,28,0,FALSE,INV-0001,Jane Doe,01/14/2025,,,INSERT",
    f"{LIC},Blue Dream,Sales floor,Blue Dream 3.5 g,35,17.5,0,FALSE,INV-0002,Jane Doe,01/14/2025,,,INSERT",
    f"{LIC},OG Kush,Back room,Bulk OG Kush,453.59237,400,0,FALSE,INV-0003,Jane Doe,01/14/2025,,,INSERT",
]


def load(hub, shop, kind, data, now):
    with hub.unit_of_work() as session:
        return ccrs.import_file(session, site=shop.site, kind=kind, data=data, context=CTX, now=now)


def stock(hub):
    with hub.db.sessions() as session:
        return {p.tag: units.from_stored(p.quantity) for p in session.query(InvPackage)}


def test_inventory_adjustments_and_sales_import(site_hub, shop, clock):
    now = clock.now()
    assert (
        load(site_hub, shop, "Inventory", csv_file("Inventory", INVENTORY), now).status
        == "accepted"
    )
    assert stock(site_hub) == {
        "INV-0001": Decimal(28),
        "INV-0002": Decimal("17.5"),
        "INV-0003": Decimal(400),
    }
    adj = [
        f"{LIC},INV-0001,Theft,Incident INC-0042,2.50,01/15/2025,ADJ-0001,Jane Doe,01/15/2025,,,INSERT"
    ]
    result = load(site_hub, shop, "InventoryAdjustment", csv_file("InventoryAdjustment", adj), now)
    assert result.status == "accepted", result.message
    assert stock(site_hub)["INV-0001"] == Decimal("25.5")
    sale = [
        f"{LIC},,INV-0002,,RecreationalRetail,01/15/2025,3.5,10.00,0,0,0,S-1,S-1-1,Jane Doe,01/15/2025,,,INSERT"
    ]
    assert load(site_hub, shop, "Sale", csv_file("Sale", sale), now).status == "accepted"
    with site_hub.db.sessions() as session:
        line = session.query(InvSaleLine).one()
        assert (line.source, line.price_cents, line.day) == ("ccrs", 3500, "2025-01-15")
        moved = session.query(InvMovement).filter_by(kind="adjust").one()
        assert moved.reason == "Theft" and moved.note == "Incident INC-0042"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            csv_file("Inventory", INVENTORY, declared=5),
            "NumberRecords",
            "CheckSum and number of records don't match",
        ),
        (
            csv_file("Inventory", INVENTORY, header="LicenseNumber,Strain,Area,Product"),
            "header",
            "missing InitialQuantity",
        ),
        (
            csv_file("Inventory", [INVENTORY[0], INVENTORY[1].replace("17.5", "-1")]),
            "QuantityOnHand",
            "No Negative Entries",
        ),
        (
            csv_file("Inventory", [INVENTORY[0], INVENTORY[0]]),
            "ExternalIdentifier",
            "Duplicate External Identifier",
        ),
        (
            csv_file("Inventory", [INVENTORY[0].replace(LIC, "412345")]),
            "LicenseNumber",
            "not this site's licence",
        ),
        (
            csv_file("Inventory", [INVENTORY[0].replace("01/14/2025", "2025-01-14")]),
            "CreatedDate",
            "MM/DD/YYYY",
        ),
        (b"LicenseNumber,Strain\r\n", "SubmittedBy", "metadata row"),
    ],
)
def test_bad_files_are_refused_whole_with_the_row_and_field(
    site_hub, shop, clock, data, field, words
):
    result = load(site_hub, shop, "Inventory", data, clock.now())
    assert result.status == "rejected"
    assert any(r.field == field and words in r.message for r in result.rejected), result.message
    assert stock(site_hub) == {}


def test_an_adjustment_of_an_unknown_package_or_reason_is_refused(site_hub, shop, clock):
    now = clock.now()
    load(site_hub, shop, "Inventory", csv_file("Inventory", INVENTORY), now)
    bad = [f"{LIC},INV-9999,Theft,x,1,01/15/2025,ADJ-9,J,01/15/2025,,,INSERT"]
    result = load(site_hub, shop, "InventoryAdjustment", csv_file("InventoryAdjustment", bad), now)
    assert result.status == "rejected" and "INV-9999" in result.message
    bad = [f"{LIC},INV-0001,Dropped,x,1,01/15/2025,ADJ-9,J,01/15/2025,,,INSERT"]
    result = load(site_hub, shop, "InventoryAdjustment", csv_file("InventoryAdjustment", bad), now)
    assert "Invalid Adjustment Reason" in result.message
    too_much = [f"{LIC},INV-0001,Lost,x,100,01/15/2025,ADJ-9,J,01/15/2025,,,INSERT"]
    result = load(
        site_hub, shop, "InventoryAdjustment", csv_file("InventoryAdjustment", too_much), now
    )
    assert "would go negative" in result.message
    assert stock(site_hub)["INV-0001"] == Decimal(28)


def test_round_trip_inventory_and_adjustments(site_hub, shop, clock):
    now = clock.now()
    load(site_hub, shop, "Inventory", csv_file("Inventory", INVENTORY), now)
    adj = [f"{LIC},INV-0003,Lost,scale check,0.5,01/15/2025,ADJ-0001,Jane Doe,01/15/2025,,,INSERT"]
    load(site_hub, shop, "InventoryAdjustment", csv_file("InventoryAdjustment", adj), now)
    before = stock(site_hub)
    with site_hub.db.sessions() as session:
        inv = ccrs.export(session, site=shop.site, kind="Inventory", now=now)
        adjustments = ccrs.export(session, site=shop.site, kind="InventoryAdjustment", now=now)
    assert b"ADJ-0001" in adjustments and b",Lost,scale check,0.5," in adjustments
    with site_hub.unit_of_work() as session:
        session.query(InvMovement).delete()
        session.query(InvPackage).delete()
        session.query(InvItem).delete()
    assert load(site_hub, shop, "Inventory", inv, now).status == "accepted"
    assert stock(site_hub) == before
    with site_hub.db.sessions() as session:
        assert ccrs.export(session, site=shop.site, kind="Inventory", now=now) == inv
