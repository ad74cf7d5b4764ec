"""Metrc v2: list responses in, request bodies (and list envelopes) out.

Imports read the v2 list envelope ``{Data:[…], Total, TotalRecords, PageSize, …}`` with
PascalCase fields (compliance reference §2.1) for packages, plants, harvests, transfers,
transfer delivery packages, sales receipts and employees. The file is for one facility
licence (Metrc's ``licenseNumber``); a file for another licence or another state is
refused whole. Exports produce the bodies of ``POST /packages/v2/adjust`` and
``POST /sales/v2/receipts`` (local time without a zone, as Metrc asks) and the package
list envelope (so import → export → import gives the same state).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import BastionError, InvalidInput
from bastion.inventory import catalog, imports, movements, units
from bastion.inventory.imports import Parsed, RecordError
from bastion.inventory.models import (
    InvHarvest,
    InvItem,
    InvLocation,
    InvMovement,
    InvPackage,
    InvPlant,
    InvPlantBatch,
    InvSaleLine,
    InvTrackingUser,
    InvTransfer,
    InvTransferLine,
)
from bastion.site.schemas import Site

KINDS = (
    "packages",
    "plants",
    "harvests",
    "transfers",
    "transfer_packages",
    "receipts",
    "employees",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "packages": (
        "Id",
        "Label",
        "Item",
        "Quantity",
        "UnitOfMeasureName",
        "LocationName",
        "PackagedDate",
    ),
    "plants": ("Id", "Label", "GrowthPhase", "PlantBatchName", "StrainName", "PlantedDate"),
    "harvests": (
        "Id",
        "Name",
        "TotalWetWeight",
        "TotalWasteWeight",
        "TotalPackagedWeight",
        "CurrentWeight",
        "UnitOfWeightName",
        "HarvestStartDate",
    ),
    "transfers": (
        "Id",
        "ManifestNumber",
        "ShipperFacilityLicenseNumber",
        "RecipientFacilityLicenseNumber",
    ),
    "transfer_packages": (
        "PackageLabel",
        "ShippedQuantity",
        "ShippedUnitOfMeasureName",
        "ShipmentPackageState",
    ),
    "receipts": ("Id", "ReceiptNumber", "SalesDateTime", "Transactions"),
    "employees": ("FullName", "License"),
}


def license_state(license_no: str) -> str:
    """Return the two-letter state a licence number starts with ('' when it does not)."""
    head = license_no.strip()[:2].upper()
    return head if head.isalpha() and (len(license_no) == 2 or not license_no[2].isalpha()) else ""


def check_license(site: Site, license_no: str) -> None:
    """Refuse a file fetched for another facility (or another state's system)."""
    ours = site.site.license_number.strip().upper()
    theirs = (license_no or "").strip().upper()
    if not theirs:
        raise InvalidInput("license: say which facility licence the file was fetched for")
    if ours and theirs != ours:
        st_ours, st_theirs = license_state(ours), license_state(theirs)
        other = (
            f" (a {st_theirs} licence; this site is in {st_ours})"
            if st_ours and st_theirs and st_ours != st_theirs
            else ""
        )
        raise InvalidInput(
            f"license: the file is for licence {theirs}{other}, not this site's {ours}"
        )


# --- parsing ---------------------------------------------------------------------------------


def envelope(data: bytes) -> list[dict[str, Any]]:
    """Return the records of a v2 list response, or refuse a file that is not one."""
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError("file", "-", f"not a Metrc JSON response ({exc})") from None
    if isinstance(body, list):
        raise RecordError(
            "file", "Data", "a v2 list response is an object with Data and Total, not a bare list"
        )
    if not isinstance(body, dict) or not isinstance(body.get("Data"), list):
        raise RecordError("file", "Data", "missing the Data list of a Metrc v2 list response")
    total = body.get("Total")
    if total is None:
        raise RecordError("file", "Total", "missing Total: is this a complete v2 list response?")
    records: list[dict[str, Any]] = list(body["Data"])
    if not isinstance(total, int) or (total < len(records)):
        raise RecordError(
            "file", "Total", f"Total {total!r} is less than the {len(records)} records in Data"
        )
    if (body.get("TotalPages") in (None, 1)) and total != len(records):
        raise RecordError(
            "file",
            "Total",
            f"Total is {total} but Data holds {len(records)} records (a page is missing)",
        )
    return records


def _name(kind: str, index: int, rec: Any) -> str:
    if isinstance(rec, dict):
        label = (
            rec.get("Label")
            or rec.get("PackageLabel")
            or rec.get("Name")
            or rec.get("ManifestNumber")
            or rec.get("ReceiptNumber")
            or rec.get("FullName")
        )
        if label:
            return f"record {index + 1} ({label})"
    return f"record {index + 1}"


def _decimal(rec: dict[str, Any], key: str, where: str, *, negative: bool = False) -> Decimal:
    value = rec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(where, key, f"{value!r} is not a number", rec)
    try:
        out = units.decimal(value, where=key)
    except InvalidInput as exc:
        raise RecordError(where, key, exc.message, rec) from None
    if out < 0 and not negative:
        raise RecordError(where, key, "cannot be negative", rec)
    return out


def _unit(rec: dict[str, Any], key: str, where: str) -> str:
    try:
        return units.unit(str(rec.get(key) or ""), where=key)
    except InvalidInput as exc:
        raise RecordError(where, key, exc.message, rec) from None


def _when(
    rec: dict[str, Any], key: str, where: str, tz: ZoneInfo, *, required: bool = True
) -> datetime | None:
    """Parse an ISO date or time; a time without zone is the facility's local time."""
    value = rec.get(key)
    if value in (None, ""):
        if required:
            raise RecordError(where, key, "missing", rec)
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(where, key, f"{value!r} is not a date", rec) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parser(kind: str, site: Site) -> Callable[[bytes], Parsed[dict[str, Any]]]:
    """Return the parser of one kind of list response for the site."""
    if kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}")
    tz = ZoneInfo(site.site.timezone)

    def parse(data: bytes) -> Parsed[dict[str, Any]]:
        out: Parsed[dict[str, Any]] = Parsed()
        seen: set[str] = set()
        for i, rec in enumerate(envelope(data)):
            where = _name(kind, i, rec)
            try:
                if not isinstance(rec, dict):
                    raise RecordError(where, "-", "a record is a JSON object", rec)
                missing = [k for k in REQUIRED[kind] if rec.get(k) in (None, "")]
                if missing:
                    raise RecordError(where, missing[0], "missing", rec)
                clean = _clean(kind, rec, where, tz, site)
                key = str(clean.get("key", ""))
                if key and key in seen:
                    raise RecordError(where, "Label", "appears twice in this file", rec)
                seen.add(key)
                out.records.append(clean)
            except RecordError as exc:
                out.rejected.append(exc.rejected)
        return out

    return parse


