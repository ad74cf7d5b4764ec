"""POS formats: Bastion's JSON webhook and CSV, and Toast's ``PaymentDetails.csv`` export.

Each reader turns its input into :class:`~bastion.core.ports.PosRecord` objects and
:class:`~bastion.core.ports.PosReject` entries (line, reason, raw text) for anything it
cannot read; it never raises for one bad record. Amounts are whole cents (JSON, Bastion
CSV) or dollars with at most two decimals (Toast), never floats. The cash a record puts
in (or takes out of) the drawer is derived from its cash tenders.

The Toast mapping follows Toast's published "Data export field reference" for the
payments export (``PaymentDetails.csv``): one row per payment with ``Payment Id``,
``Paid Date`` (``MM/DD/YYYY HH:MM:SS``, restaurant local time), ``Server``, ``Amount``,
``Tip``, ``Total``, ``Type`` (Credit, Cash, Gift Card …), ``Cash Drawer``, and the refund
(``Refunded``, ``Refund Date``, ``Refund Amount``) and void (``Void User``, ``Void
Approver``, ``Void Date``) columns. A refunded or voided payment also yields a refund or
void record that refers to it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from bastion.core.gcpause import gc_paused
from bastion.core.ports import PosItem, PosKind, PosRecord, PosReject, PosTender

BASTION_CSV_COLUMNS = (
    "id",
    "terminal",
    "cashier",
    "time",
    "kind",
    "total_cents",
    "discount_cents",
    "tenders",
    "items",
    "original_id",
    "customer",
    "reason",
)
TOAST_REQUIRED = ("Payment Id", "Paid Date", "Server", "Total", "Type")
TENDERS = frozenset({"cash", "card", "debit", "gift", "other"})
KINDS = {k.value: k for k in PosKind}
_OUT = (PosKind.REFUND, PosKind.VOID)


class BadRecord(ValueError):
    """A record that cannot be read; the message is what the rejection says."""


@dataclass
class Parsed:
    """Records read and records refused, in input order."""

    records: list[PosRecord] = field(default_factory=list)
    rejects: list[PosReject] = field(default_factory=list)

    def extend(self, other: Parsed) -> None:
        """Append another result."""
        self.records.extend(other.records)
        self.rejects.extend(other.rejects)


def cash_of(kind: PosKind, total: int, tenders: Iterable[PosTender]) -> int:
    """Return the net cash a record puts in the drawer (negative when it takes cash out)."""
    if kind is PosKind.PAYOUT:
        return -total
    cash = 0
    for tender in tenders:
        if tender[0] == "cash":
            cash += tender[1]
    if kind is PosKind.SALE:
        return cash
    if kind in _OUT:
        return -cash
    return 0


def _cents(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{what} must be a whole number of cents")
    return value


def _int_text(value: str, what: str) -> int:
    try:
        return int(value)  # int() itself ignores surrounding spaces
    except ValueError:
        if not value.strip():
            return 0
        raise BadRecord(f"{what} {value.strip()!r} is not a whole number of cents") from None


def _time(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)  # Python 3.11 reads "Z" and offsets
    except ValueError:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadRecord(f"time {value!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise BadRecord("the time needs its UTC offset, e.g. 2026-03-07T15:03:10-06:00")
    return when


def _kind(value: str) -> PosKind:
    kind = KINDS.get(value.strip().lower())
    if kind is None:
        raise BadRecord(f"kind {value!r} is not one of {', '.join(KINDS)}")
    return kind


def _tender(kind: str, cents: int) -> PosTender:
    if kind not in TENDERS:
        kind = kind.strip().lower()
    if kind not in TENDERS:
        raise BadRecord(f"tender {kind!r} is not one of {', '.join(sorted(TENDERS))}")
    return PosTender(kind, cents)


def tenders_text(text: str) -> tuple[PosTender, ...]:
    """Read ``cash:4250;card:1000``."""
    if not text or not text.strip():
        return ()
    found = []
    for part in text.split(";") if ";" in text else (text,):
        kind, sep, cents = part.partition(":")
        if not sep:
            raise BadRecord(f"tender {part!r} is not kind:cents")
        found.append(_tender(kind, _int_text(cents, "a tender")))
    return tuple(found)


def items_text(text: str) -> tuple[PosItem, ...]:
    """Read ``SKU*quantity@unit_cents;…``."""
    if not text or not text.strip():
        return ()
    found = []
    for part in text.split(";") if ";" in text else (text,):
        sku, star, rest = part.partition("*")
        quantity, at, price = rest.partition("@")
        if not star or not at or not sku.strip():
            raise BadRecord(f"item {part!r} is not sku*quantity@unit_cents")
        found.append(
            PosItem(sku.strip(), _int_text(quantity, "a quantity"), _int_text(price, "a price"))
        )
    return tuple(found)


# --- Bastion JSON (the webhook) --------------------------------------------------------------


def _json_record(raw: Mapping[str, Any], index: int) -> PosRecord:
    if not isinstance(raw, Mapping):
        raise BadRecord("each transaction is a JSON object")
    unknown = set(raw) - {
        "id",
        "terminal",
        "cashier",
        "time",
        "kind",
        "total_cents",
        "discount_cents",
        "items",
        "tenders",
        "original_id",
        "customer",
        "reason",
    }
    if unknown:
        raise BadRecord(f"unknown field(s): {', '.join(sorted(unknown))}")
    for name in ("id", "terminal", "cashier", "time", "kind"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise BadRecord(f"{name} is required (a string)")
    kind = _kind(raw["kind"])
    total = _cents(raw.get("total_cents", 0), "total_cents")
    items = []
    for item in raw.get("items") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("sku"), str):
            raise BadRecord("each item has a sku, a qty and a unit_cents")
        items.append(
            PosItem(
                item["sku"],
                _cents(item.get("qty", 1), "qty"),
                _cents(item.get("unit_cents"), "unit_cents"),
            )
        )
    tenders = []
    for tender in raw.get("tenders") or []:
        if not isinstance(tender, Mapping) or not isinstance(tender.get("kind"), str):
            raise BadRecord("each tender has a kind and amount_cents")
        tenders.append(_tender(tender["kind"], _cents(tender.get("amount_cents"), "amount_cents")))
    for name in ("original_id", "customer", "reason"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise BadRecord(f"{name} must be a string")
    return PosRecord(
        pos_id=raw["id"].strip(),
        terminal=raw["terminal"].strip(),
        cashier=raw["cashier"].strip(),
        time=_time(raw["time"]),
        kind=kind,
        total_cents=total,
        cash_cents=cash_of(kind, total, tenders),
        discount_cents=_cents(raw.get("discount_cents", 0), "discount_cents"),
        items=tuple(items),
        tenders=tuple(tenders),
        original_id=(raw.get("original_id") or None),
        customer_ref=(raw.get("customer") or None),
        reason=raw.get("reason") or "",
        line=f"#{index}",
    )


def read_json(body: Any) -> Parsed:
    """Read a webhook body: ``{"transactions": [...]}`` (or a bare list)."""
    out = Parsed()
    items = body.get("transactions") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        out.rejects.append(
            PosReject("body", 'the body is {"transactions": [...]}', str(body)[:2000])
        )
        return out
    for index, raw in enumerate(items):
        try:
            out.records.append(_json_record(raw, index))
        except BadRecord as exc:
            out.rejects.append(PosReject(f"#{index}", str(exc), str(raw)[:2000]))
    return out


# --- Bastion CSV ---------------------------------------------------------------------------


def _header(reader: Iterator[list[str]], required: Iterable[str]) -> list[str] | str:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return "the file is empty"
    except csv.Error as exc:
        return f"the header cannot be read: {exc}"
    missing = [c for c in required if c not in header]
    if missing:
        return f"the header lacks {', '.join(missing)}"
    return header


def _records(text: str, reader: Any) -> Iterator[tuple[int, list[str] | str]]:
    """Yield (line number, fields) of each record after the header, or (line, why unreadable).

    ``reader`` has read the header. A file without quotes or carriage returns has one
    record per line and its fields are the comma-separated parts, exactly what the csv
    module reads there, so such files (the common case) are split directly, at a fraction
    of the cost; any other file goes through the csv module.
    """
    if '"' not in text and "\r" not in text:
        body = text.split("\n")
        for number in range(1, len(body)):
            fields = body[number]
            if fields:
                yield number + 1, fields.split(",")
        return
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line += 1
            yield line, f"unreadable CSV: {exc}"
            continue
        line = reader.line_num
        if row:
            yield line, row


def read_bastion_csv(text: str) -> Parsed:
    """Read Bastion's CSV export format (one transaction per line; see docs/pos.md)."""
    with gc_paused():
        return _read_bastion_csv(text)


