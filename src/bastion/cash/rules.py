"""POS exception rules over columns of transactions (numpy), for one batch or a whole year.

Each rule is a vectorised test over a :class:`Frame`; :func:`evaluate` returns, per
rule, the row positions it flags. The same code judges a freshly ingested batch (with a
margin of earlier rows) and rescans millions of stored rows, so the two never disagree.
Local time for the business-hours rule comes from the site's time zone, DST included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from bastion.access.schedules import interval_minutes
from bastion.core.ports import PosKind
from bastion.site.schemas import ALL_DAYS, Interval, Site

KIND_CODE: dict[PosKind, int] = {
    PosKind.SALE: 1,
    PosKind.REFUND: 2,
    PosKind.VOID: 3,
    PosKind.NO_SALE: 4,
    PosKind.PAYOUT: 5,
    PosKind.DRAWER_OPEN: 6,
}
CODE_KIND = {code: kind for kind, code in KIND_CODE.items()}
SALE, REFUND, VOID, NO_SALE, PAYOUT, DRAWER = 1, 2, 3, 4, 5, 6

RULES: dict[str, str] = {
    "post_sale_void": "Void or refund after the sale",
    "no_sale": "No-sale drawer open",
    "refund_no_receipt": "Refund without a receipt",
    "large_discount": "Discount over the threshold",
    "outside_hours": "Transaction outside business hours",
    "drawer_no_transaction": "Drawer opened with no transaction",
    "over_short_trend": "Cashier's cash over/short trend",
}
"""Every exception rule and what a person calls it."""

_KEY_SPAN = 10**13  # epoch milliseconds stay below this until the year 2286
_DAY_MS = 86_400_000
I64 = NDArray[np.int64]


@dataclass
class Frame:
    """Columns of transactions; ``terminal``, ``cashier`` and ``customer`` are small codes.

    ``customer`` is -1 where the POS gave no customer. ``judged_until_ms`` is how far the
    data is known to be complete: a drawer opening later than that minus the match window
    is not judged yet (its transaction may still be on its way).
    """

    at_ms: I64
    terminal: I64
    cashier: I64
    kind: I64
    total: I64
    cash: I64
    discount: I64
    has_original: NDArray[np.bool_]
    customer: I64
    judged_until_ms: int

    def __len__(self) -> int:
        return int(self.at_ms.shape[0])


@dataclass(frozen=True)
class HoursTable:
    """A schedule as a (7, 1440) table of open minutes, plus its holiday table and days."""

    timezone: str
    table: NDArray[np.bool_]
    holiday_table: NDArray[np.bool_]
    holidays: NDArray[np.int64]


@dataclass(frozen=True)
class Params:
    """The site's thresholds for the rules."""

    discount_cents: int
    discount_percent: int
    drawer_window_ms: int
    hours: HoursTable | None
    form_8300_cents: int = 1_000_000


@dataclass
class Flags:
    """Row positions flagged per rule, and the rows where a customer crossed the 8300 line."""

    by_rule: dict[str, I64] = field(default_factory=dict)
    form_8300: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def total(self) -> int:
        """Return how many (rule, row) flags there are."""
        return sum(int(v.shape[0]) for v in self.by_rule.values())


def _table(intervals: Iterable[Interval]) -> NDArray[np.bool_]:
    table = np.zeros((7, 1440), dtype=np.bool_)
    for interval in intervals:
        start, end = interval_minutes(interval)
        for name in interval.days:
            day = ALL_DAYS.index(name)
            if start < end:
                table[day, start:end] = True
            elif start > end:  # crosses midnight: the tail belongs to the next weekday
                table[day, start:] = True
                table[(day + 1) % 7, :end] = True
    return table


def hours_table(site: Site, schedule_id: str | None) -> HoursTable | None:
    """Compile a site schedule into lookup tables (None when the site has no such schedule)."""
    if schedule_id is None:
        return None
    try:
        schedule = site.schedule(schedule_id)
    except KeyError:
        return None
    sets = {h.id: h for h in site.holiday_sets}
    days = sorted(
        (h.date - datetime(1970, 1, 1).date()).days
        for set_id in schedule.holidays
        for h in sets[set_id].holidays
    )
    return HoursTable(
        timezone=site.site.timezone,
        table=_table(schedule.intervals),
        holiday_table=_table(schedule.holiday_intervals),
        holidays=np.asarray(days, dtype=np.int64),
    )


