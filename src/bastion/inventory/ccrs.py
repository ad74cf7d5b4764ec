"""Washington CCRS CSV: Inventory, InventoryAdjustment and Sale files in and out.

A CCRS file has three metadata rows (``SubmittedBy``, ``SubmittedDate`` MM/DD/YYYY,
``NumberRecords``) padded to the column count, then the header, then the data; every row
ends with ``Operation`` (INSERT, UPDATE, DELETE). Washington has no state tags: the
integrator's ``ExternalIdentifier`` is the key, kept as the package's tag. CCRS refuses
negative entries, so an adjustment's ``Quantity`` is the (positive) amount removed.
Quantities of Inventory files are read in the unit given (grams unless told).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context
from bastion.core.errors import BastionError, InvalidInput
from bastion.inventory import catalog, imports, movements, units
from bastion.inventory.imports import Parsed, RecordError
from bastion.inventory.models import InvItem, InvLocation, InvMovement, InvPackage, InvSaleLine
from bastion.site.schemas import Site

AUDIT = ("CreatedBy", "CreatedDate", "UpdatedBy", "UpdatedDate", "Operation")
HEADERS: dict[str, tuple[str, ...]] = {
    "Inventory": (
        "LicenseNumber",
        "Strain",
        "Area",
        "Product",
        "InitialQuantity",
        "QuantityOnHand",
        "TotalCost",
        "IsMedical",
        "ExternalIdentifier",
        *AUDIT,
    ),
    "InventoryAdjustment": (
        "LicenseNumber",
        "InventoryExternalIdentifier",
        "AdjustmentReason",
        "AdjustmentDetail",
        "Quantity",
        "AdjustmentDate",
        "ExternalIdentifier",
        *AUDIT,
    ),
    "Sale": (
        "LicenseNumber",
        "SoldToLicenseNumber",
        "InventoryExternalIdentifier",
        "PlantExternalIdentifier",
        "SaleType",
        "SaleDate",
        "Quantity",
        "UnitPrice",
        "Discount",
        "RetailSalesTax",
        "CannabisExciseTax",
        "SaleExternalIdentifier",
        "SaleDetailExternalIdentifier",
        *AUDIT,
    ),
}
REASONS_IN = {
    "Destruction": "Mandatory State Destruction",
    "Lost": "Lost",
    "Other": "Other",
    "Reconciliation": "Reconciliation",
    "ReturnedLabSample": "Returned Lab Sample",
    "Seizure": "Seizure",
    "Theft": "Theft",
}
REASONS_OUT = {v: k for k, v in REASONS_IN.items()} | {
    "Drying": "Other",
    "Entry Error": "Reconciliation",
}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _date(value: str, where: str, key: str, row: Any) -> datetime:
    try:
        return datetime.strptime(value.strip(), "%m/%d/%Y")
    except ValueError:
        raise RecordError(where, key, f"{value!r} is not a date (MM/DD/YYYY)", row) from None


def rows_of(kind: str, data: bytes) -> list[dict[str, str]]:
    """Return the data rows of a CCRS file of ``kind``, or refuse the file in words."""
    if kind not in HEADERS:
        raise InvalidInput(f"kind: one of {', '.join(HEADERS)}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordError("file", "-", "not a UTF-8 CSV file") from None
    lines = list(csv.reader(io.StringIO(text)))
    meta = {row[0].strip(): (row[1].strip() if len(row) > 1 else "") for row in lines[:3] if row}
    for key in ("SubmittedBy", "SubmittedDate", "NumberRecords"):
        if key not in meta:
            raise RecordError(
                "file",
                key,
                "missing the CCRS metadata row (SubmittedBy, SubmittedDate, NumberRecords)",
            )
    if len(lines) < 4:
        raise RecordError("file", "header", "missing the header row")
    header = tuple(c.strip() for c in lines[3])
    expected = HEADERS[kind]
    if header != expected:
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        words = []
        if missing:
            words.append(f"missing {', '.join(missing)}")
        if extra:
            words.append(f"unexpected {', '.join(extra)}")
        if not words:
            words.append("columns out of order")
        raise RecordError("file", "header", f"not a CCRS {kind} file: {'; '.join(words)}")
    body = [row for row in lines[4:] if any(c.strip() for c in row)]
    try:
        declared = int(meta["NumberRecords"])
    except ValueError:
        raise RecordError(
            "file", "NumberRecords", f"{meta['NumberRecords']!r} is not a number"
        ) from None
    if declared != len(body):
        raise RecordError(
            "file",
            "NumberRecords",
            f"CheckSum and number of records don't match ({declared} declared, {len(body)} present)",
        )
    out = []
    for n, row in enumerate(body):
        if len(row) != len(expected):
            raise RecordError(
                f"row {n + 5}",
                "-",
                f"has {len(row)} columns, the header {len(expected)}",
                ",".join(row),
            )
        out.append(dict(zip(expected, (c.strip() for c in row), strict=True)))
    return out


def parser(kind: str, site: Site) -> Callable[[bytes], Parsed[dict[str, Any]]]:
    """Return the parser of one CCRS file type for the site (licence checked per row)."""
    ours = site.site.license_number.strip()

    def parse(data: bytes) -> Parsed[dict[str, Any]]:
        out: Parsed[dict[str, Any]] = Parsed()
        seen: set[str] = set()
        for n, row in enumerate(rows_of(kind, data)):
            key = row.get("ExternalIdentifier") or row.get("SaleDetailExternalIdentifier") or ""
            where = f"row {n + 5} ({key})" if key else f"row {n + 5}"
            try:
                if ours and row["LicenseNumber"] != ours:
                    raise RecordError(
                        where,
                        "LicenseNumber",
                        f"{row['LicenseNumber']!r} is not this site's licence ({ours})",
                        row,
                    )
                if row["Operation"] not in OPERATIONS:
                    raise RecordError(
                        where,
                        "Operation",
                        f"{row['Operation']!r} is not INSERT, UPDATE or DELETE",
                        row,
                    )
                if row["Operation"] == "DELETE":
                    raise RecordError(
                        where,
                        "Operation",
                        "DELETE rows are not applied here; correct the record instead",
                        row,
                    )
                if not key:
                    raise RecordError(where, "ExternalIdentifier", "missing", row)
                if key in seen:
                    raise RecordError(
                        where, "ExternalIdentifier", "Duplicate External Identifier", row
                    )
                seen.add(key)
                out.records.append(_clean(kind, row, where))
            except RecordError as exc:
                out.rejected.append(exc.rejected)
        return out

    return parse


def _qty(row: dict[str, str], key: str, where: str) -> Decimal:
    try:
        value = units.decimal(row[key], where=key)
    except InvalidInput as exc:
        raise RecordError(where, key, exc.message, row) from None
    if value < 0:
        raise RecordError(where, key, "No Negative Entries Allowed", row)
    return value


def _clean(kind: str, row: dict[str, str], where: str) -> dict[str, Any]:
    if kind == "Inventory":
        if not catalog.CCRS_ID.match(row["ExternalIdentifier"]):
            raise RecordError(where, "ExternalIdentifier", "1–40 letters, digits, . _ or -", row)
        for key in ("Product", "Area"):
            if not row[key]:
                raise RecordError(where, key, "missing", row)
        return {
            "tag": row["ExternalIdentifier"],
            "strain": row["Strain"],
            "area": row["Area"],
            "product": row["Product"],
            "initial": _qty(row, "InitialQuantity", where),
            "on_hand": _qty(row, "QuantityOnHand", where),
            "created": _date(row["CreatedDate"], where, "CreatedDate", row),
        }
    if kind == "InventoryAdjustment":
        reason = row["AdjustmentReason"]
        if reason not in REASONS_IN:
            raise RecordError(
                where,
                "AdjustmentReason",
                f"Invalid Adjustment Reason {reason!r} (one of {', '.join(REASONS_IN)})",
                row,
            )
        return {
            "id": row["ExternalIdentifier"],
            "tag": row["InventoryExternalIdentifier"],
            "reason": REASONS_IN[reason],
            "note": row["AdjustmentDetail"],
            "quantity": _qty(row, "Quantity", where),
            "date": _date(row["AdjustmentDate"], where, "AdjustmentDate", row),
        }
    quantity = _qty(row, "Quantity", where)
    price = _qty(row, "UnitPrice", where)
    return {
        "id": row["SaleDetailExternalIdentifier"],
        "receipt": row["SaleExternalIdentifier"] or row["SaleDetailExternalIdentifier"],
        "tag": row["InventoryExternalIdentifier"],
        "quantity": quantity,
        "price_cents": int((quantity * price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        "date": _date(row["SaleDate"], where, "SaleDate", row),
    }


def applier(
    kind: str, site: Site, context: Context, now: datetime, unit: str
) -> Callable[[Session, list[dict[str, Any]]], int]:
    """Return the function that applies parsed CCRS rows to the site's books."""
    sid = site.site.id
    tz = ZoneInfo(site.site.timezone)
    actor = movements.Actor(context)

    def inventory(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            where = f"inventory {rec['tag']}"
            target = units.to_stored(rec["on_hand"])
            existing = session.execute(
                select(InvPackage).where(InvPackage.tag == rec["tag"])
            ).scalar_one_or_none()
            if existing is not None:
                if existing.site_id != sid:
                    raise RecordError(where, "ExternalIdentifier", "belongs to another site")
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
                    )
                continue
            item = catalog.find_item(session, sid, rec["product"]) or catalog.create_item(
                session=session,
                site_id=sid,
                name=rec["product"],
                unit=unit,
                strain=rec["strain"] or None,
                context=context,
                now=now,
            )
            loc = catalog.find_location(session, sid, rec["area"]) or catalog.create_location(
                session=session, site=site, name=rec["area"], context=context, now=now
            )
            try:
                pkg = movements.create_package(
                    session=session,
                    site=site,
                    site_id=sid,
                    tag=rec["tag"],
                    item=item,
                    quantity=rec["initial"] if rec["initial"] > 0 else Decimal("0.0001"),
                    unit=unit,
                    actor=actor,
                    now=now,
                    location=loc,
                    external_ids={"ccrs": rec["tag"]},
                    system="ccrs",
                )
            except BastionError as exc:
                raise RecordError(where, "ExternalIdentifier", exc.message) from None
            pkg.created_at = rec["created"].replace(tzinfo=tz)
            if pkg.quantity != target:
                movements.post(
                    session=session,
                    site=site,
                    package=pkg,
                    kind="sync",
                    delta=target - pkg.quantity,
                    actor=actor,
                    now=now,
                    reason="State system",
                )
        return len(records)

    def adjustments(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            where = f"adjustment {rec['id']}"
            done = session.execute(
                select(InvMovement.id).where(
                    InvMovement.site_id == sid,
                    InvMovement.kind == "adjust",
                    InvMovement.reference["ccrs"].as_string() == rec["id"],
                )
            ).first()
            if done:
                continue
            try:
                pkg = movements.by_tag(session, sid, rec["tag"])
                change = units.to_stored(rec["quantity"])
                movements.post(
                    session=session,
                    site=site,
                    package=pkg,
                    kind="adjust",
                    delta=-change,
                    actor=actor,
                    now=datetime.combine(rec["date"].date(), time(12), tz),
                    reason=rec["reason"],
                    note=rec["note"] or None,
                    reference={"ccrs": rec["id"]},
                )
            except BastionError as exc:
                raise RecordError(where, "InventoryExternalIdentifier", exc.message) from None
        return len(records)

    def sales(session: Session, records: list[dict[str, Any]]) -> int:
        for rec in records:
            if session.execute(
                select(InvSaleLine.id).where(
                    InvSaleLine.site_id == sid,
                    InvSaleLine.source == "ccrs",
                    InvSaleLine.receipt == rec["receipt"],
                    InvSaleLine.tag == rec["tag"],
                )
            ).first():
                continue
            day = rec["date"].date()
            session.add(
                InvSaleLine(
                    site_id=sid,
                    source="ccrs",
                    receipt=rec["receipt"],
                    at=datetime.combine(day, time(12), tz),
                    day=day.isoformat(),
                    tag=rec["tag"],
                    quantity=units.to_stored(rec["quantity"]),
                    unit=unit,
                    price_cents=rec["price_cents"],
                )
            )
            session.flush()
        return len(records)

    return {"Inventory": inventory, "InventoryAdjustment": adjustments, "Sale": sales}[kind]


def import_file(
    session: Session,
    *,
    site: Site,
    kind: str,
    data: bytes,
    context: Context,
    now: datetime,
    filename: str = "",
    unit: str = "g",
) -> imports.Result:
    """Import one CCRS CSV file, all or nothing (quantities in ``unit``)."""
    u = units.unit(unit)
    return imports.run(
        session,
        site_id=site.site.id,
        source="ccrs",
        kind=kind,
        data=data,
        filename=filename,
        parse=parser(kind, site),
        apply=applier(kind, site, context, now, u),
        context=context,
        now=now,
    )


# --- exporting -------------------------------------------------------------------------------


def _csv(kind: str, rows: list[list[str]], submitted_by: str, now: datetime, tz: ZoneInfo) -> bytes:
    header = HEADERS[kind]
    pad = [""] * (len(header) - 2)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["SubmittedBy", submitted_by, *pad])
    w.writerow(["SubmittedDate", now.astimezone(tz).strftime("%m/%d/%Y"), *pad])
    w.writerow(["NumberRecords", str(len(rows)), *pad])
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _n(value: int) -> str:
    return f"{units.from_stored(value).normalize():f}"


