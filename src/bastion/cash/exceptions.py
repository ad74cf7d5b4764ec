"""POS exceptions as review items: judged at ingest, rescanned on demand, reviewed by people.

Every item carries the register camera's clip for the transaction's time (a recorder URL
when one is configured, else a bookmark of that camera and window). Reviewers close an
item as explained, theft or training; theft opens the regulator notice. Per-cashier
exception rates over 30 days point at patterns worth a closer look.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.cash import alerts, movements, tasks
from bastion.cash.models import CashContainer, PosException, PosTransaction
from bastion.cash.movements import dollars
from bastion.cash.rules import (
    CODE_KIND,
    DRAWER,
    RULES,
    Flags,
    Frame,
    Params,
    evaluate,
    hours_table,
)
from bastion.cash.settings import CashSettings
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_CASH_REVIEW, CashReviewPayload, make_event
from bastion.core.ports import ClipSource
from bastion.site.schemas import Site
from bastion.store.ledger import stage

Outcome = Literal["explained", "theft", "training"]
OUTCOMES: tuple[Outcome, ...] = ("explained", "theft", "training")
GRACE_MS = 5 * 60 * 1000
"""A live drawer opening waits this long past its match window for a late transaction."""
RATE_FACTOR = 2.0
"""A cashier whose exception rate is this many times the site's median stands out."""
RATE_MIN_EXCEPTIONS = 3
DAY_MS = 86_400_000


def params_for(site: Site, settings: CashSettings) -> Params:
    """Return the rule thresholds of a site."""
    return Params(
        discount_cents=settings.discount_alert_cents,
        discount_percent=settings.discount_alert_percent,
        drawer_window_ms=settings.drawer_match_seconds * 1000,
        hours=hours_table(site, settings.business_schedule),
        form_8300_cents=settings.form_8300_cents,
    )


@dataclass
class Judged:
    """What judging a batch found: items created, and batch rows crossing the 8300 line."""

    created: int = 0
    form_8300: list[int] = field(default_factory=list)


def _cursor(session: Session) -> tuple[Any, bool]:
    session.flush()
    conn = session.connection()
    return conn.connection.driver_connection.cursor(), conn.dialect.name == "sqlite"  # type: ignore[union-attr]


_MARGIN_COLUMNS = 5


def _margin(
    session: Session, site_id: str, terminals: Sequence[str], start_ms: int, window_ms: int
) -> NDArray[np.int64]:
    """Return earlier rows the batch is judged against: the match window, and 24 h of cash.

    One row per transaction as integers (terminal code, time, kind, cash, customer code or
    -1), so they go into one array without a Python loop per value.
    """
    cursor, sqlite_db = _cursor(session)
    mark = "?" if sqlite_db else "%s"
    cases = " ".join(f"WHEN {mark} THEN {i}" for i in range(len(terminals)))
    terminal = f"CASE terminal {cases} ELSE -1 END" if terminals else "-1"
    try:
        cursor.execute(
            f"SELECT {terminal}, at_ms, kind_code, cash_cents, COALESCE(customer_code, -1) "
            f"FROM cash_pos_transactions WHERE site_id = {mark} AND at_ms >= {mark} "
            f"AND at_ms < {mark} AND (at_ms >= {mark} OR "
            "(customer_code IS NOT NULL AND cash_cents > 0 AND kind_code = 1))",
            (*terminals, site_id, start_ms - DAY_MS, start_ms, start_ms - window_ms),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    n = len(rows)
    return np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.int64, count=n * _MARGIN_COLUMNS
    ).reshape(n, _MARGIN_COLUMNS)


