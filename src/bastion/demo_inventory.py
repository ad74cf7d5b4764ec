"""The demo's inventory: packages received on a manifest, sales, a count, a vault slip.

A cultivation site gets its own year so far instead (:func:`seed_cultivation`): plant
batches in the flower rooms, a harvest drying, and packages made from it.

Played once per data directory through the real services: the vault, back room and
sales floor become locations; a Metrc manifest and its packages are imported as the state
system would list them; the POS sells from two packages and the state's receipts list one
sale fewer; a budtender writes off 0.8 g that dried out; a blind count finds a package
1.5 g short; a budtender carries a package into the vault without badging in (flagged,
with the vault camera's clip and a diversion alarm); then the ten reconciliation checks
run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bastion.core.context import Context
from bastion.hub import Hub
from bastion.inventory import catalog, counts, metrc, movements, recon, units
from bastion.inventory.models import InvSaleLine
from bastion.people import employees
from bastion.site.schemas import Site

CTX = Context(actor="demo")
PLACES = (
    ("Vault", "vault", "vault"),
    ("Back room", "back-of-house", "storage"),
    ("Sales floor", "sales-floor", "sales"),
)
ITEMS = (("Blue Dream 3.5 g", 1000), ("OG Kush 1 g pre-roll", 1200), ("Gummies 100 mg", 2000))


def _envelope(data: list[dict[str, Any]]) -> bytes:
    n = len(data)
    return json.dumps(
        {
            "Data": data,
            "Total": n,
            "TotalRecords": n,
            "PageSize": 20,
            "RecordsOnPage": n,
            "Page": 1,
            "CurrentPage": 1,
            "TotalPages": 1,
        }
    ).encode()


def _tag(n: int) -> str:
    return f"1A4FF0300000029000{n:06d}"


def seed_inventory(hub: Hub, site: Site) -> bool:
    """Play the demo's inventory once; return False when it is already there (or cannot be)."""
    sid = site.site.id
    if site.site.facility_type == "cultivation":
        return seed_cultivation(hub, site)
    if {"vault", "back-of-house", "sales-floor"} - {z.id for z in site.zones}:
        return False
    now = hub.clock.now()
    day = now - timedelta(days=1)
    with hub.unit_of_work() as session:
        if catalog.locations(session, sid):
            return False
        for name, zone, kind in PLACES:
            catalog.create_location(
                session=session, site=site, name=name, zone_id=zone, kind=kind, context=CTX, now=day
            )
        for name, value in ITEMS:
            catalog.create_item(
                session=session,
                site_id=sid,
                name=name,
                unit="g",
                category="Flower",
                unit_value_cents=value,
                context=CTX,
                now=day,
            )
    lic = site.site.license_number
    transfer = [
        {
            "Id": 1,
            "ManifestNumber": "0000004711",
            "ShipperFacilityLicenseNumber": "IL-CULT-0001",
            "RecipientFacilityLicenseNumber": lic,
            "ShipmentTypeName": "Transfer",
            "PackageCount": 3,
            "ReceivedPackageCount": 3,
            "ActualDepartureDateTime": (day - timedelta(hours=3)).isoformat(),
            "ReceivedDateTime": (day - timedelta(hours=1)).isoformat(),
            "IsVoided": False,
        }
    ]
    lines = [
        {
            "PackageLabel": _tag(n),
            "ShippedQuantity": q,
            "ShippedUnitOfMeasureName": "Grams",
            "ReceivedQuantity": q,
            "ReceivedUnitOfMeasureName": "Grams",
            "ShipmentPackageState": "Accepted",
        }
        for n, q in ((1, 448), (2, 224), (3, 112))
    ]
    packages = [
        {
            "Id": 7000 + n,
            "Label": _tag(n),
            "Item": {"Name": item},
            "Quantity": q,
            "UnitOfMeasureName": "Grams",
            "LocationName": "Back room",
            "PackagedDate": day.date().isoformat(),
            "ReceivedFromManifestNumber": "0000004711",
            "IsOnHold": False,
            "IsFinished": False,
        }
        for n, q, item in ((1, 448, ITEMS[0][0]), (2, 224, ITEMS[0][0]), (3, 112, ITEMS[1][0]))
    ]
    with hub.unit_of_work() as session:
        for kind, body, extra in (
            ("transfers", transfer, {}),
            ("transfer_packages", lines, {"manifest": "0000004711"}),
            ("packages", packages, {}),
        ):
            metrc.import_file(
                session,
                site=site,
                kind=kind,
                data=_envelope(body),
                license_no=lic,
                context=CTX,
                now=day,
                filename=f"demo-{kind}.json",
                **extra,
            )
    _sales(hub, site, day)
    staff = _staff(hub, sid)
    with hub.unit_of_work() as session:
        places = {p.name: p for p in catalog.locations(session, sid)}
        pkg = movements.by_tag(session, sid, _tag(2))
        movements.move(
            session=session,
            site=site,
            package=pkg,
            location=places["Sales floor"],
            actor=movements.Actor(CTX),
            now=day + timedelta(hours=1),
        )
        # Flower dries out in the sales-floor jar: the budtender writes 0.8 g off.
        movements.adjust(
            session=session,
            site=site,
            package=pkg,
            delta=Decimal("-0.8"),
            unit="g",
            reason="Drying",
            actor=movements.Actor(Context(actor="demo:budtender"), None, staff),
            now=day + timedelta(hours=8),
        )
        # A budtender carries a package into the vault without badging in.
        slip = movements.by_tag(session, sid, _tag(3))
        movements.move(
            session=session,
            site=site,
            package=slip,
            location=places["Vault"],
            actor=movements.Actor(Context(actor="demo:budtender"), None, staff),
            now=day + timedelta(hours=9),
        )
    with hub.unit_of_work() as session:
        count = counts.start(
            session=session,
            site=site,
            counters=[1],
            context=CTX,
            now=day + timedelta(hours=10),
            size=3,
        )
        for line in counts.lines(session, count):
            short = Decimal("1.5") if line.tag == _tag(1) else Decimal(0)
            counts.enter(
                session=session,
                count=count,
                user_id=1,
                tag=line.tag,
                counted=units.from_stored(line.system_qty) - short,
                context=CTX,
                now=day + timedelta(hours=10, minutes=20),
            )
        counts.complete(
            session=session,
            count=count,
            witness_user_id=2,
            context=CTX,
            now=day + timedelta(hours=10, minutes=40),
        )
    with hub.unit_of_work() as session:
        recon.run(session, site=site, context=CTX, now=now)
    return True


