"""POS ingest: check, deduplicate and store transactions, move the till's cash, judge exceptions.

One call is one batch in one transaction: its records are checked (a bad record is
kept as a rejection with its reason and never touches a balance), records already
stored are ignored when identical and rejected when the POS resends an id with other
figures, the new rows are written straight through the driver (a year is millions of
rows), each register gets one cash movement per kind for the batch, the exception rules
judge the batch (with a margin of earlier rows), and one ``cash.pos_batch`` ledger event
carries the SHA-256 of every accepted record, so the stored POS data stays checkable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from sqlite3 import SQLITE_LIMIT_VARIABLE_NUMBER
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash import exceptions, movements, tasks, tills
from bastion.cash.models import (
    CashContainer,
    CashierCode,
    PosBatch,
    PosRejection,
    PosTransaction,
)
from bastion.cash.rules import KIND_CODE, Frame
from bastion.cash.settings import CashSettings
from bastion.core.context import Context, new_id
from bastion.core.errors import InvalidInput
from bastion.core.events import EVENT_POS_BATCH, PosBatchPayload, make_event
from bastion.core.gcpause import gc_paused
from bastion.core.ports import ClipSource, PosKind, PosRecord, PosReject
from bastion.site.schemas import Site
from bastion.store.ledger import stage

MAX_TRANSACTION_CENTS = 10_000_000
"""$100,000: a single POS transaction above this is a data error, not a sale."""
FUTURE_SLACK = timedelta(hours=1)
OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
CHUNK = 500
_SQLITE_ROWS = 256
"""Rows per INSERT on SQLite: past a few hundred, longer statements stop paying."""
KeyFn = Callable[[str], int]
_DIGESTED = itemgetter(slice(1, 15))

_COLUMNS = (
    "site_id",
    "pos_id",
    "terminal",
    "register_id",
    "cashier",
    "person_id",
    "at_ms",
    "kind_code",
    "total_cents",
    "cash_cents",
    "discount_cents",
    "original_id",
    "customer_code",
    "reason",
    "detail",
    "batch_id",
)
_OUT = {PosKind.REFUND, PosKind.VOID, PosKind.PAYOUT}
_NO_MONEY = {PosKind.NO_SALE, PosKind.DRAWER_OPEN}
_SEPARATORS = str.maketrans({c: "_" for c in "|;*@:"})


@dataclass
class IngestResult:
    """What one ingest did."""

    batch_id: str
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    exceptions: int = 0
    form_8300: int = 0
    registers: list[str] = field(default_factory=list)
    drop_requests: list[str] = field(default_factory=list)


class _Rows:
    """The accepted rows to insert, their records, and their numbers as columns for the rules.

    The columns are cut from the rows in one transpose after the rows are built, rather
    than appended to one by one for every record.
    """

    def __init__(
        self,
        rows: list[tuple[Any, ...]],
        records: list[PosRecord],
        terminal_codes: dict[str, int],
    ) -> None:
        self.rows = rows
        self.customers: list[str | None] = [r.customer_ref for r in records]
        n = len(rows)
        columns = list(zip(*rows, strict=True)) if n else [()] * len(_COLUMNS)

        def col(index: int) -> NDArray[np.int64]:
            return np.fromiter(columns[index], dtype=np.int64, count=n)

        self.at = col(6)
        self.kind = col(7)
        self.total = col(8)
        self.cash = col(9)
        self.discount = col(10)
        self.has_original = np.fromiter(
            (o is not None for o in columns[11]), dtype=np.bool_, count=n
        )
        self.customer = np.fromiter(
            (-1 if c is None else c for c in columns[12]), dtype=np.int64, count=n
        )
        self.terminal = np.fromiter(
            (terminal_codes[t] for t in columns[2]), dtype=np.int64, count=n
        )

    def frame(self, judged_until_ms: int) -> Frame:
        """Return the rows as a frame for the exception rules."""
        return Frame(
            at_ms=self.at,
            terminal=self.terminal,
            cashier=np.full(len(self.rows), -1, dtype=np.int64),
            kind=self.kind,
            total=self.total,
            cash=self.cash,
            discount=self.discount,
            has_original=self.has_original,
            customer=self.customer,
            judged_until_ms=judged_until_ms,
        )


def encode_detail(record: PosRecord) -> str | None:
    """Return the items and tenders in the compact ``sku*qty@cents;…|kind:cents;…`` form."""
    if record.detail is not None:
        return record.detail[:2000]
    if not record.items and not record.tenders:
        return None
    items = ";".join(
        f"{i.sku.translate(_SEPARATORS)}*{i.quantity}@{i.unit_cents}" for i in record.items
    )
    tenders = ";".join(f"{t.kind.translate(_SEPARATORS)}:{t.cents}" for t in record.tenders)
    return f"{items}|{tenders}"


def problem(record: PosRecord, now: datetime) -> str | None:
    """Return why a record cannot be accepted, in plain words, or None."""
    return _problem(record, now + FUTURE_SLACK)


def _problem(record: PosRecord, latest: datetime) -> str | None:
    """:func:`problem` with the latest acceptable time given (computed once per batch)."""
    pos_id, terminal, cashier, when, kind, total, cash, discount, items, tenders, original = record[
        :11
    ]
    if not pos_id or len(pos_id) > 64:
        return "the transaction id is missing or longer than 64 characters"
    if not terminal or len(terminal) > 64:
        return "the terminal is missing or longer than 64 characters"
    if not cashier or len(cashier) > 64:
        return "the cashier is missing or longer than 64 characters"
    if when.tzinfo is None:
        return "the time has no time zone"
    if when > latest:
        return "the time is in the future"
    if when < OLDEST:
        return "the time is before the year 2000"
    if (
        total > MAX_TRANSACTION_CENTS
        or total < -MAX_TRANSACTION_CENTS
        or cash > MAX_TRANSACTION_CENTS
        or cash < -MAX_TRANSACTION_CENTS
        or discount > MAX_TRANSACTION_CENTS
        or discount < -MAX_TRANSACTION_CENTS
    ):
        return f"an amount is over ${MAX_TRANSACTION_CENTS // 100:,}, which is not plausible"
    if total < 0 or discount < 0:
        return "totals and discounts are positive numbers; the kind says which way money went"
    if kind is PosKind.SALE:
        if cash < 0 or cash > total:
            return "a sale's cash must be between $0 and the sale's total"
    elif kind in _OUT:
        if cash > 0 or -cash > total:
            return f"a {kind.value}'s cash goes out of the drawer and is at most its total"
    elif kind in _NO_MONEY and (cash or total):
        return f"a {kind.value.replace('_', ' ')} moves no money"
    for item in items:
        if item[1] <= 0 or item[2] < 0 or item[2] > MAX_TRANSACTION_CENTS:
            return f"item {item[0]!r} has a quantity or price that is not plausible"
    if tenders:
        tendered = 0
        for tender in tenders:
            if tender[1] < 0:
                return "tender amounts are positive numbers"
            tendered += tender[1]
        if tendered != total:
            return "the tenders do not add up to the total"
    if original is not None and len(original) > 64:
        return "the original receipt id is longer than 64 characters"
    return None


def _signature(kind_code: int, total: int, cash: int, at_ms: int, terminal: str) -> tuple[Any, ...]:
    return (kind_code, total, cash, at_ms, terminal)


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _cursor(session: Session) -> tuple[Any, bool]:
    session.flush()
    conn = session.connection()
    return conn.connection.driver_connection.cursor(), conn.dialect.name == "sqlite"  # type: ignore[union-attr]


def _stored(session: Session, site_id: str, pos_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """Return the signature of the given POS ids already stored for the site."""
    found: dict[str, tuple[Any, ...]] = {}
    if not pos_ids:
        return found
    cursor, sqlite = _cursor(session)
    head = (
        "SELECT pos_id, kind_code, total_cents, cash_cents, at_ms, terminal "
        "FROM cash_pos_transactions WHERE site_id = "
    )
    try:
        for chunk in _chunks(pos_ids, CHUNK):
            if sqlite:
                marks = ",".join("?" * len(chunk))
                cursor.execute(f"{head}? AND pos_id IN ({marks})", (site_id, *chunk))
            else:
                cursor.execute(f"{head}%s AND pos_id = ANY(%s)", (site_id, list(chunk)))
            for pos_id, *rest in cursor.fetchall():
                found[pos_id] = _signature(*rest)
    finally:
        cursor.close()
    return found


def _insert(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Write transaction rows through the driver (COPY on PostgreSQL).

    On SQLite, statements of many rows each (as many as its bound-parameter limit allows)
    cost about a third less per row than one statement executed per row.
    """
    if not rows:
        return
    cursor, sqlite = _cursor(session)
    try:
        if sqlite:
            limit = cursor.connection.getlimit(SQLITE_LIMIT_VARIABLE_NUMBER)
            per = max(1, min(_SQLITE_ROWS, limit // len(_COLUMNS)))
            one = f"({','.join('?' * len(_COLUMNS))})"
            head = f"INSERT INTO cash_pos_transactions ({','.join(_COLUMNS)}) VALUES "
            full = head + ",".join([one] * per)
            for start in range(0, len(rows), per):
                chunk = rows[start : start + per]
                sql = full if len(chunk) == per else head + ",".join([one] * len(chunk))
                cursor.execute(sql, list(chain.from_iterable(chunk)))
        else:
            with cursor.copy(
                f"COPY cash_pos_transactions ({','.join(_COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
    finally:
        cursor.close()


def _registers(session: Session, site_id: str) -> dict[str, CashContainer]:
    rows = movements.list_containers(session=session, site_id=site_id, kinds=("register",))
    return {r.terminal: r for r in rows if r.terminal}


def _cashiers(session: Session, site_id: str) -> dict[str, str]:
    rows = session.execute(
        select(CashierCode.code, CashierCode.person_id).where(CashierCode.site_id == site_id)
    ).all()
    return {code: person for code, person in rows}


def _check(
    records: Sequence[PosRecord],
    registers: dict[str, CashContainer],
    now: datetime,
    rejects: list[PosReject | tuple[PosReject, str | None]],
) -> list[PosRecord]:
    """Return the records that pass every check, adding the others to ``rejects``."""
    good: list[PosRecord] = []
    latest = now + FUTURE_SLACK
    for record in records:
        reason = _problem(record, latest)
        if reason is None and record.terminal not in registers:
            reason = f"terminal {record.terminal!r} is not bound to a register of this site"
        if reason is not None:
            rejects.append((PosReject(record.line, reason, _raw(record)), record.pos_id or None))
            continue
        good.append(record)
    return good


def _raw(record: PosRecord) -> str:
    return (
        f"id={record.pos_id} terminal={record.terminal} cashier={record.cashier} "
        f"time={record.time.isoformat() if record.time.tzinfo else record.time} "
        f"kind={record.kind.value} total={record.total_cents} cash={record.cash_cents} "
        f"discount={record.discount_cents} original={record.original_id or ''}"
    )


def ingest(
    *,
    session: Session,
    site: Site,
    records: Sequence[PosRecord],
    rejects: Sequence[PosReject],
    source: str,
    context: Context,
    now: datetime,
    settings: CashSettings,
    customer_key: KeyFn,
    clips: ClipSource | None = None,
) -> IngestResult:
    """Ingest one batch of POS records for ``site``; never raises for a bad record."""
    with gc_paused():  # a batch builds many acyclic rows: collecting in between finds nothing
        return _ingest(
            session=session,
            site=site,
            records=records,
            rejects=rejects,
            source=source,
            context=context,
            now=now,
            settings=settings,
            customer_key=customer_key,
            clips=clips,
        )


def _ingest(
    *,
    session: Session,
    site: Site,
    records: Sequence[PosRecord],
    rejects: Sequence[PosReject],
    source: str,
    context: Context,
    now: datetime,
    settings: CashSettings,
    customer_key: KeyFn,
    clips: ClipSource | None,
) -> IngestResult:
    site_id = site.site.id
    result = IngestResult(batch_id=new_id())
    refused: list[PosReject | tuple[PosReject, str | None]] = list(rejects)
    registers = _registers(session, site_id)
    registers_by_id = {r.id: r for r in registers.values()}
    cashiers = _cashiers(session, site_id)
    good = _check(records, registers, now, refused)

    # Duplicates: identical resends are ignored; the same id with other figures is refused.
    seen: dict[str, tuple[Any, ...]] = {}
    stored = _stored(session, site_id, [r.pos_id for r in good])
    batch = result.batch_id
    keys: dict[str, int] = {}
    register_of = {terminal: row.id for terminal, row in registers.items()}
    terminal_codes = {t: i for i, t in enumerate(sorted(registers))}
    rows: list[tuple[Any, ...]] = []
    fresh: list[PosRecord] = []
    for record in good:
        (
            pos_id,
            terminal,
            cashier,
            when,
            kind,
            total,
            cash_cents,
            discount,
            _items,
            _tenders,
            original,
            ref,
            reason,
            line,
            detail,
        ) = record
        at_ms = int(when.timestamp() * 1000)
        code = KIND_CODE[kind]
        signature = (code, total, cash_cents, at_ms, terminal)
        before = seen.get(pos_id) or stored.get(pos_id)
        if before is not None:
            if before == signature:
                result.duplicates += 1
            else:
                problem_text = f"id {pos_id!r} was already received with other figures"
                refused.append((PosReject(line, problem_text, _raw(record)), pos_id))
            continue
        seen[pos_id] = signature
        customer = None
        if ref:
            customer = keys.get(ref)
            if customer is None:
                customer = keys[ref] = customer_key(ref)
        rows.append(
            (
                site_id,
                pos_id,
                terminal,
                register_of[terminal],
                cashier,
                cashiers.get(cashier),
                at_ms,
                code,
                total,
                cash_cents,
                discount,
                original,
                customer,
                reason[:200] or None,
                detail[:2000] if detail is not None else encode_detail(record),
                batch,
            )
        )
        fresh.append(record)
    columns = _Rows(rows, fresh, terminal_codes)
    _insert(session, columns.rows)
    result.accepted = len(columns.rows)

    _post_cash(session, site_id, columns, sorted(registers), registers, result, context, now)
    if columns.rows:
        found = exceptions.judge_batch(
            session=session,
            site=site,
            rows=columns.rows,
            batch=columns.frame(0),
            terminals=sorted(registers),
            settings=settings,
            clips=clips,
            now=now,
        )
        result.exceptions = found.created
        result.form_8300 = tasks.open_form_8300(
            session=session,
            site=site,
            rows=[columns.rows[i] for i in found.form_8300],
            customers=[columns.customers[i] for i in found.form_8300],
            settings=settings,
            context=context,
            now=now,
        )
    for item in refused:
        reject, refused_id = item if isinstance(item, tuple) else (item, None)
        session.add(
            PosRejection(
                site_id=site_id,
                batch_id=batch,
                source=source[:32],
                line=reject.line[:64],
                pos_id=(refused_id or None) and refused_id[:64],
                reason=reject.reason[:300],
                raw=reject.raw,
                at=now,
            )
        )
    result.rejected = len(refused)
    digest = _digest(columns.rows)
    session.add(
        PosBatch(
            id=batch,
            site_id=site_id,
            source=source[:32],
            received_at=now,
            actor=context.actor,
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
            digest=digest,
        )
    )
    stage(
        session,
        make_event(
            EVENT_POS_BATCH,
            PosBatchPayload(
                batch_id=batch,
                source=source[:32],
                accepted=result.accepted,
                duplicates=result.duplicates,
                rejected=result.rejected,
                exceptions=result.exceptions,
                digest=digest,
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    cash = movements.balances(session=session, container_ids=result.registers)
    for register_id in result.registers:
        request = tills.check_limit(
            session=session,
            register=registers_by_id[register_id],
            settings=settings,
            context=context,
            now=now,
            cash=cash[register_id],
        )
        if request:
            result.drop_requests.append(register_id)
    return result


def digest_row(row: Sequence[Any]) -> str:
    """Return the canonical text of a stored transaction row (what the batch digest covers).

    The ``repr`` of the tuple of its values from the POS id to the detail: strings,
    integers and None only, so the text is the same on every Python.
    """
    return repr(tuple(row[1:15]))


def _digest(rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return hashlib.sha256().hexdigest()
    # digest_row for every row, with the loop in C: rows are tuples, so a slice is one.
    text = "\n".join(map(repr, map(_DIGESTED, rows)))
    return hashlib.sha256(f"{text}\n".encode()).hexdigest()


def _post_cash(
    session: Session,
    site_id: str,
    columns: _Rows,
    terminals: Sequence[str],
    registers: dict[str, CashContainer],
    result: IngestResult,
    context: Context,
    now: datetime,
) -> None:
    """Post one movement per register and kind (sales in, refunds out, payouts) for the batch."""
    if not columns.rows:
        return
    cash = np.asarray(columns.cash, dtype=np.int64)
    kind = np.asarray(columns.kind, dtype=np.int64)
    moved = cash != 0
    # 0: sales cash in, 1: refunds and voids out, 2: payouts out
    group = np.where(kind == 1, 0, np.where(kind == 5, 2, 1))
    keys = np.asarray(columns.terminal, dtype=np.int64) * 3 + group
    sums = np.zeros(len(terminals) * 3, dtype=np.int64)
    np.add.at(sums, keys[moved], cash[moved])
    counts = np.bincount(keys[moved], minlength=len(terminals) * 3)
    people: dict[int, set[str | None]] = {}
    for index in np.flatnonzero(moved):
        people.setdefault(int(columns.terminal[index]), set()).add(columns.rows[index][5])
    names = ("sale_cash_in", "refund", "payout")
    posts = []
    for key in np.flatnonzero(counts):
        terminal_code, kind_code = divmod(int(key), 3)
        register_id = registers[terminals[terminal_code]].id
        persons = people.get(terminal_code, {None})
        posts.append(
            movements.Post(
                kind=names[kind_code],  # type: ignore[arg-type]
                amount_cents=abs(int(sums[key])),
                container_id=register_id,
                legs=[(register_id, int(sums[key]))],
                person_id=next(iter(persons)) if len(persons) == 1 else None,
                reference={"pos_batch": result.batch_id, "transactions": str(int(counts[key]))},
            )
        )
        if register_id not in result.registers:
            result.registers.append(register_id)
    if posts:
        movements.post_many(session=session, site_id=site_id, posts=posts, context=context, now=now)


def set_cashier_code(
    *, session: Session, site_id: str, code: str, person_id: str, context: Context, now: datetime
) -> CashierCode:
    """Say which person a POS cashier code belongs to (replacing an earlier mapping)."""
    code = code.strip()
    if not code or len(code) > 64:
        raise InvalidInput("a cashier code has 1 to 64 characters")
    row = session.get(CashierCode, (site_id, code))
    if row is None:
        row = CashierCode(site_id=site_id, code=code, person_id=person_id, created_at=now)
        session.add(row)
    else:
        row.person_id = person_id
    movements.config_event(
        session,
        site_id=site_id,
        target=f"cashier:{code}",
        action="updated",
        context=context,
        now=now,
        detail={"person": person_id},
    )
    return row


def list_rejections(*, session: Session, site_id: str, limit: int = 200) -> list[PosRejection]:
    """Return a site's rejected POS records, newest first."""
    return list(
        session.execute(
            select(PosRejection)
            .where(PosRejection.site_id == site_id)
            .order_by(PosRejection.id.desc())
            .limit(limit)
        ).scalars()
    )


def recent_transactions(
    *, session: Session, site_id: str, register_id: str | None = None, limit: int = 50
) -> list[PosTransaction]:
    """Return a site's (or a register's) latest transactions."""
    stmt = select(PosTransaction).where(PosTransaction.site_id == site_id)
    if register_id is not None:
        stmt = stmt.where(PosTransaction.register_id == register_id)
    return list(
        session.execute(
            stmt.order_by(PosTransaction.at_ms.desc(), PosTransaction.id.desc()).limit(limit)
        ).scalars()
    )