def _read_bastion_csv(text: str) -> Parsed:
    out = Parsed()
    reader = csv.reader(io.StringIO(text))
    header = _header(reader, BASTION_CSV_COLUMNS)
    if isinstance(header, str):
        out.rejects.append(PosReject("line 1", header, text[:2000]))
        return out
    at = {name: header.index(name) for name in BASTION_CSV_COLUMNS}
    width = len(header)
    i_id, i_term, i_cash, i_time, i_kind = (
        at["id"],
        at["terminal"],
        at["cashier"],
        at["time"],
        at["kind"],
    )
    i_total, i_disc, i_tend, i_items = (
        at["total_cents"],
        at["discount_cents"],
        at["tenders"],
        at["items"],
    )
    i_orig, i_cust, i_reason = at["original_id"], at["customer"], at["reason"]
    records = out.records
    make = PosRecord._make
    parse_time = datetime.fromisoformat
    sale, payout = PosKind.SALE, PosKind.PAYOUT
    # A file repeats the same few tender and item texts (one SKU at a few quantities, cash
    # for the same totals): each distinct text is read once per file, later rows reuse it.
    tender_seen: dict[str, tuple[tuple[PosTender, ...], int]] = {}
    item_seen: dict[str, tuple[PosItem, ...]] = {}
    for line, row in _records(text, reader):
        if isinstance(row, str):
            out.rejects.append(PosReject(f"line {line}", row, ""))
            continue
        try:
            if len(row) != width:
                raise BadRecord(f"{len(row)} fields where the header has {width}")
            kind = KINDS.get(row[i_kind])
            if kind is None:
                kind = _kind(row[i_kind])
            tender_text, item_text = row[i_tend], row[i_items]
            known = tender_seen.get(tender_text)
            if known is None:
                parsed = tenders_text(tender_text)
                known = tender_seen[tender_text] = (
                    parsed,
                    sum(t[1] for t in parsed if t[0] == "cash"),
                )
            tenders, tendered_cash = known
            items = item_seen.get(item_text)
            if items is None:
                items = item_seen[item_text] = items_text(item_text)
            try:
                total = int(row[i_total])
            except ValueError:
                total = _int_text(row[i_total], "total_cents")
            try:
                discount = int(row[i_disc])
            except ValueError:
                discount = _int_text(row[i_disc], "discount_cents")
            try:
                when = parse_time(row[i_time])
            except ValueError:
                when = _time(row[i_time])
            if when.tzinfo is None:
                when = _time(row[i_time])  # raises with the plain-words reason
            if kind is sale:
                cash = tendered_cash
            elif kind is payout:
                cash = -total
            elif kind in _OUT:
                cash = -tendered_cash
            else:
                cash = 0
            records.append(
                make(
                    (
                        row[i_id],
                        row[i_term],
                        row[i_cash],
                        when,
                        kind,
                        total,
                        cash,
                        discount,
                        items,
                        tenders,
                        row[i_orig] or None,
                        row[i_cust] or None,
                        row[i_reason],
                        f"line {line}",
                        f"{item_text}|{tender_text}" if item_text or tender_text else None,
                    )
                )
            )
        except BadRecord as exc:
            out.rejects.append(PosReject(f"line {line}", str(exc), ",".join(row)[:2000]))
    return out