def local_seconds(at_ms: I64, timezone: str) -> I64:
    """Return local wall-clock seconds since the epoch for UTC epoch milliseconds.

    The UTC offset is sampled every quarter hour over the range (every real zone changes
    offset on a quarter-hour boundary) and looked up by binary search.
    """
    seconds = at_ms // 1000
    if seconds.shape[0] == 0:
        return seconds
    zone = ZoneInfo(timezone)
    first, last = int(seconds.min()) // 900 * 900, int(seconds.max()) // 900 * 900 + 900
    grid = np.arange(first, last + 1, 900, dtype=np.int64)
    offsets = np.fromiter(
        (
            datetime.fromtimestamp(int(t), UTC).astimezone(zone).utcoffset().total_seconds()  # type: ignore[union-attr]
            for t in grid
        ),
        dtype=np.int64,
        count=grid.shape[0],
    )
    changes = np.flatnonzero(np.diff(offsets)) + 1
    starts = np.concatenate(([grid[0]], grid[changes]))
    values = np.concatenate(([offsets[0]], offsets[changes]))
    index = np.searchsorted(starts, seconds, side="right") - 1
    return seconds + values[np.clip(index, 0, None)]


def open_at(at_ms: I64, hours: HoursTable) -> NDArray[np.bool_]:
    """Return, per row, whether the schedule is open at that moment (local time)."""
    local = local_seconds(at_ms, hours.timezone)
    day = local // 86_400
    minute = (local % 86_400) // 60
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    normal = hours.table[weekday, minute]
    if hours.holidays.shape[0] == 0:
        return normal
    holiday = np.isin(day, hours.holidays)
    return np.where(holiday, hours.holiday_table[weekday, minute], normal)


def _drawer_unmatched(frame: Frame, window_ms: int) -> I64:
    drawer = np.flatnonzero(frame.kind == DRAWER)
    if drawer.shape[0] == 0:
        return drawer
    others = frame.kind != DRAWER
    keys = np.sort(frame.terminal[others] * _KEY_SPAN + frame.at_ms[others])
    probe = frame.terminal[drawer] * _KEY_SPAN + frame.at_ms[drawer]
    nearest = np.searchsorted(keys, probe - window_ms, side="left")
    has_match = np.zeros(drawer.shape[0], dtype=np.bool_)
    inside = nearest < keys.shape[0]
    has_match[inside] = keys[nearest[inside]] <= probe[inside] + window_ms
    judged = frame.at_ms[drawer] + window_ms <= frame.judged_until_ms
    return drawer[~has_match & judged]


def _form_8300(frame: Frame, threshold: int) -> I64:
    """Return rows where one customer's cash over the past 24 h first passes the threshold."""
    rows = np.flatnonzero((frame.customer >= 0) & (frame.cash > 0) & (frame.kind == SALE))
    if rows.shape[0] == 0:
        return rows
    keys = frame.customer[rows] * _KEY_SPAN + frame.at_ms[rows]
    order = np.argsort(keys, kind="stable")
    rows, keys = rows[order], keys[order]
    running = np.cumsum(frame.cash[rows])
    start = np.searchsorted(keys, keys - _DAY_MS + 1, side="left")
    before = np.where(start > 0, running[np.maximum(start - 1, 0)], 0)
    over = (running - before) > threshold
    # Report the first crossing of each run of crossings by the same customer.
    same_customer = np.concatenate(([False], frame.customer[rows][1:] == frame.customer[rows][:-1]))
    previous_over = np.concatenate(([False], over[:-1])) & same_customer
    return np.sort(rows[over & ~previous_over])


def evaluate(frame: Frame, params: Params, *, rules: Sequence[str] | None = None) -> Flags:
    """Return the rows each rule flags (all rules unless ``rules`` names some)."""
    wanted = set(RULES if rules is None else rules)
    kind = frame.kind
    flags = Flags()

    def put(rule: str, mask: NDArray[np.bool_]) -> None:
        if rule in wanted:
            flags.by_rule[rule] = np.flatnonzero(mask)

    reversal = (kind == REFUND) | (kind == VOID)
    put("post_sale_void", reversal & frame.has_original)
    put("no_sale", kind == NO_SALE)
    put("refund_no_receipt", (kind == REFUND) & ~frame.has_original)
    gross = frame.total + frame.discount
    put(
        "large_discount",
        (kind == SALE)
        & (frame.discount > 0)
        & (
            (frame.discount >= params.discount_cents)
            | (frame.discount * 100 >= gross * params.discount_percent)
        ),
    )
    if "outside_hours" in wanted and params.hours is not None:
        counted = (kind != DRAWER) & (kind != 0)
        put("outside_hours", counted & ~open_at(frame.at_ms, params.hours))
    if "drawer_no_transaction" in wanted:
        flags.by_rule["drawer_no_transaction"] = _drawer_unmatched(frame, params.drawer_window_ms)
    flags.form_8300 = _form_8300(frame, params.form_8300_cents)
    return flags


class Codes:
    """Give strings (terminals, cashiers, customers) small integer codes, and back."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str) -> int:
        """Return the code of ``value``, assigning the next one when new."""
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found

    def many(self, values: Iterable[str | None]) -> I64:
        """Return the codes of ``values`` (None becomes -1)."""
        get = self.code
        return np.fromiter((-1 if v is None else get(v) for v in values), dtype=np.int64)
