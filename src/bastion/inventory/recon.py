"""The reconciliation engine: ten checks of the books against counts, the POS and the state.

Each check returns findings with a severity, the state threshold when one applies and
the evidence rows. The checks are aggregate queries (the database does the scanning);
only the few rows that fail come back to Python. :func:`run` stores the findings once
per key (re-running adds nothing twice) and stages an ``inventory.finding`` event for
each new one; :func:`open_incident` raises the alarm (and so the incident) of a finding
with the regulator-notice deadline.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, extract, func, insert, or_, select, text
from sqlalchemy.orm import Session, aliased

from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, NotFound
from bastion.core.events import EVENT_INVENTORY_FINDING, InventoryFindingPayload, make_event
from bastion.inventory import security, units
from bastion.inventory.models import (
    UNNOTED,
    InvCount,
    InvCountLine,
    InvFinding,
    InvHarvest,
    InvImport,
    InvItem,
    InvMovement,
    InvPackage,
    InvPlant,
    InvPlantBatch,
    InvSaleLine,
    InvTrackingUser,
    InvTransfer,
    InvTransferLine,
)
from bastion.inventory.settings import DEFAULT, InventorySettings
from bastion.people.models import Person
from bastion.site.schemas import Site
from bastion.store.ledger import stage

Severity = Literal["info", "low", "medium", "high"]
CHECKS = (
    "physical",
    "pos_vs_tracking",
    "mass_balance",
    "lineage",
    "batch_counts",
    "transfers",
    "adjustments",
    "tags",
    "users",
    "freshness",
)
CHECK_LABEL = {
    "physical": "Physical vs system",
    "pos_vs_tracking": "POS vs tracking",
    "mass_balance": "Harvest mass balance",
    "lineage": "Package lineage and log",
    "batch_counts": "Plant-batch counts",
    "transfers": "Transfers",
    "adjustments": "Adjustment patterns",
    "tags": "Tags",
    "users": "Tracking users vs roster",
    "freshness": "Sync freshness",
}
WATCHED_REASONS = ("Theft", "Entry Error", "Drying")
# Adjustments that must carry a note saying what happened.
NOTE_REASONS = ("Theft", "Lost", "Seizure", "Entry Error", "Other")


@dataclass(slots=True)
class Found:
    """One finding before it is stored.

    Slotted and not frozen: a year can hold tens of thousands of findings, and a frozen
    dataclass pays for ``object.__setattr__`` on every field of every one.
    """

    check: str
    key: str
    severity: Severity
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    threshold: str = ""
    notice: bool = False


@dataclass(frozen=True)
class Scope:
    """What one run looks at: the site, its time zone, now and the look-back period."""

    site_id: str
    tz: ZoneInfo
    now: datetime
    since: datetime
    settings: InventorySettings


def _q(value: int | None, unit: str) -> str:
    return units.text(int(value or 0), unit)


# --- 1 physical vs system ------------------------------------------------------------------


def physical(session: Session, s: Scope) -> list[Found]:
    """Blind-count lines whose count differs from the frozen book; the loss against sales."""
    rows = session.execute(
        select(
            InvCountLine.count_id,
            InvCountLine.tag,
            InvCountLine.system_qty,
            InvCountLine.counted_qty,
            InvPackage.unit,
            InvItem.unit_value_cents,
        )
        .join(InvCount, InvCount.id == InvCountLine.count_id)
        .join(InvPackage, InvPackage.id == InvCountLine.package_id)
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .where(
            InvCount.site_id == s.site_id,
            InvCount.status == "completed",
            InvCount.completed_at >= s.since,
            InvCountLine.counted_qty != InvCountLine.system_qty,
        )
    ).all()
    out: list[Found] = []
    loss_cents = 0
    for count_id, tag, book, counted, unit, value in rows:
        variance = int(counted or 0) - int(book)
        worth = int(units.from_stored(abs(variance)) * int(value))
        if variance < 0:
            loss_cents += worth
        out.append(
            Found(
                "physical",
                f"{count_id}:{tag}",
                "medium" if variance < 0 else "low",
                f"{tag}: counted {_q(counted, unit)}, the books say {_q(book, unit)}",
                [
                    {
                        "count": count_id,
                        "tag": tag,
                        "book": _q(book, unit),
                        "counted": _q(counted, unit),
                        "value_cents": worth,
                    }
                ],
            )
        )
    sales = session.execute(
        select(func.coalesce(func.sum(InvSaleLine.price_cents), 0)).where(
            InvSaleLine.site_id == s.site_id,
            InvSaleLine.source == "pos",
            InvSaleLine.at >= s.now - timedelta(days=30),
        )
    ).scalar_one()
    pct = s.settings.variance_percent_threshold
    limit = int(Decimal(int(sales)) * pct / 100)
    if loss_cents and loss_cents >= limit:
        out.append(
            Found(
                "physical",
                f"threshold:{s.now.astimezone(s.tz).date().isoformat()}",
                "high",
                f"count losses of ${loss_cents / 100:,.2f} reach {pct} % of the last 30 days' "
                f"sales (${int(sales) / 100:,.2f})",
                [{"loss_cents": loss_cents, "monthly_sales_cents": int(sales)}],
                threshold=f"CA: loss ≥ {pct} % of average monthly sales → audit and "
                f"{s.settings.notice_hours} h notice (4 CCR §§15034, 15036)",
                notice=True,
            )
        )
    return out


# --- 2 POS vs tracking -------------------------------------------------------------------


def closed_windows(
    tz: ZoneInfo, open_h: int, close_h: int, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the UTC spans when the store is closed, from each local closing to the next opening.

    Worked out per local day in the site's zone, so daylight-saving changes are exact.
    The database then reads only sales inside these spans (index range scans on the
    sale time) instead of judging every sale of the period.
    """
    out = []
    day = since.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date()
    while day <= last:
        shut = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(hours=close_h)
        nxt = day + timedelta(days=1)
        opens = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz) + timedelta(hours=open_h)
        if opens > shut:
            out.append((shut.astimezone(UTC), opens.astimezone(UTC)))
        day = nxt
    return out