def write_bastion_csv(records: Iterable[PosRecord]) -> str:
    """Write records in Bastion's CSV format (the simulator and tests use it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BASTION_CSV_COLUMNS)
    for r in records:
        writer.writerow(
            (
                r.pos_id,
                r.terminal,
                r.cashier,
                r.time.isoformat(),
                r.kind.value,
                r.total_cents,
                r.discount_cents,
                ";".join(f"{t.kind}:{t.cents}" for t in r.tenders),
                ";".join(f"{i.sku}*{i.quantity}@{i.unit_cents}" for i in r.items),
                r.original_id or "",
                r.customer_ref or "",
                r.reason,
            )
        )
    return buffer.getvalue()


# --- Toast PaymentDetails.csv ----------------------------------------------------------------


def _dollars(value: str, what: str) -> int:
    text = value.strip().replace("$", "").replace(",", "")
    if not text:
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadRecord(f"{what} {value!r} is not an amount") from None
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise BadRecord(f"{what} {value!r} has more than two decimals")
    return int(cents)


def _toast_time(value: str, zone: ZoneInfo, what: str) -> datetime:
    try:
        local = datetime.strptime(value.strip(), "%m/%d/%Y %H:%M:%S")
    except ValueError:
        raise BadRecord(f"{what} {value!r} is not MM/DD/YYYY HH:MM:SS") from None
    return local.replace(tzinfo=zone)


def _toast_rows(
    row: Mapping[str, str], zone: ZoneInfo, default_terminal: str | None, line: str
) -> list[PosRecord]:
    payment = row["Payment Id"].strip()
    if not payment:
        raise BadRecord("Payment Id is empty")
    terminal = (row.get("Cash Drawer") or "").strip() or default_terminal
    if not terminal:
        raise BadRecord("no Cash Drawer on this payment and no default terminal is set")
    cashier = row["Server"].strip()
    total = _dollars(row["Total"], "Total")
    tender_kind = {"cash": "cash", "credit": "card", "debit": "debit", "gift card": "gift"}.get(
        row["Type"].strip().lower(), "other"
    )
    tenders = (PosTender(tender_kind, total),)
    sale = PosRecord(
        pos_id=f"toast-{payment}",
        terminal=terminal,
        cashier=cashier,
        time=_toast_time(row["Paid Date"], zone, "Paid Date"),
        kind=PosKind.SALE,
        total_cents=total,
        cash_cents=cash_of(PosKind.SALE, total, tenders),
        tenders=tenders,
        reason=f"order {row.get('Order #', '').strip()}".strip(),
        line=line,
    )
    found = [sale]
    refunded = (row.get("Refunded") or "").strip().lower()
    refund = _dollars(row.get("Refund Amount") or "", "Refund Amount")
    if refund and refunded not in ("", "none", "no"):
        back = (PosTender(tender_kind, refund),)
        found.append(
            PosRecord(
                pos_id=f"toast-{payment}-refund",
                terminal=terminal,
                cashier=cashier,
                time=_toast_time(row.get("Refund Date") or "", zone, "Refund Date"),
                kind=PosKind.REFUND,
                total_cents=refund,
                cash_cents=cash_of(PosKind.REFUND, refund, back),
                tenders=back,
                original_id=sale.pos_id,
                reason=f"Toast refund ({refunded})",
                line=line,
            )
        )
    void_date = (row.get("Void Date") or "").strip()
    if void_date:
        approver = (row.get("Void Approver") or "").strip()
        found.append(
            PosRecord(
                pos_id=f"toast-{payment}-void",
                terminal=terminal,
                cashier=(row.get("Void User") or "").strip() or cashier,
                time=_toast_time(void_date, zone, "Void Date"),
                kind=PosKind.VOID,
                total_cents=total,
                cash_cents=cash_of(PosKind.VOID, total, tenders),
                tenders=tenders,
                original_id=sale.pos_id,
                reason=f"approved by {approver}" if approver else "",
                line=line,
            )
        )
    return found


def read_toast_payments(
    text: str, *, timezone: str, default_terminal: str | None = None, location: str | None = None
) -> Parsed:
    """Read Toast's ``PaymentDetails.csv`` (times are the restaurant's local time)."""
    with gc_paused():
        return _read_toast_payments(
            text, timezone=timezone, default_terminal=default_terminal, location=location
        )


def _read_toast_payments(
    text: str, *, timezone: str, default_terminal: str | None, location: str | None
) -> Parsed:
    out = Parsed()
    zone = ZoneInfo(timezone)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = _header(reader, TOAST_REQUIRED)
    if isinstance(header, str):
        out.rejects.append(PosReject("line 1", header, text[:2000]))
        return out
    for row in reader:
        line = f"line {reader.line_num}"
        if not row:
            continue
        if len(row) != len(header):
            out.rejects.append(
                PosReject(
                    line,
                    f"{len(row)} fields where the header has {len(header)}",
                    ",".join(row)[:2000],
                )
            )
            continue
        named = dict(zip(header, row, strict=True))
        if location and named.get("Location", "").strip() not in ("", location):
            continue
        try:
            out.records.extend(_toast_rows(named, zone, default_terminal, line))
        except BadRecord as exc:
            out.rejects.append(PosReject(line, str(exc), ",".join(row)[:2000]))
    return out
