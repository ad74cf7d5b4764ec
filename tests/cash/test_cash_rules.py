"""The exception rules over columns: each rule, local time with DST, the 8300 rolling window."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.access.schedules import compile_schedules
from bastion.cash.rules import (
    DRAWER,
    NO_SALE,
    REFUND,
    SALE,
    VOID,
    Frame,
    Params,
    evaluate,
    hours_table,
    open_at,
)

T0 = int(datetime(2026, 3, 9, 16, 0, tzinfo=UTC).timestamp() * 1000)  # Monday 10:00 Chicago


def frame(rows: list[dict], judged_until_ms: int | None = None) -> Frame:
    def col(name, default=0):
        return np.asarray([r.get(name, default) for r in rows], dtype=np.int64)

    return Frame(
        at_ms=col("at"),
        terminal=col("terminal"),
        cashier=col("cashier"),
        kind=col("kind", SALE),
        total=col("total"),
        cash=col("cash"),
        discount=col("discount"),
        has_original=np.asarray([r.get("original", False) for r in rows], dtype=np.bool_),
        customer=col("customer", -1),
        judged_until_ms=judged_until_ms if judged_until_ms is not None else 10**15,
    )


def params(dispensary=None) -> Params:
    return Params(
        discount_cents=2500,
        discount_percent=25,
        drawer_window_ms=60_000,
        hours=hours_table(dispensary, "business-hours") if dispensary else None,
        form_8300_cents=1_000_000,
    )


def test_each_rule_flags_exactly_its_rows(dispensary):
    rows = [
        {"at": T0, "kind": SALE, "total": 4000, "cash": 4000},  # 0 fine
        {"at": T0 + 1, "kind": REFUND, "total": 4000, "original": True},  # 1 post-sale
        {"at": T0 + 2, "kind": VOID, "total": 4000, "original": True},  # 2 post-sale
        {"at": T0 + 3, "kind": REFUND, "total": 500},  # 3 no receipt
        {"at": T0 + 4, "kind": NO_SALE},  # 4 no-sale
        {"at": T0 + 5, "kind": SALE, "total": 7000, "discount": 2500},  # 5 discount $25
        {"at": T0 + 6, "kind": SALE, "total": 3000, "discount": 1000},  # 6 discount 25 %
        {"at": T0 + 7, "kind": SALE, "total": 3000, "discount": 900},  # 7 below both
        {"at": T0 - 3 * 3600_000, "kind": SALE, "total": 100},  # 8 07:00: before opening
        {"at": T0 + 10_000, "kind": DRAWER, "terminal": 0},  # 9 matched by row 7 (same terminal)
        {"at": T0 + 600_000, "kind": DRAWER, "terminal": 0},  # 10 nothing within a minute
        {"at": T0 + 610_000, "kind": DRAWER, "terminal": 1},  # 11 other terminal, unmatched
        {"at": T0 + 640_000, "kind": SALE, "terminal": 2, "total": 100},  # 12
        {"at": T0 + 650_000, "kind": DRAWER, "terminal": 2},  # 13 matched by 12
    ]
    flags = evaluate(frame(rows), params(dispensary))
    got = {rule: idx.tolist() for rule, idx in flags.by_rule.items()}
    assert got == {
        "post_sale_void": [1, 2],
        "no_sale": [4],
        "refund_no_receipt": [3],
        "large_discount": [5, 6],
        "outside_hours": [8],
        "drawer_no_transaction": [10, 11],
    }


def test_a_drawer_opening_near_the_end_of_the_known_data_waits_for_its_transaction():
    rows = [
        {"at": T0, "kind": SALE, "total": 100},
        {"at": T0 + 30_000, "kind": DRAWER},
    ]
    waiting = evaluate(frame(rows, judged_until_ms=T0 + 60_000), params())
    assert waiting.by_rule["drawer_no_transaction"].tolist() == []
    rows.append({"at": T0 + 200_000, "kind": DRAWER})
    judged = evaluate(frame(rows, judged_until_ms=T0 + 400_000), params())
    assert judged.by_rule["drawer_no_transaction"].tolist() == [2]


def test_form_8300_fires_once_when_one_customers_cash_passes_10000_within_24_hours():
    hour = 3_600_000
    rows = [
        {"at": T0, "kind": SALE, "customer": 1, "cash": 600_000, "total": 600_000},
        {"at": T0 + 20 * hour, "kind": SALE, "customer": 1, "cash": 400_001, "total": 400_001},
        {"at": T0 + 21 * hour, "kind": SALE, "customer": 1, "cash": 10, "total": 10},  # still over
        {"at": T0 + 50 * hour, "kind": SALE, "customer": 1, "cash": 900_000, "total": 900_000},
        {"at": T0, "kind": SALE, "customer": 2, "cash": 999_999, "total": 999_999},
        {"at": T0 + 25 * hour, "kind": SALE, "customer": 2, "cash": 999_999, "total": 999_999},
        {"at": T0, "kind": SALE, "customer": -1, "cash": 2_000_000, "total": 2_000_000},
    ]
    assert evaluate(frame(rows), params()).form_8300.tolist() == [1]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(
        min_value=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
        max_value=int(datetime(2027, 12, 31, tzinfo=UTC).timestamp()),
    )
)
def test_business_hours_match_the_access_engines_schedules_including_dst(dispensary, moment):
    table = hours_table(dispensary, "business-hours")
    _clock, compiled = compile_schedules(dispensary)
    expected = compiled["business-hours"].active(moment)
    got = open_at(np.asarray([moment * 1000], dtype=np.int64), table)[0]
    assert bool(got) == expected


def test_many_moments_at_once_across_dst_changes_and_holidays(dispensary):
    table = hours_table(dispensary, "business-hours")
    _clock, compiled = compile_schedules(dispensary)
    rng = np.random.default_rng(7)
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    moments = np.sort(rng.integers(start, start + 2 * 365 * 86_400, 20_000))
    edges = [
        datetime(2026, 3, 8, 7, 59, tzinfo=UTC),
        datetime(2026, 3, 8, 8, 1, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 59, tzinfo=UTC),
        datetime(2026, 11, 1, 7, 1, tzinfo=UTC),
        datetime(2026, 11, 26, 16, 30, tzinfo=UTC),  # Thanksgiving, short hours
        datetime(2026, 11, 26, 23, 30, tzinfo=UTC),
    ]
    moments = np.concatenate((moments, [int(e.timestamp()) for e in edges]))
    got = open_at(moments * 1000, table)
    expected = np.asarray([compiled["business-hours"].active(int(t)) for t in moments])
    assert (got == expected).all()