def _sale_sources(session: Session, site_id: str) -> list[str]:
    """Return the sources of a site's sale lines: one index seek per source, not a scan."""
    out: list[str] = []
    while True:
        after = out[-1] if out else ""
        nxt = session.execute(
            select(func.min(InvSaleLine.source)).where(
                InvSaleLine.site_id == site_id, InvSaleLine.source > after
            )
        ).scalar_one()
        if nxt is None:
            return out
        out.append(nxt)


def pos_vs_tracking(session: Session, s: Scope) -> list[Found]:
    """Per day and tag, POS quantities must equal the state's receipts; and store hours.

    Whole local days of the period are compared (the day column, so an index holds all
    the query needs); only sales inside the closed hours are read for the hours check.
    """
    pos = func.sum(case((InvSaleLine.source == "pos", InvSaleLine.quantity), else_=0))
    state = func.sum(case((InvSaleLine.source != "pos", InvSaleLine.quantity), else_=0))
    rows = session.execute(
        select(
            InvSaleLine.day,
            InvSaleLine.tag,
            pos.label("pos"),
            state.label("state"),
            func.max(InvSaleLine.unit),
        )
        .where(
            InvSaleLine.site_id == s.site_id,
            InvSaleLine.day >= s.since.astimezone(s.tz).date().isoformat(),
        )
        .group_by(InvSaleLine.day, InvSaleLine.tag)
        .having(pos != state)
    ).all()
    out = [
        Found(
            "pos_vs_tracking",
            f"{day}:{tag}",
            "medium",
            f"{tag} on {day}: the POS sold {_q(p, unit or '')} but the state system has "
            f"{_q(t, unit or '')}".replace("  ", " ").strip(),
            [{"day": day, "tag": tag, "pos": _q(p, unit or ""), "state": _q(t, unit or "")}],
        )
        for day, tag, p, t, unit in rows
    ]
    open_h, close_h = s.settings.store_open_hour, s.settings.store_close_hour
    sources = [src for src in _sale_sources(session, s.site_id) if src != "ccrs"]
    # (CCRS sales carry a date only.)
    windows = [
        (max(lo, s.since), hi) for lo, hi in closed_windows(s.tz, open_h, close_h, s.since, s.now)
    ]
    windows = [(lo, hi) for lo, hi in windows if lo < hi]
    odd: set[tuple[str, datetime, str]] = set()
    for first in range(0, len(windows) if sources else 0, 100):
        spans = [
            (InvSaleLine.source == src) & (InvSaleLine.at >= lo) & (InvSaleLine.at < hi)
            for lo, hi in windows[first : first + 100]
            for src in sources
        ]
        odd.update(
            (receipt, at, source)
            for receipt, at, source in session.execute(
                select(InvSaleLine.receipt, InvSaleLine.at, InvSaleLine.source).where(
                    InvSaleLine.site_id == s.site_id, or_(*spans)
                )
            ).all()
        )
    for receipt, at, source in sorted(odd, key=lambda r: (r[1], r[2], r[0])):
        local = at.astimezone(s.tz)
        if not open_h <= local.hour < close_h:
            out.append(
                Found(
                    "pos_vs_tracking",
                    f"hours:{source}:{receipt}",
                    "low",
                    f"receipt {receipt} ({source}) at {local:%Y-%m-%d %H:%M} local time is outside "
                    "store hours (or in the wrong time zone)",
                    [{"receipt": receipt, "local_time": local.isoformat()}],
                )
            )
    return out