def judge_batch(
    *,
    session: Session,
    site: Site,
    rows: Sequence[Sequence[Any]],
    batch: Frame,
    terminals: Sequence[str],
    settings: CashSettings,
    clips: ClipSource | None,
    now: datetime,
) -> Judged:
    """Judge freshly stored rows and store their review items.

    ``rows`` are the stored rows (see :mod:`bastion.cash.pos`) and ``batch`` the same as
    columns, terminals coded by their place in ``terminals``; earlier rows of the match
    window and of the last 24 hours of cash are read back as a margin.
    """
    params = params_for(site, settings)
    start = int(batch.at_ms.min())
    margin = _margin(session, site.site.id, terminals, start, params.drawer_window_ms)
    m = margin.shape[0]
    now_ms = int(now.timestamp() * 1000)
    zeros = np.zeros(m, np.int64)
    frame = Frame(
        at_ms=np.concatenate((margin[:, 1], batch.at_ms)),
        terminal=np.concatenate((margin[:, 0], batch.terminal)),
        cashier=np.concatenate((zeros - 1, batch.cashier)),
        kind=np.concatenate((margin[:, 2], batch.kind)),
        total=np.concatenate((zeros, batch.total)),
        cash=np.concatenate((margin[:, 3], batch.cash)),
        discount=np.concatenate((zeros, batch.discount)),
        has_original=np.concatenate((np.zeros(m, np.bool_), batch.has_original)),
        customer=np.concatenate((margin[:, 4], batch.customer)),
        judged_until_ms=max(int(batch.at_ms.max()), now_ms - params.drawer_window_ms - GRACE_MS),
    )
    flags = evaluate(frame, params)
    found = Judged(form_8300=[int(i) - m for i in flags.form_8300 if i >= m])
    items: list[dict[str, Any]] = []
    for rule, positions in flags.by_rule.items():
        for position in positions[positions >= m]:
            items.append(_item_from_row(rule, rows[int(position) - m]))
    found.created = store_items(
        session=session, site=site, items=items, settings=settings, clips=clips, now=now
    )
    return found


def _item_from_row(rule: str, row: Sequence[Any]) -> dict[str, Any]:
    kind = CODE_KIND.get(int(row[7]))
    amount = abs(int(row[9])) or int(row[8]) or int(row[10])
    if rule == "large_discount":
        amount = int(row[10])
    return {
        "rule": rule,
        "pos_id": row[1],
        "terminal": row[2],
        "register_id": row[3],
        "cashier": row[4],
        "person_id": row[5],
        "at": datetime.fromtimestamp(int(row[6]) / 1000, UTC),
        "amount_cents": amount,
        "summary": f"{RULES[rule]}: {kind.value.replace('_', ' ') if kind else '?'} "
        f"{dollars(amount)}",
    }


def store_items(
    *,
    session: Session,
    site: Site,
    items: Sequence[dict[str, Any]],
    settings: CashSettings,
    clips: ClipSource | None,
    now: datetime,
) -> int:
    """Store review items (one per rule and POS id), each with its clip; return how many are new."""
    if not items:
        return 0
    cameras = dict(
        session.execute(
            select(CashContainer.id, CashContainer.camera_id).where(
                CashContainer.site_id == site.site.id, CashContainer.kind == "register"
            )
        ).all()
    )
    values = []
    for item in items:
        camera = cameras.get(str(item.get("register_id"))) or item.get("camera_id")
        start, end = alerts.around(
            item["at"], settings.clip_before_seconds, settings.clip_after_seconds
        )
        video = alerts.clip(clips, camera, start, end)
        values.append(
            {
                "id": new_id(),
                "site_id": site.site.id,
                "rule": item["rule"],
                "pos_id": item["pos_id"],
                "register_id": item.get("register_id"),
                "terminal": item.get("terminal"),
                "cashier": item.get("cashier"),
                "person_id": item.get("person_id"),
                "at": item["at"],
                "amount_cents": item.get("amount_cents", 0),
                "summary": item["summary"][:300],
                "camera_id": camera,
                "clip_url": video.url if video else None,
                "clip_from": start if video else None,
                "clip_to": end if video else None,
                "status": "open",
                "created_at": now,
            }
        )
    return _insert_items(session, values)