def _staff(hub: Hub, site_id: str) -> str | None:
    with hub.db.sessions() as session:
        staff = employees.list_staff(session=session, site_id=site_id)
        return staff[0].id if staff else None


def _sales(hub: Hub, site: Site, day: datetime) -> None:
    """Sell from the sales-floor package at the POS; the state's receipts miss the last one."""
    sid = site.site.id
    zone = ZoneInfo(site.site.timezone)
    tz_day = day.replace(hour=20, minute=0, second=0, microsecond=0)
    with hub.unit_of_work() as session:
        pkg = movements.by_tag(session, sid, _tag(2))
        for n in range(6):
            at = tz_day + timedelta(minutes=17 * n)
            movements.post(
                session=session,
                site=site,
                package=pkg,
                kind="sale",
                delta=-35_000,
                actor=movements.Actor(Context(actor="integration:pos")),
                now=at,
                reference={"receipt": f"POS-{n:04d}"},
            )
            for source in ("pos", "metrc") if n < 5 else ("pos",):
                session.add(
                    InvSaleLine(
                        site_id=sid,
                        source=source,
                        receipt=f"POS-{n:04d}",
                        at=at,
                        day=at.astimezone(zone).date().isoformat(),
                        tag=pkg.tag,
                        quantity=35_000,
                        unit="g",
                        price_cents=3500,
                    )
                )


GROW_PLACES = (
    ("Flower room 1", "grow-1", "grow"),
    ("Flower room 2", "grow-2", "grow"),
    ("Dry room", "drying", "drying"),
    ("Packaging", "packaging", "storage"),
    ("Product vault", "vault", "vault"),
)


def _grow_tag(n: int) -> str:
    return f"1A4CO0200000035000{n:06d}"


def seed_cultivation(hub: Hub, site: Site) -> bool:
    """Play a cultivation centre's inventory once; False when it is already there (or cannot be).

    Two batches of clones: twelve Blue Dream plants tagged and flowering, ten of them
    harvested nine days ago (5 kg wet, 500 g of stems and leaves thrown away) and four
    250 g packages made from the harvest, which is still drying; and 24 OG Kush clones
    in vegetation. The batch counts add up, and the open harvest is young enough that
    the mass-balance check has nothing to say yet.
    """
    sid = site.site.id
    if {zone for _, zone, _ in GROW_PLACES} - {z.id for z in site.zones}:
        return False
    now = hub.clock.now()
    planted = now - timedelta(days=70)
    cut = now - timedelta(days=9)
    with hub.unit_of_work() as session:
        if catalog.locations(session, sid):
            return False
        places = {
            name: catalog.create_location(
                session=session,
                site=site,
                name=name,
                zone_id=zone,
                kind=kind,
                context=CTX,
                now=planted,
            )
            for name, zone, kind in GROW_PLACES
        }
        flower = catalog.create_item(
            session=session,
            site_id=sid,
            name="Blue Dream bulk flower",
            unit="g",
            category="Buds",
            strain="Blue Dream",
            unit_value_cents=400,
            context=CTX,
            now=planted,
        )
        blue = catalog.create_batch(
            session=session,
            site_id=sid,
            name="Blue Dream · clones of week 39",
            strain="Blue Dream",
            count=12,
            context=CTX,
            now=planted,
            location_id=places["Flower room 1"].id,
        )
        catalog.create_batch(
            session=session,
            site_id=sid,
            name="OG Kush · clones of week 47",
            strain="OG Kush",
            count=24,
            context=CTX,
            now=now - timedelta(days=12),
            location_id=places["Flower room 2"].id,
        )
        plants = catalog.tag_plants(
            session=session,
            batch=blue,
            tags=[_grow_tag(n) for n in range(1, 13)],
            context=CTX,
            now=planted + timedelta(days=21),
            phase="Flowering",
        )
        crop = catalog.harvest(
            session=session,
            site_id=sid,
            name="Blue Dream harvest 1",
            plants=plants[:10],
            wet_weight=Decimal(5000),
            unit="g",
            context=CTX,
            now=cut,
            location_id=places["Dry room"].id,
        )
        catalog.record_waste(
            session=session, harvest_row=crop, weight=Decimal(500), context=CTX, now=cut
        )
        for n in range(4):
            movements.create_package(
                session=session,
                site=site,
                site_id=sid,
                tag=_grow_tag(101 + n),
                item=flower,
                quantity=Decimal(250),
                unit="g",
                actor=movements.Actor(CTX),
                now=cut + timedelta(days=7, hours=n),
                location=places["Packaging"],
                harvest_row=crop,
            )
    with hub.unit_of_work() as session:
        recon.run(session, site=site, context=CTX, now=now)
    return True