def _tag(rec: dict[str, Any], key: str, where: str) -> str:
    tag = str(rec.get(key, "")).strip().upper()
    if not catalog.TAG.match(tag):
        raise RecordError(where, key, f"{tag!r} is not a Metrc tag (24 letters and digits)", rec)
    return tag


def _clean(kind: str, rec: dict[str, Any], where: str, tz: ZoneInfo, site: Site) -> dict[str, Any]:
    if kind == "packages":
        item = rec["Item"]
        if not isinstance(item, dict) or not item.get("Name"):
            raise RecordError(where, "Item.Name", "missing", rec)
        sources = [
            s.strip().upper()
            for s in str(rec.get("SourcePackageLabels") or "").split(",")
            if s.strip()
        ]
        return {
            "key": _tag(rec, "Label", where),
            "id": str(rec["Id"]),
            "tag": _tag(rec, "Label", where),
            "item": str(item["Name"]),
            "category": str(item.get("ProductCategoryName") or ""),
            "quantity": _decimal(rec, "Quantity", where),
            "unit": _unit(rec, "UnitOfMeasureName", where),
            "location": str(rec["LocationName"]),
            "packaged": _when(rec, "PackagedDate", where, tz),
            "sources": sources,
            "harvests": str(rec.get("SourceHarvestNames") or ""),
            "on_hold": bool(rec.get("IsOnHold")),
            "finished": bool(rec.get("IsFinished")),
            "manifest": str(rec.get("ReceivedFromManifestNumber") or ""),
        }
    if kind == "plants":
        phase = str(rec["GrowthPhase"])
        if phase not in catalog.PHASES:
            raise RecordError(
                where, "GrowthPhase", f"{phase!r} is not one of {', '.join(catalog.PHASES)}", rec
            )
        return {
            "key": _tag(rec, "Label", where),
            "id": str(rec["Id"]),
            "tag": _tag(rec, "Label", where),
            "phase": phase,
            "batch": str(rec["PlantBatchName"]),
            "strain": str(rec["StrainName"]),
            "location": str(rec.get("LocationName") or ""),
            "planted": _when(rec, "PlantedDate", where, tz),
        }
    if kind == "harvests":
        u = _unit(rec, "UnitOfWeightName", where)
        if units.dimension(u) != "mass":
            raise RecordError(where, "UnitOfWeightName", "a harvest is weighed", rec)
        return {
            "key": str(rec["Name"]),
            "id": str(rec["Id"]),
            "name": str(rec["Name"]),
            "unit": u,
            "wet": _decimal(rec, "TotalWetWeight", where),
            "waste": _decimal(rec, "TotalWasteWeight", where),
            "packaged": _decimal(rec, "TotalPackagedWeight", where),
            "current": _decimal(rec, "CurrentWeight", where),
            "plants": int(rec.get("PlantCount") or 0),
            "started": _when(rec, "HarvestStartDate", where, tz),
            "finished": _when(rec, "FinishedDate", where, tz, required=False),
            "location": str(rec.get("DryingLocationName") or ""),
        }
    if kind == "transfers":
        ours = site.site.license_number.strip().upper()
        shipper = str(rec["ShipperFacilityLicenseNumber"]).upper()
        recipient = str(rec["RecipientFacilityLicenseNumber"]).upper()
        if ours and ours not in (shipper, recipient):
            raise RecordError(
                where,
                "RecipientFacilityLicenseNumber",
                f"neither the shipper nor the recipient is this site ({ours})",
                rec,
            )
        departed = _when(rec, "ActualDepartureDateTime", where, tz, required=False) or _when(
            rec, "EstimatedDepartureDateTime", where, tz, required=False
        )
        return {
            "key": str(rec["ManifestNumber"]),
            "id": str(rec["Id"]),
            "manifest": str(rec["ManifestNumber"]),
            "shipper": shipper,
            "recipient": recipient,
            "departed": departed,
            "received": _when(rec, "ReceivedDateTime", where, tz, required=False),
            "voided": bool(rec.get("IsVoided")),
            "direction": "in" if recipient == ours else "out",
        }
    if kind == "transfer_packages":
        received = rec.get("ReceivedQuantity")
        return {
            "key": _tag(rec, "PackageLabel", where),
            "tag": _tag(rec, "PackageLabel", where),
            "shipped": _decimal(rec, "ShippedQuantity", where),
            "unit": _unit(rec, "ShippedUnitOfMeasureName", where),
            "received": None if received is None else _decimal(rec, "ReceivedQuantity", where),
            "state": str(rec["ShipmentPackageState"]),
        }
    if kind == "receipts":
        lines = rec["Transactions"]
        if not isinstance(lines, list) or not lines:
            raise RecordError(where, "Transactions", "a receipt has at least one transaction", rec)
        clean_lines = []
        for n, line in enumerate(lines):
            lw = f"{where} transaction {n + 1}"
            if not isinstance(line, dict):
                raise RecordError(lw, "-", "a transaction is a JSON object", rec)
            for k in ("PackageLabel", "QuantitySold", "UnitOfMeasureName", "TotalPrice"):
                if line.get(k) in (None, ""):
                    raise RecordError(lw, k, "missing", rec)
            clean_lines.append(
                {
                    "tag": _tag(line, "PackageLabel", lw),
                    "quantity": _decimal(line, "QuantitySold", lw),
                    "unit": _unit(line, "UnitOfMeasureName", lw),
                    "price_cents": int(_decimal(line, "TotalPrice", lw) * 100),
                }
            )
        return {
            "key": str(rec["ReceiptNumber"]),
            "receipt": str(rec["ReceiptNumber"]),
            "external": str(rec.get("ExternalReceiptNumber") or ""),
            "at": _when(rec, "SalesDateTime", where, tz),
            "lines": clean_lines,
        }
    lic = rec["License"]
    number = str(lic.get("Number") or "") if isinstance(lic, dict) else str(lic)
    return {"key": f"{rec['FullName']}|{number}", "name": str(rec["FullName"]), "license": number}


