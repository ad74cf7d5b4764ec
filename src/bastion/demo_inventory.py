"""The demo's inventory: packages received on a manifest, sales, a count, a vault slip.

Played once per data directory through the real services: the vault, back room and
sales floor become locations; a Metrc manifest and its packages are imported as the state
system would list them; the POS sells from two packages and the state's receipts list one
sale fewer; a blind count finds a package 1.5 g short; a budtender carries a package into
the vault without badging in (flagged, with the vault camera's clip and a diversion
alarm); then the ten reconciliation checks run.
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