_ITEM_COLUMNS = (
    "id",
    "site_id",
    "rule",
    "pos_id",
    "register_id",
    "terminal",
    "cashier",
    "person_id",
    "at",
    "amount_cents",
    "summary",
    "camera_id",
    "clip_url",
    "clip_from",
    "clip_to",
    "status",
    "created_at",
)
_ITEM_GETTER = itemgetter(*_ITEM_COLUMNS)
"""Reads an item's values in column order; on SQLite the four times (8, 13, 14, 16) are text."""


def _sqlite_time(value: datetime | None) -> str | None:
    """Format an aware time as SQLAlchemy's SQLite DateTime stores it (naive UTC, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_items(session: Session, values: Sequence[dict[str, Any]]) -> int:
    """Insert review items through the driver, skipping (site, rule, POS id) already stored.

    A batch brings a few hundred items; SQLAlchemy's statement handling cost several
    times the database's own work for them. Returns how many rows were new.
    """
    cursor, sqlite_db = _cursor(session)
    mark = "?" if sqlite_db else "%s"
    rows: list[tuple[Any, ...]] = [_ITEM_GETTER(v) for v in values]
    if sqlite_db:
        stamp = _sqlite_time
        rows = [
            (*r[:8], stamp(r[8]), *r[9:13], stamp(r[13]), stamp(r[14]), r[15], stamp(r[16]))
            for r in rows
        ]
    try:
        cursor.executemany(
            f"INSERT INTO cash_pos_exceptions ({', '.join(_ITEM_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_ITEM_COLUMNS))}) "
            "ON CONFLICT (site_id, rule, pos_id) DO NOTHING",
            rows,
        )
    finally:
        cursor.close()
    if sqlite_db:
        return int(cursor.rowcount)  # SQLite sums the rows each insert really added
    return _count_new(session, values)


def _count_new(session: Session, values: Sequence[dict[str, Any]]) -> int:
    ids = [v["id"] for v in values]
    found = 0
    for start in range(0, len(ids), 500):
        found += int(
            session.execute(
                select(func.count())
                .select_from(PosException)
                .where(PosException.id.in_(ids[start : start + 500]))
            ).scalar_one()
        )
    return found


# --- scanning stored transactions ------------------------------------------------------------


@dataclass
class Loaded:
    """Stored transactions as a frame, with their row ids."""

    frame: Frame
    ids: np.ndarray[Any, np.dtype[np.int64]]


_LOAD_COLUMNS = 9


def load_frame(
    *,
    session: Session,
    site_id: str,
    terminals: Sequence[str],
    since_ms: int,
    until_ms: int,
    judged_until_ms: int,
) -> Loaded:
    """Read the columns the rules need for a site and a time range, oldest first.

    Everything comes back as integers (terminals as their position in ``terminals``,
    missing customers as -1), so the rows go into one array without a Python loop.
    """
    cursor, sqlite_db = _cursor(session)
    mark = "?" if sqlite_db else "%s"
    cases = " ".join(f"WHEN {mark} THEN {i}" for i in range(len(terminals)))
    terminal = f"CASE terminal {cases} ELSE -1 END" if terminals else "-1"
    try:
        cursor.execute(
            f"SELECT id, {terminal}, at_ms, kind_code, total_cents, cash_cents, discount_cents, "
            "CASE WHEN original_id IS NULL THEN 0 ELSE 1 END, COALESCE(customer_code, -1) "
            f"FROM cash_pos_transactions WHERE site_id = {mark} AND at_ms >= {mark} "
            f"AND at_ms < {mark} ORDER BY at_ms",
            (*terminals, site_id, since_ms, until_ms),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    n = len(rows)
    table = np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.int64, count=n * _LOAD_COLUMNS
    ).reshape(n, _LOAD_COLUMNS)
    frame = Frame(
        at_ms=table[:, 2],
        terminal=table[:, 1],
        cashier=np.full(n, -1, dtype=np.int64),
        kind=table[:, 3],
        total=table[:, 4],
        cash=table[:, 5],
        discount=table[:, 6],
        has_original=table[:, 7].astype(np.bool_),
        customer=table[:, 8],
        judged_until_ms=judged_until_ms,
    )
    return Loaded(frame, table[:, 0])


def scan(
    *,
    session: Session,
    site: Site,
    settings: CashSettings,
    since: datetime,
    until: datetime,
    now: datetime,
    clips: ClipSource | None = None,
    persist: bool = True,
    rules: Sequence[str] | None = None,
) -> tuple[Flags, int]:
    """Judge every stored transaction in a window; store new review items when ``persist``.

    Return the flags and how many items were new. Idempotent: items already stored stay
    as they are (with their review).
    """
    params = params_for(site, settings)
    since_ms = int(since.timestamp() * 1000)
    until_ms = int(until.timestamp() * 1000)
    now_ms = int(now.timestamp() * 1000)
    terminals = sorted(
        {
            r.terminal
            for r in movements.list_containers(
                session=session, site_id=site.site.id, kinds=("register",), statuses=None
            )
            if r.terminal
        }
    )
    loaded = load_frame(
        session=session,
        site_id=site.site.id,
        terminals=terminals,
        since_ms=since_ms - params.drawer_window_ms,
        until_ms=until_ms + params.drawer_window_ms,
        judged_until_ms=min(now_ms - params.drawer_window_ms - GRACE_MS, until_ms),
    )
    flags = evaluate(loaded.frame, params, rules=rules)
    inside = (loaded.frame.at_ms >= since_ms) & (loaded.frame.at_ms < until_ms)
    for rule, positions in list(flags.by_rule.items()):
        flags.by_rule[rule] = positions[inside[positions]]
    if not persist:
        return flags, 0
    wanted = sorted({int(loaded.ids[p]) for v in flags.by_rule.values() for p in v})
    rows = _rows_by_id(session, wanted)
    items = [
        _item_from_row(rule, rows[int(loaded.ids[p])])
        for rule, positions in flags.by_rule.items()
        for p in positions
    ]
    return flags, store_items(
        session=session, site=site, items=items, settings=settings, clips=clips, now=now
    )


def _rows_by_id(session: Session, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        for row in session.execute(
            select(PosTransaction).where(PosTransaction.id.in_(ids[start : start + 500]))
        ).scalars():
            found[row.id] = (
                row.site_id,
                row.pos_id,
                row.terminal,
                row.register_id,
                row.cashier,
                row.person_id,
                row.at_ms,
                row.kind_code,
                row.total_cents,
                row.cash_cents,
                row.discount_cents,
                row.original_id,
                row.customer_code,
            )
    return found


def judge_pending_drawers(
    *,
    session: Session,
    site: Site,
    settings: CashSettings,
    now: datetime,
    clips: ClipSource | None = None,
) -> int:
    """Judge the live feed's recent drawer openings whose match window has passed."""
    return scan(
        session=session,
        site=site,
        settings=settings,
        since=now - timedelta(hours=2),
        until=now,
        now=now,
        clips=clips,
        rules=("drawer_no_transaction",),
    )[1]