# --- 3 mass balance ------------------------------------------------------------------------


def mass_balance(session: Session, s: Scope) -> list[Found]:
    """Moisture loss of finished harvests within range; harvests open too long."""
    out: list[Found] = []
    for h in session.execute(select(InvHarvest).where(InvHarvest.site_id == s.site_id)).scalars():
        if h.wet_weight <= 0:
            continue
        loss = h.wet_weight - h.waste_weight - h.packaged_weight - h.current_weight
        pct = Decimal(loss) * 100 / Decimal(h.wet_weight)
        low, high = s.settings.moisture_loss_min_percent, s.settings.moisture_loss_max_percent
        evidence = [
            {
                "harvest": h.name,
                "wet": _q(h.wet_weight, h.unit),
                "waste": _q(h.waste_weight, h.unit),
                "packaged": _q(h.packaged_weight, h.unit),
                "current": _q(h.current_weight, h.unit),
            }
        ]
        if h.finished_at is not None and not low <= pct <= high:
            out.append(
                Found(
                    "mass_balance",
                    f"loss:{h.id}",
                    "high" if pct > high else "medium",
                    f"harvest {h.name}: moisture loss {pct:.1f} % is outside {low}–{high} %",
                    evidence,
                )
            )
        if h.finished_at is None and h.started_at < s.now - timedelta(
            days=s.settings.harvest_open_days
        ):
            out.append(
                Found(
                    "mass_balance",
                    f"open:{h.id}",
                    "low",
                    f"harvest {h.name} has been open more than {s.settings.harvest_open_days} days",
                    evidence,
                )
            )
    return out


# --- 4 lineage and the movement log --------------------------------------------------------