# --- applying --------------------------------------------------------------------------------


def applier(
    kind: str, site: Site, context: Context, now: datetime, manifest: str | None = None
) -> Callable[[Session, list[dict[str, Any]]], int]:
    """Return the function that applies parsed records of one kind to the site's books."""
    sid = site.site.id
    actor = movements.Actor(context)
    tz = ZoneInfo(site.site.timezone)

    def location(session: Session, name: str) -> InvLocation | None:
        if not name:
            return None
        found = catalog.find_location(session, sid, name)
        return found or catalog.create_location(
            session=session, site=site, name=name, context=context, now=now
        )

    def item(session: Session, name: str, unit: str, category: str) -> InvItem:
        found = catalog.find_item(session, sid, name)
        return found or catalog.create_item(
            session=session,
            site_id=sid,
            name=name,
            unit=unit,
            category=category,
            context=context,
            now=now,
        )

    def packages(session: Session, records: list[dict[str, Any]]) -> int:
        tags = [rec["tag"] for rec in records]
        known: dict[str, InvPackage] = {}
        plant_tags: set[str] = set()
        for k in range(0, len(tags), 500):
            chunk = tags[k : k + 500]
            known.update(
                (p.tag, p)
                for p in session.execute(
                    select(InvPackage).where(InvPackage.tag.in_(chunk))
                ).scalars()
            )
            plant_tags.update(
                session.execute(select(InvPlant.tag).where(InvPlant.tag.in_(chunk))).scalars()
            )
        items = {
            i.name: i
            for i in session.execute(select(InvItem).where(InvItem.site_id == sid)).scalars()
        }
        places = {loc.name: loc for loc in catalog.locations(session, sid)}
        specs: list[movements.NewPackage] = []
        for rec in records:
            where = f"package {rec['tag']}"
            target = units.to_stored(rec["quantity"])
            existing = known.get(rec["tag"])
            if rec["tag"] in plant_tags:
                raise RecordError(where, "Label", "the tag is already used by a plant")
            if existing is not None:
                if existing.site_id != sid:
                    raise RecordError(where, "Label", "the tag belongs to another site")
                if existing.unit != rec["unit"]:
                    raise RecordError(
                        where, "UnitOfMeasureName", f"the package is kept in {existing.unit}"
                    )
                existing.external_ids = {**existing.external_ids, "metrc": rec["id"]}
                if existing.quantity != target:
                    movements.post(
                        session=session,
                        site=site,
                        package=existing,
                        kind="sync",
                        delta=target - existing.quantity,
                        actor=actor,
                        now=now,
                        reason="State system",
                        reference={"metrc": rec["id"]},
                    )
                continue
            product = items.get(rec["item"])
            if product is None:
                product = items[rec["item"]] = item(
                    session, rec["item"], rec["unit"], rec["category"]
                )
            if units.dimension(rec["unit"]) != units.dimension(product.unit):
                raise RecordError(
                    where, "UnitOfMeasureName", f"item {product.name} is kept in {product.unit}"
                )
            place = places.get(rec["location"]) if rec["location"] else None
            if rec["location"] and place is None:
                place = location(session, rec["location"])
                if place is not None:
                    places[rec["location"]] = place
            specs.append(
                movements.NewPackage(
                    tag=rec["tag"],
                    item_id=product.id,
                    unit=rec["unit"],
                    quantity=target,
                    location_id=place.id if place else None,
                    created_at=rec["packaged"],
                    source_tags=tuple(rec["sources"]),
                    on_hold=rec["on_hold"],
                    status="finished" if rec["finished"] else "active",
                    external_ids={"metrc": rec["id"]},
                )
            )
        movements.create_many(session=session, site_id=sid, specs=specs, actor=actor, now=now)
        return len(records)

    def plants(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            if session.execute(select(InvPlant.id).where(InvPlant.tag == rec["tag"])).first():
                continue
            batch = session.execute(
                select(InvPlantBatch).where(
                    InvPlantBatch.site_id == sid, InvPlantBatch.name == rec["batch"]
                )
            ).scalar_one_or_none()
            if batch is None:
                batch = InvPlantBatch(
                    id=new_id(),
                    site_id=sid,
                    name=rec["batch"],
                    strain=rec["strain"],
                    count=0,
                    live_count=0,
                    planted_at=rec["planted"],
                    external_ids={},
                )
                session.add(batch)
            batch.count += 1
            batch.live_count += 1
            try:
                tag = catalog.check_tag(session, rec["tag"], kind="plant")
            except BastionError as exc:
                raise RecordError(f"plant {rec['tag']}", "Label", exc.message) from None
            loc = location(session, rec["location"])
            session.add(
                InvPlant(
                    id=new_id(),
                    site_id=sid,
                    tag=tag,
                    batch_id=batch.id,
                    strain=rec["strain"],
                    phase=rec["phase"],
                    location_id=loc.id if loc else None,
                    status="active",
                    planted_at=rec["planted"],
                    external_ids={"metrc": rec["id"]},
                )
            )
            session.flush()
        return len(records)

    def harvests(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            row = session.execute(
                select(InvHarvest).where(InvHarvest.site_id == sid, InvHarvest.name == rec["name"])
            ).scalar_one_or_none()
            if row is None:
                row = InvHarvest(
                    id=new_id(),
                    site_id=sid,
                    name=rec["name"],
                    started_at=rec["started"],
                    external_ids={"metrc": rec["id"]},
                )
                session.add(row)
            loc = location(session, rec["location"])
            row.unit, row.plant_count = rec["unit"], rec["plants"]
            row.wet_weight = units.to_stored(rec["wet"])
            row.waste_weight = units.to_stored(rec["waste"])
            row.packaged_weight = units.to_stored(rec["packaged"])
            row.current_weight = units.to_stored(rec["current"])
            row.finished_at, row.location_id = rec["finished"], loc.id if loc else None
        return len(records)

    def transfers(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            row = session.execute(
                select(InvTransfer).where(
                    InvTransfer.site_id == sid, InvTransfer.manifest_no == rec["manifest"]
                )
            ).scalar_one_or_none()
            if row is None:
                row = InvTransfer(
                    id=new_id(),
                    site_id=sid,
                    manifest_no=rec["manifest"],
                    direction=rec["direction"],
                    external_ids={"metrc": rec["id"]},
                )
                session.add(row)
            row.shipper_license, row.recipient_license = rec["shipper"], rec["recipient"]
            row.departed_at, row.received_at = rec["departed"], rec["received"]
            row.status = (
                "voided" if rec["voided"] else ("received" if rec["received"] else "in_transit")
            )
        return len(records)

    def transfer_packages(session: Session, records: list[dict[str, Any]]) -> int:
        row = session.execute(
            select(InvTransfer).where(
                InvTransfer.site_id == sid, InvTransfer.manifest_no == (manifest or "")
            )
        ).scalar_one_or_none()
        if row is None:
            raise RecordError(
                "file", "manifest", f"import manifest {manifest!r} before its packages"
            )
        known = {
            line.tag: line
            for line in session.execute(
                select(InvTransferLine).where(InvTransferLine.transfer_id == row.id)
            ).scalars()
        }
        for rec in records:
            line = known.get(rec["tag"]) or InvTransferLine(
                transfer_id=row.id, tag=rec["tag"], unit=rec["unit"], shipped_qty=0
            )
            line.unit, line.shipped_qty = rec["unit"], units.to_stored(rec["shipped"])
            line.received_qty = (
                None if rec["received"] is None else units.to_stored(rec["received"])
            )
            line.state = rec["state"]
            session.add(line)
        return len(records)

    def receipts(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            day = rec["at"].astimezone(tz).date().isoformat()
            for line in rec["lines"]:
                exists = session.execute(
                    select(InvSaleLine.id).where(
                        InvSaleLine.site_id == sid,
                        InvSaleLine.source == "metrc",
                        InvSaleLine.receipt == rec["receipt"],
                        InvSaleLine.tag == line["tag"],
                    )
                ).first()
                if exists:
                    continue
                session.add(
                    InvSaleLine(
                        site_id=sid,
                        source="metrc",
                        receipt=rec["receipt"],
                        at=rec["at"],
                        day=day,
                        tag=line["tag"],
                        quantity=units.to_stored(line["quantity"]),
                        unit=line["unit"],
                        price_cents=line["price_cents"],
                    )
                )
                session.flush()
        return len(records)

    def employees(session: Session, records: list[dict[str, Any]]) -> int:
        for old in session.execute(
            select(InvTrackingUser).where(InvTrackingUser.site_id == sid)
        ).scalars():
            session.delete(old)
        for rec in records:
            session.add(
                InvTrackingUser(
                    site_id=sid, name=rec["name"], license_no=rec["license"][:64], seen_at=now
                )
            )
        return len(records)

    table: dict[str, Callable[[Session, list[dict[str, Any]]], int]] = {
        "packages": packages,
        "plants": plants,
        "harvests": harvests,
        "transfers": transfers,
        "transfer_packages": transfer_packages,
        "receipts": receipts,
        "employees": employees,
    }
    return table[kind]


def import_file(
    session: Session,
    *,
    site: Site,
    kind: str,
    data: bytes,
    license_no: str,
    context: Context,
    now: datetime,
    filename: str = "",
    manifest: str | None = None,
) -> imports.Result:
    """Import one Metrc v2 list response for the site's licence, all or nothing."""
    check_license(site, license_no)
    return imports.run(
        session,
        site_id=site.site.id,
        source="metrc",
        kind=kind,
        data=data,
        filename=filename,
        parse=parser(kind, site),
        apply=applier(kind, site, context, now, manifest),
        context=context,
        now=now,
    )


# --- exporting -------------------------------------------------------------------------------


def _number(value: int) -> float | int:
    """Return a stored quantity as the JSON number Metrc expects (exact to 4 places)."""
    q = units.from_stored(value).normalize()
    return int(q) if q == q.to_integral_value() else float(q)


def export_adjustments(
    session: Session, *, site: Site, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Return the ``POST /packages/v2/adjust`` body of the site's adjustments in a period."""
    tz = ZoneInfo(site.site.timezone)
    rows = session.execute(
        select(InvMovement)
        .where(
            InvMovement.site_id == site.site.id,
            InvMovement.kind == "adjust",
            InvMovement.at >= since,
            InvMovement.at < until,
        )
        .order_by(InvMovement.at, InvMovement.id)
    ).scalars()
    return [
        {
            "Label": r.tag,
            "Quantity": _number(r.delta),
            "UnitOfMeasure": units.METRC_NAME[r.unit],
            "AdjustmentReason": r.reason,
            "AdjustmentDate": r.at.astimezone(tz).date().isoformat(),
            "ReasonNote": r.note or "",
        }
        for r in rows
    ]


def export_receipts(
    session: Session, *, site: Site, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Return the ``POST /sales/v2/receipts`` body of the POS sales in a period (local times)."""
    tz = ZoneInfo(site.site.timezone)
    rows = session.execute(
        select(InvSaleLine)
        .where(
            InvSaleLine.site_id == site.site.id,
            InvSaleLine.source == "pos",
            InvSaleLine.at >= since,
            InvSaleLine.at < until,
        )
        .order_by(InvSaleLine.at, InvSaleLine.receipt, InvSaleLine.id)
    ).scalars()
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        body = out.setdefault(
            r.receipt,
            {
                "SalesDateTime": r.at.astimezone(tz)
                .replace(tzinfo=None)
                .isoformat(timespec="milliseconds"),
                "ExternalReceiptNumber": r.receipt,
                "SalesCustomerType": "Consumer",
                "Transactions": [],
            },
        )
        body["Transactions"].append(
            {
                "PackageLabel": r.tag,
                "Quantity": _number(r.quantity),
                "UnitOfMeasure": units.METRC_NAME[r.unit],
                "TotalAmount": r.price_cents / 100,
            }
        )
    return list(out.values())


def export_packages(session: Session, *, site: Site) -> dict[str, Any]:
    """Return the site's packages as a v2 list envelope (the shape of GET /packages/v2/active)."""
    tz = ZoneInfo(site.site.timezone)
    rows = session.execute(
        select(InvPackage, InvItem, InvLocation)
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .outerjoin(InvLocation, InvLocation.id == InvPackage.location_id)
        .where(InvPackage.site_id == site.site.id)
        .order_by(InvPackage.tag)
    ).all()
    data = [
        {
            "Id": int(p.external_ids["metrc"])
            if str(p.external_ids.get("metrc", "")).isdigit()
            else p.id,
            "Label": p.tag,
            "PackageType": "Product",
            "Item": {"Name": i.name, "ProductCategoryName": i.category},
            "Quantity": _number(p.quantity),
            "UnitOfMeasureName": units.METRC_NAME[p.unit],
            "LocationName": loc.name if loc else "",
            "PackagedDate": p.created_at.astimezone(tz).date().isoformat(),
            "SourcePackageLabels": ",".join(p.source_tags),
            "IsOnHold": p.on_hold,
            "IsFinished": p.status == "finished",
            "LastModified": p.updated_at.isoformat(),
        }
        for p, i, loc in rows
    ]
    n = len(data)
    return {
        "Data": data,
        "Total": n,
        "TotalRecords": n,
        "PageSize": n,
        "RecordsOnPage": n,
        "Page": 1,
        "CurrentPage": 1,
        "TotalPages": 1,
    }