def filename(kind: str, integrator_key: str, unique: str) -> str:
    """Return the CCRS file name ``{Type}_{IntegratorServiceKey}_{unique id}.csv``."""
    return f"{kind}_{integrator_key}_{unique}.csv"


def export(
    session: Session,
    *,
    site: Site,
    kind: str,
    now: datetime,
    since: datetime | None = None,
    submitted_by: str = "Bastion",
) -> bytes:
    """Return a CCRS CSV of the site's inventory, adjustments or POS sales."""
    if kind not in HEADERS:
        raise InvalidInput(f"kind: one of {', '.join(HEADERS)}")
    tz = ZoneInfo(site.site.timezone)
    lic = site.site.license_number
    rows: list[list[str]] = []
    if kind == "Inventory":
        for p, item, loc in session.execute(
            select(InvPackage, InvItem, InvLocation)
            .join(InvItem, InvItem.id == InvPackage.item_id)
            .outerjoin(InvLocation, InvLocation.id == InvPackage.location_id)
            .where(InvPackage.site_id == site.site.id)
            .order_by(InvPackage.tag)
        ).all():
            made = p.created_at.astimezone(tz).strftime("%m/%d/%Y")
            rows.append(
                [
                    lic,
                    item.strain or "",
                    loc.name if loc else "",
                    item.name,
                    _n(p.initial_quantity),
                    _n(p.quantity),
                    "0",
                    "FALSE",
                    p.tag,
                    "Bastion",
                    made,
                    "",
                    "",
                    "INSERT",
                ]
            )
    elif kind == "InventoryAdjustment":
        stmt = select(InvMovement).where(
            InvMovement.site_id == site.site.id, InvMovement.kind == "adjust"
        )
        if since is not None:
            stmt = stmt.where(InvMovement.at >= since)
        for m in session.execute(stmt.order_by(InvMovement.at, InvMovement.id)).scalars():
            day = m.at.astimezone(tz).strftime("%m/%d/%Y")
            rows.append(
                [
                    lic,
                    m.tag,
                    REASONS_OUT.get(m.reason, "Other"),
                    m.note or "",
                    _n(abs(m.delta)),
                    day,
                    m.reference.get("ccrs", m.id),
                    "Bastion",
                    day,
                    "",
                    "",
                    "INSERT",
                ]
            )
    else:
        stmt2 = select(InvSaleLine).where(
            InvSaleLine.site_id == site.site.id, InvSaleLine.source == "pos"
        )
        if since is not None:
            stmt2 = stmt2.where(InvSaleLine.at >= since)
        for s in session.execute(stmt2.order_by(InvSaleLine.at, InvSaleLine.id)).scalars():
            day = s.at.astimezone(tz).strftime("%m/%d/%Y")
            qty = units.from_stored(s.quantity)
            unit_price = (
                (Decimal(s.price_cents) / 100 / qty).quantize(Decimal("0.01"))
                if qty
                else Decimal(0)
            )
            rows.append(
                [
                    lic,
                    "",
                    s.tag,
                    "",
                    "RecreationalRetail",
                    day,
                    _n(s.quantity),
                    f"{unit_price}",
                    "0",
                    "0",
                    "0",
                    s.receipt,
                    f"{s.receipt}-{s.id}",
                    "Bastion",
                    day,
                    "",
                    "",
                    "INSERT",
                ]
            )
    return _csv(kind, rows, submitted_by, now, tz)