def lineage(session: Session, s: Scope) -> list[Found]:
    """Quantities equal the sum of their log; nothing negative; sources exist; children ≤ consumed."""
    posted = InvMovement.status.in_(("posted", "confirmed"))
    if session.get_bind().dialect.name == "sqlite":
        # SQLite joins by nested loops only: one seek per package into the log index
        # (its sum read from the index alone) beats materialising and re-indexing the
        # grouped log of every package.
        total: Any = (
            select(func.sum(InvMovement.delta))
            .where(
                InvMovement.site_id == InvPackage.site_id,
                InvMovement.package_id == InvPackage.id,
                posted,
            )
            .scalar_subquery()
        )
        stmt = select(InvPackage.tag, InvPackage.quantity, InvPackage.unit, total)
    else:
        logged = (
            select(InvMovement.package_id, func.sum(InvMovement.delta).label("total"))
            .where(InvMovement.site_id == s.site_id, posted)
            .group_by(InvMovement.package_id)
            .subquery()
        )
        total = logged.c.total
        stmt = select(InvPackage.tag, InvPackage.quantity, InvPackage.unit, total).join(
            logged, logged.c.package_id == InvPackage.id, isouter=True
        )
    rows = session.execute(
        stmt.where(
            InvPackage.site_id == s.site_id,
            (InvPackage.quantity < 0) | (InvPackage.quantity != func.coalesce(total, 0)),
        )
    ).all()
    out = [
        Found(
            "lineage",
            f"log:{tag}",
            "high",
            f"{tag}: the package shows {_q(qty, unit)} but its movements add up to "
            f"{_q(int(total or 0), unit)}",
            [{"tag": tag, "quantity": _q(qty, unit), "log": _q(int(total or 0), unit)}],
        )
        for tag, qty, unit, total in rows
    ]
    child = aliased(InvPackage)
    consumed = (
        select(InvMovement.package_id, InvMovement.reference, InvMovement.delta, InvPackage.unit)
        .join(InvPackage, InvPackage.id == InvMovement.package_id)
        .where(InvMovement.site_id == s.site_id, InvMovement.kind == "consume")
    )
    taken: dict[str, Decimal] = {}
    for _pid, ref, delta, unit in session.execute(consumed).all():
        tag = (ref or {}).get("child")
        if tag and units.dimension(unit) == "mass":
            grams = units.convert(units.from_stored(-delta), unit, "g")
            taken[tag] = taken.get(tag, Decimal(0)) + grams
    if taken:
        for tag, initial, unit in session.execute(
            select(child.tag, child.initial_quantity, child.unit).where(
                child.site_id == s.site_id, child.tag.in_(sorted(taken))
            )
        ).all():
            if units.dimension(unit) == "mass":
                made = units.convert(units.from_stored(initial), unit, "g")
                if made > taken[tag]:
                    out.append(
                        Found(
                            "lineage",
                            f"child:{tag}",
                            "high",
                            f"{tag} was made with {made} g from sources that gave {taken[tag]} g",
                            [{"tag": tag, "made_g": str(made), "consumed_g": str(taken[tag])}],
                        )
                    )
    return out


# --- 5 plant-batch counts ------------------------------------------------------------------


def batch_counts(session: Session, s: Scope) -> list[Found]:
    """Count = live + packaged + harvested + destroyed."""
    total = (
        InvPlantBatch.live_count
        + InvPlantBatch.packaged_count
        + InvPlantBatch.harvested_count
        + InvPlantBatch.destroyed_count
    )
    rows = session.execute(
        select(InvPlantBatch.name, InvPlantBatch.count, total).where(
            InvPlantBatch.site_id == s.site_id, InvPlantBatch.count != total
        )
    ).all()
    return [
        Found(
            "batch_counts",
            f"batch:{name}",
            "medium",
            f"batch {name}: {count} plants planted but {parts} accounted for",
            [{"batch": name, "count": count, "accounted": parts}],
        )
        for name, count, parts in rows
    ]


# --- 6 transfers -------------------------------------------------------------------------


def transfers(session: Session, s: Scope) -> list[Found]:
    """Shipped vs received per line; manifests in transit too long."""
    rows = session.execute(
        select(
            InvTransfer.manifest_no,
            InvTransferLine.tag,
            InvTransferLine.shipped_qty,
            InvTransferLine.received_qty,
            InvTransferLine.unit,
        )
        .join(InvTransferLine, InvTransferLine.transfer_id == InvTransfer.id)
        .where(
            InvTransfer.site_id == s.site_id,
            InvTransferLine.received_qty.is_not(None),
            InvTransferLine.received_qty != InvTransferLine.shipped_qty,
        )
    ).all()
    out = [
        Found(
            "transfers",
            f"line:{manifest}:{tag}",
            "high",
            f"manifest {manifest}, {tag}: shipped {_q(sent, unit)}, received {_q(got, unit)}",
            [
                {
                    "manifest": manifest,
                    "tag": tag,
                    "shipped": _q(sent, unit),
                    "received": _q(got, unit),
                }
            ],
        )
        for manifest, tag, sent, got, unit in rows
    ]
    stuck = s.now - timedelta(hours=s.settings.transit_hours)
    for manifest, left in session.execute(
        select(InvTransfer.manifest_no, InvTransfer.departed_at).where(
            InvTransfer.site_id == s.site_id,
            InvTransfer.status == "in_transit",
            InvTransfer.departed_at < stuck,
        )
    ).all():
        departed = left or s.now
        out.append(
            Found(
                "transfers",
                f"transit:{manifest}",
                "medium",
                f"manifest {manifest} has been in transit since {departed.astimezone(s.tz):%Y-%m-%d %H:%M}",
                [{"manifest": manifest, "departed": departed.isoformat()}],
                threshold=f"in transit longer than {s.settings.transit_hours} h",
            )
        )
    return out


