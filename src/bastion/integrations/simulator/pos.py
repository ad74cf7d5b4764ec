"""A simulated POS day: sales on each till through opening hours, in the POS adapter's format.

Baskets of a few products, about half paid in cash; optionally a share of refunds with
their receipts. Two things a loss-prevention reviewer should look at are planted on purpose:
a no-sale drawer opening on the first till mid-afternoon and a refund without a receipt
on the second till in the early evening. Seeded, so a demo day is the same every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bastion.core.ports import PosItem, PosKind, PosRecord, PosTender
from bastion.integrations.pos.formats import cash_of, write_bastion_csv

PRODUCTS = (
    ("FLOWER-3.5G", 3_500),
    ("FLOWER-7G", 6_000),
    ("PREROLL-1G", 1_200),
    ("VAPE-0.5G", 4_000),
    ("EDIBLE-100MG", 2_000),
    ("TINCTURE-30ML", 5_500),
    ("TOPICAL", 3_000),
)


@dataclass(frozen=True)
class SimTill:
    """A simulated register: its POS terminal and the cashier code working it."""

    terminal: str
    cashier: str


def _basket(rng: random.Random) -> tuple[tuple[PosItem, ...], int]:
    items = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        sku, price = rng.choice(PRODUCTS)
        items.append(PosItem(sku, rng.choice((1, 1, 1, 2)), price))
    return tuple(items), sum(i.quantity * i.unit_cents for i in items)


def _sale(pos_id: str, till: SimTill, when: datetime, rng: random.Random) -> PosRecord:
    items, total = _basket(rng)
    tender = "cash" if rng.random() < 0.55 else "debit"
    tenders = (PosTender(tender, total),)
    return PosRecord(
        pos_id=pos_id,
        terminal=till.terminal,
        cashier=till.cashier,
        time=when,
        kind=PosKind.SALE,
        total_cents=total,
        cash_cents=cash_of(PosKind.SALE, total, tenders),
        items=items,
        tenders=tenders,
        customer_ref=f"C-{rng.randrange(1, 400):04d}",
    )


def sales_day(
    *,
    day: date,
    timezone: str,
    tills: Sequence[SimTill],
    seed: int = 11,
    opens: time = time(9, 0),
    closes: time = time(21, 0),
    per_hour: int = 9,
    refund_share: float = 0.0,
) -> list[PosRecord]:
    """Return one day of POS records for the tills, in time order, with two planted exceptions."""
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, opens, zone)
    end = datetime.combine(day, closes, zone)
    records: list[PosRecord] = []
    number = 0
    for index, till in enumerate(tills):
        moment = start + timedelta(minutes=3 + index)
        while moment < end - timedelta(minutes=5):
            number += 1
            sale = _sale(f"{day:%Y%m%d}-{till.terminal}-{number:05d}", till, moment, rng)
            records.append(sale)
            if rng.random() < refund_share:  # a refund at the counter, with its receipt
                number += 1
                back = (PosTender(sale.tenders[0].kind, sale.total_cents),)
                records.append(
                    PosRecord(
                        pos_id=f"{day:%Y%m%d}-{till.terminal}-{number:05d}",
                        terminal=till.terminal,
                        cashier=till.cashier,
                        time=moment + timedelta(minutes=2),
                        kind=PosKind.REFUND,
                        total_cents=sale.total_cents,
                        cash_cents=cash_of(PosKind.REFUND, sale.total_cents, back),
                        tenders=back,
                        original_id=sale.pos_id,
                        reason="wrong strain",
                    )
                )
            moment += timedelta(
                seconds=rng.randint(60 * 60 // per_hour // 2, 60 * 60 // per_hour * 3 // 2)
            )
    first, second = tills[0], tills[-1]
    records.append(
        PosRecord(
            pos_id=f"{day:%Y%m%d}-{first.terminal}-NS1",
            terminal=first.terminal,
            cashier=first.cashier,
            time=datetime.combine(day, time(15, 12, 40), zone),
            kind=PosKind.NO_SALE,
            reason="change for a customer",
        )
    )
    refund = 4_200
    records.append(
        PosRecord(
            pos_id=f"{day:%Y%m%d}-{second.terminal}-RF1",
            terminal=second.terminal,
            cashier=second.cashier,
            time=datetime.combine(day, time(17, 41, 5), zone),
            kind=PosKind.REFUND,
            total_cents=refund,
            cash_cents=-refund,
            tenders=(PosTender("cash", refund),),
            reason="customer lost the receipt",
        )
    )
    records.sort(key=lambda r: r.time)
    return records


def sales_day_csv(**kwargs: object) -> str:
    """Return :func:`sales_day` as the POS adapter's CSV export."""
    return write_bastion_csv(sales_day(**kwargs))  # type: ignore[arg-type]