# --- review ----------------------------------------------------------------------------------


def get_item(*, session: Session, item_id: str) -> PosException:
    """Return a review item or raise NotFound."""
    item = session.get(PosException, item_id)
    if item is None:
        raise NotFound(f"no POS exception {item_id!r}")
    return item


def list_items(
    *,
    session: Session,
    site_id: str,
    status: str | None = "open",
    person_id: str | None = None,
    limit: int = 200,
) -> list[PosException]:
    """Return a site's review items, newest first."""
    stmt = select(PosException).where(PosException.site_id == site_id)
    if status is not None:
        stmt = stmt.where(PosException.status == status)
    if person_id is not None:
        stmt = stmt.where(PosException.person_id == person_id)
    stmt = stmt.order_by(PosException.at.desc(), PosException.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def review(
    *,
    session: Session,
    site: Site | None,
    item: PosException,
    outcome: str,
    note: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> PosException:
    """Close a review item as explained, theft or training; theft opens the regulator notice."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
    if item.status != "open":
        raise Conflict(f"this item was already closed as {item.status}")
    note = note.strip()
    if outcome != "explained" and not note:
        raise InvalidInput("say what was seen (a note is needed for theft and training)")
    item.status, item.reviewed_by, item.reviewed_at = outcome, context.actor, now
    item.note = note or None
    stage(
        session,
        make_event(
            EVENT_CASH_REVIEW,
            CashReviewPayload(
                review_id=item.id,
                kind="pos_exception",
                action="closed",
                rule=item.rule,
                outcome=outcome,
                subject=item.person_id,
            ),
            context=context,
            time=now,
            site=item.site_id,
        ),
    )
    if outcome == "theft":
        tasks.open_regulator_notice(
            session=session,
            site=site,
            site_id=item.site_id,
            settings=settings,
            source=f"exception:{item.id}",
            what=f"{item.summary} (POS {item.pos_id})",
            discovered_at=now,
            context=context,
            now=now,
        )
    return item


# --- per-cashier rates -----------------------------------------------------------------------


@dataclass(frozen=True)
class CashierRate:
    """A cashier's exception rate over a period, and whether it stands out."""

    cashier: str
    person_id: str | None
    transactions: int
    exceptions: int
    by_rule: dict[str, int]
    rate: float
    stands_out: bool


def rates(*, session: Session, site_id: str, since: datetime, until: datetime) -> list[CashierRate]:
    """Return each cashier's exceptions per transaction, highest first; flag the outliers."""
    since_ms, until_ms = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
    volume = dict(
        session.execute(
            select(PosTransaction.cashier, func.count())
            .where(
                PosTransaction.site_id == site_id,
                PosTransaction.at_ms >= since_ms,
                PosTransaction.at_ms < until_ms,
                PosTransaction.kind_code != DRAWER,
            )
            .group_by(PosTransaction.cashier)
        ).all()
    )
    counts: dict[str, dict[str, int]] = {}
    people: dict[str, str | None] = {}
    for cashier, person, rule, number in session.execute(
        select(PosException.cashier, PosException.person_id, PosException.rule, func.count())
        .where(
            PosException.site_id == site_id,
            PosException.at >= since,
            PosException.at < until,
            PosException.cashier.is_not(None),
        )
        .group_by(PosException.cashier, PosException.person_id, PosException.rule)
    ).all():
        name = str(cashier)
        counts.setdefault(name, {})[rule] = counts.get(name, {}).get(rule, 0) + int(number)
        people[name] = people.get(name) or person
    cashiers = set(volume) | set(counts)
    raw = {c: sum(counts.get(c, {}).values()) / max(int(volume.get(c, 0)), 1) for c in cashiers}
    median = statistics.median(raw.values()) if raw else 0.0
    out = [
        CashierRate(
            cashier=c,
            person_id=people.get(c),
            transactions=int(volume.get(c, 0)),
            exceptions=sum(counts.get(c, {}).values()),
            by_rule=dict(sorted(counts.get(c, {}).items())),
            rate=raw[c],
            stands_out=sum(counts.get(c, {}).values()) >= RATE_MIN_EXCEPTIONS
            and raw[c] >= RATE_FACTOR * median
            and raw[c] > 0,
        )
        for c in cashiers
    ]
    return sorted(out, key=lambda r: (-r.rate, r.cashier))


def counts_by_rule(items: Iterable[PosException]) -> dict[str, int]:
    """Return how many items each rule raised."""
    found: dict[str, int] = {}
    for item in items:
        found[item.rule] = found.get(item.rule, 0) + 1
    return found