# --- 7 adjustments -------------------------------------------------------------------------


def week_bucket(session: Session, column: Any, tz: ZoneInfo, at: datetime) -> Any:
    """Return SQL numbering Monday-to-Sunday weeks of a stored time, in the site's time.

    The site's UTC offset at ``at`` is used for the whole period (a daylight-saving shift
    moves a week's edge by an hour at most).
    """
    offset = int((tz.utcoffset(at.replace(tzinfo=None)) or timedelta(0)).total_seconds())
    seconds: Any
    if session.get_bind().dialect.name == "postgresql":
        seconds = extract("epoch", column)
        # The Unix epoch was a Thursday: shift by three days so weeks start on Monday.
        return func.floor((seconds + offset + 3 * 86400) / (7 * 86400))
    seconds = (func.julianday(column) - 2440587.5) * 86400
    return cast((seconds + offset + 3 * 86400) / (7 * 86400), Integer)  # positive: truncation


def _week_label(bucket: int) -> str:
    monday = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=7 * int(bucket) - 3)
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def adjustments(session: Session, s: Scope) -> list[Found]:
    """Theft, entry-error and drying adjustments per person and week; required notes."""
    # The index of unnoted adjustments answers this alone: its condition is spelled out
    # literally (the database matches a partial index by its text, not bound values).
    # Core rows, no ORM objects: a year can hold tens of thousands of these.
    unnoted = (
        session.connection()
        .execute(
            select(InvMovement.id, InvMovement.tag, InvMovement.reason).where(
                InvMovement.site_id == s.site_id,
                text(UNNOTED),
                InvMovement.at >= s.since,
                InvMovement.reason.in_(NOTE_REASONS),
            )
        )
        .all()
    )  # fetched at once: row-by-row iteration costs more than the query
    out = [
        Found(
            "adjustments",
            f"note:{movement_id}",  # one per movement (no time to parse)
            "medium",
            f"{tag}: a {reason} adjustment has no note",
            [{"tag": tag, "reason": reason}],
        )
        for movement_id, tag, reason in unnoted
    ]
    limit = s.settings.adjustments_per_week_limit
    week = week_bucket(session, InvMovement.at, s.tz, s.now).label("week")
    spikes = (
        session.connection()
        .execute(
            select(InvMovement.actor, InvMovement.reason, week, func.count())
            .where(
                InvMovement.site_id == s.site_id,
                InvMovement.kind == "adjust",
                InvMovement.at >= s.since,
                InvMovement.reason.in_(WATCHED_REASONS),
            )
            .group_by(InvMovement.actor, InvMovement.reason, week)
            .having(func.count() > limit)
        )
        .all()
    )
    for who, reason, bucket, n in sorted(spikes, key=lambda r: (r[0], r[2], r[1])):
        label = _week_label(int(bucket))
        out.append(
            Found(
                "adjustments",
                f"spike:{who}:{label}:{reason}",
                "high" if reason == "Theft" else "medium",
                f"{who} made {n} {reason} adjustments in {label}",
                [{"actor": who, "week": label, "reason": reason, "count": int(n)}],
                threshold=f"more than {limit} a week",
                notice=reason == "Theft",
            )
        )
    return out


# --- 8 tags ----------------------------------------------------------------------------------


def tags(session: Session, s: Scope) -> list[Found]:
    """Tags unique across packages and plants, well formed."""
    out = [
        Found(
            "tags",
            f"both:{tag}",
            "high",
            f"tag {tag} labels both a package and a plant",
            [{"tag": tag}],
        )
        # Driven from the (few) plant tags, each looked up in the package tag index.
        for (tag,) in session.execute(
            select(InvPackage.tag).where(
                InvPackage.site_id == s.site_id, InvPackage.tag.in_(select(InvPlant.tag))
            )
        ).all()
    ]
    ill_formed: Any
    if session.get_bind().dialect.name == "postgresql":
        ill_formed = (func.length(InvPackage.tag) != 24) | InvPackage.tag.op("~")("[^0-9A-Z]")
    else:
        # One pattern says "exactly 24 letters and digits".
        ill_formed = ~InvPackage.tag.op("GLOB", is_comparison=True)("[0-9A-Z]" * 24)
    # The tag test reads the tag index alone; only the few odd tags reach the table rows.
    odd = aliased(InvPackage)
    for (tag,) in session.execute(
        select(odd.tag).where(
            odd.tag.in_(select(InvPackage.tag).where(ill_formed)),
            odd.site_id == s.site_id,
            odd.external_ids["ccrs"].as_string().is_(None),
        )
    ).all():
        out.append(
            Found(
                "tags",
                f"form:{tag}",
                "low",
                f"tag {tag} is not 24 letters and digits",
                [{"tag": tag}],
            )
        )
    return out


