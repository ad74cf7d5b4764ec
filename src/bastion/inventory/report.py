"""The reconciliation report: variance by location and by week, adjustment reasons by user.

CSV (one section after another, each with its own header row) so an inspector can open
it in any spreadsheet; the console draws the same figures as bars.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.inventory import units
from bastion.inventory.models import (
    InvCount,
    InvCountLine,
    InvFinding,
    InvItem,
    InvLocation,
    InvMovement,
    InvPackage,
)
from bastion.site.schemas import Site


@dataclass(frozen=True)
class Figures:
    """The report's numbers: variance value by location and by ISO week, reasons by actor."""

    by_location: dict[str, int]
    by_week: dict[str, int]
    reasons: dict[tuple[str, str], int]
    findings: dict[str, int]


def figures(session: Session, *, site: Site, now: datetime, days: int = 90) -> Figures:
    """Compute the report's figures for the last ``days`` days."""
    tz = ZoneInfo(site.site.timezone)
    since = now - timedelta(days=days)
    by_location: dict[str, int] = defaultdict(int)
    by_week: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(
            InvLocation.name,
            InvCount.completed_at,
            InvCountLine.counted_qty,
            InvCountLine.system_qty,
            InvItem.unit_value_cents,
        )
        .join(InvCount, InvCount.id == InvCountLine.count_id)
        .join(InvPackage, InvPackage.id == InvCountLine.package_id)
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .outerjoin(InvLocation, InvLocation.id == InvCountLine.location_id)
        .where(
            InvCount.site_id == site.site.id,
            InvCount.status == "completed",
            InvCount.completed_at >= since,
        )
    ).all()
    for place, done, counted, book, value in rows:
        cents = int(units.from_stored(int(counted or 0) - int(book)) * int(value))
        by_location[place or "Nowhere recorded"] += cents
        year, week, _ = (done or now).astimezone(tz).isocalendar()
        by_week[f"{year}-W{week:02d}"] += cents
    reasons: dict[tuple[str, str], int] = defaultdict(int)
    for who, reason in session.execute(
        select(InvMovement.actor, InvMovement.reason).where(
            InvMovement.site_id == site.site.id,
            InvMovement.kind == "adjust",
            InvMovement.at >= since,
        )
    ).all():
        reasons[(who, reason)] += 1
    findings: dict[str, int] = defaultdict(int)
    for (check,) in session.execute(
        select(InvFinding.check).where(
            InvFinding.site_id == site.site.id, InvFinding.status == "open"
        )
    ).all():
        findings[check] += 1
    return Figures(dict(by_location), dict(by_week), dict(reasons), dict(findings))


def csv_report(session: Session, *, site: Site, now: datetime, days: int = 90) -> bytes:
    """Return the report as CSV sections."""
    f = figures(session, site=site, now=now, days=days)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(
        [
            f"Inventory reconciliation — {site.site.name}",
            now.astimezone(ZoneInfo(site.site.timezone)).strftime("%Y-%m-%d %H:%M"),
        ]
    )
    w.writerow([])
    w.writerow(["Variance by location", "Value (USD)"])
    for place, cents in sorted(f.by_location.items()):
        w.writerow([place, f"{cents / 100:.2f}"])
    w.writerow([])
    w.writerow(["Variance by week", "Value (USD)"])
    for week, cents in sorted(f.by_week.items()):
        w.writerow([week, f"{cents / 100:.2f}"])
    w.writerow([])
    w.writerow(["Adjustments by user", "Reason", "Count"])
    for (who, reason), n in sorted(f.reasons.items()):
        w.writerow([who, reason, n])
    w.writerow([])
    w.writerow(["Open findings by check", "Count"])
    for check, n in sorted(f.findings.items()):
        w.writerow([check, n])
    return buf.getvalue().encode()