# --- 9 users vs HR roster --------------------------------------------------------------------


def users(session: Session, s: Scope) -> list[Found]:
    """Tracking-system users must be active employees; the list must be recent."""
    listed = list(
        session.execute(
            select(InvTrackingUser).where(InvTrackingUser.site_id == s.site_id)
        ).scalars()
    )
    out: list[Found] = []
    if not listed:
        return out
    roster = {
        " ".join(p.name.lower().split())
        for p in session.execute(
            select(Person).where(Person.site_id == s.site_id, Person.status == "active")
        ).scalars()
    }
    for u in listed:
        if " ".join(u.name.lower().split()) not in roster:
            out.append(
                Found(
                    "users",
                    f"user:{u.license_no or u.id}",
                    "high",
                    f"{u.name} can use the tracking system but is not an active employee",
                    [{"user": u.name, "license": u.license_no}],
                    threshold="CA §15051(a)(2): compare with the roster at least every 30 days",
                )
            )
    newest = max(u.seen_at for u in listed)
    if newest < s.now - timedelta(days=s.settings.roster_days):
        out.append(
            Found(
                "users",
                "stale",
                "medium",
                f"the tracking users were last compared on {newest.astimezone(s.tz):%Y-%m-%d}",
                threshold=f"at least every {s.settings.roster_days} days",
            )
        )
    return out


# --- 10 sync freshness ---------------------------------------------------------------------


def freshness(session: Session, s: Scope) -> list[Found]:
    """Flag an old last successful exchange with the state system (72 h is reportable)."""
    last = session.execute(
        select(func.max(InvImport.at)).where(
            InvImport.site_id == s.site_id, InvImport.status == "accepted"
        )
    ).scalar_one()
    if last is None:
        return [
            Found(
                "freshness",
                "never",
                "medium",
                "nothing has been received from the state system yet",
            )
        ]
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    age = s.now - last
    hours = age.total_seconds() / 3600
    if hours <= s.settings.sync_stale_hours:
        return []
    reportable = hours > s.settings.sync_reportable_hours
    return [
        Found(
            "freshness",
            f"since:{last.isoformat()}",
            "high" if reportable else "medium",
            f"the last exchange with the state system was {hours:.0f} h ago",
            [{"last": last.isoformat()}],
            threshold="CA §15048.1(a)(7): loss of access longer than 72 h is reportable",
            notice=reportable,
        )
    ]


RUNNERS: dict[str, Callable[[Session, Scope], list[Found]]] = {
    "physical": physical,
    "pos_vs_tracking": pos_vs_tracking,
    "mass_balance": mass_balance,
    "lineage": lineage,
    "batch_counts": batch_counts,
    "transfers": transfers,
    "adjustments": adjustments,
    "tags": tags,
    "users": users,
    "freshness": freshness,
}


def evaluate(
    session: Session,
    *,
    site: Site,
    now: datetime,
    settings: InventorySettings = DEFAULT,
    days: int = 90,
    checks: tuple[str, ...] = CHECKS,
) -> list[Found]:
    """Run the checks and return what they found (nothing is stored)."""
    scope = Scope(
        site.site.id, ZoneInfo(site.site.timezone), now, now - timedelta(days=days), settings
    )
    found: list[Found] = []
    with _collector_paused():
        for name in checks:
            found.extend(RUNNERS[name](session, scope))
    return found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the checks build their findings.

    A year can bring tens of thousands of findings, and every few hundred new objects
    would start a collector pass over the whole heap (measured: about a third of the
    engine's own time). Findings hold no reference cycles, so nothing is lost by waiting;
    the collector resumes (if it was on) as soon as the checks are done.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def store(
    session: Session,
    *,
    site_id: str,
    found: list[Found],
    context: Context,
    now: datetime,
    settings: InventorySettings = DEFAULT,
) -> list[Found]:
    """Store new findings once per key, with one event each; return the new ones.

    Written in bulk: one multi-row insert of plain values and one ledger append for all
    the events (a year can bring tens of thousands of findings; ORM objects and one
    append per finding took seconds per thousand).
    """
    known: set[tuple[str, str]] = {
        (check, key)
        for check, key in session.connection()
        .execute(select(InvFinding.check, InvFinding.key).where(InvFinding.site_id == site_id))
        .all()
    }
    due = now + timedelta(hours=settings.notice_hours)
    new: list[Found] = []
    rows: list[dict[str, Any]] = []
    events = []
    for f in found:
        key = f.key[:200]
        if (f.check, key) in known:
            continue
        known.add((f.check, key))
        finding_id = new_id()
        rows.append(
            {
                "id": finding_id,
                "site_id": site_id,
                "check": f.check,
                "key": key,
                "severity": f.severity,
                "message": f.message[:500],
                "threshold": f.threshold[:200],
                "evidence": f.evidence,
                "status": "open",
                "alarm_id": None,
                "created_at": now,
                "notice_due_at": due if f.notice else None,
            }
        )
        new.append(f)
        events.append(
            make_event(
                EVENT_INVENTORY_FINDING,
                InventoryFindingPayload(
                    finding_id=finding_id, check=f.check, severity=f.severity, action="raised"
                ),
                context=context,
                time=now,
                site=site_id,
            )
        )
    if rows:
        session.execute(insert(InvFinding), rows)
        stage(session, *events)
    return new


def run(
    session: Session,
    *,
    site: Site,
    context: Context,
    now: datetime,
    settings: InventorySettings = DEFAULT,
    days: int = 90,
) -> tuple[list[Found], list[Found]]:
    """Evaluate every check and store the new findings; return (all found, the new ones)."""
    found = evaluate(session, site=site, now=now, settings=settings, days=days)
    return found, store(
        session, site_id=site.site.id, found=found, context=context, now=now, settings=settings
    )


def list_findings(
    session: Session, site_id: str, *, status: str | None = "open"
) -> list[InvFinding]:
    """Return a site's findings, most severe and newest first."""
    stmt = select(InvFinding).where(InvFinding.site_id == site_id)
    if status is not None:
        stmt = stmt.where(InvFinding.status == status)
    order = {"high": 0, "medium": 1, "low": 2, "info": 3}
    rows = list(session.execute(stmt).scalars())
    return sorted(rows, key=lambda r: (order.get(r.severity, 9), -r.created_at.timestamp()))


def get_finding(session: Session, site_id: str, finding_id: str) -> InvFinding:
    """Return a finding of this site or raise NotFound."""
    row = session.get(InvFinding, finding_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no finding {finding_id!r} at site {site_id}")
    return row


def open_incident(
    session: Session,
    *,
    site: Site,
    finding: InvFinding,
    context: Context,
    now: datetime,
    settings: InventorySettings = DEFAULT,
) -> str:
    """Raise the finding's alarm (and so its incident) and set the regulator-notice deadline."""
    if finding.alarm_id:
        raise Conflict("this finding already has an incident")
    verdict = security.Verdict((), None, None)
    finding.alarm_id = security.alarm(
        session,
        site=site,
        site_id=finding.site_id,
        message=f"{CHECK_LABEL.get(finding.check, finding.check)}: {finding.message}"[:300],
        verdict=verdict,
        context=context,
        now=now,
    )
    if finding.notice_due_at is None:
        finding.notice_due_at = now + timedelta(hours=settings.notice_hours)
    return finding.alarm_id


def close(session: Session, *, finding: InvFinding, context: Context, now: datetime) -> None:
    """Close a finding (explained, or dealt with in its incident)."""
    if finding.status != "open":
        raise Conflict("this finding is already closed")
    finding.status = "closed"
    stage(
        session,
        make_event(
            EVENT_INVENTORY_FINDING,
            InventoryFindingPayload(
                finding_id=finding.id,
                check=finding.check,
                severity=finding.severity,
                action="closed",
            ),
            context=context,
            time=now,
            site=finding.site_id,
        ),
    )
