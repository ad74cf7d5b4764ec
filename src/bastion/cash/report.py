"""The daily reconciliation: each register's day, counts, exceptions, deposits; CSV and PDF.

The day is the site's local calendar day. The chart shows count variances by day (two
weeks) and by employee (30 days, closing counts of their tills); the PDF lays the
tables out with reportlab and embeds the chart drawn by matplotlib.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.cash import movements
from bastion.cash.models import (
    BankConfirmation,
    CashContainer,
    CashCount,
    CashMovement,
    CountSubmission,
    PosException,
    PosTransaction,
    TillSession,
)
from bastion.cash.movements import dollars
from bastion.cash.rules import RULES, SALE
from bastion.cash.views import flag_texts
from bastion.core.sitetime import site_time, zone_name
from bastion.people.models import Person
from bastion.site.schemas import Site

TREND_DAYS = 14
EMPLOYEE_DAYS = 30


@dataclass
class Reconciliation:
    """Everything the daily report shows."""

    site_id: str
    site_name: str
    day: date
    registers: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    counts: list[dict[str, Any]] = field(default_factory=list)
    exceptions_by_rule: dict[str, int] = field(default_factory=dict)
    variance_by_day: list[tuple[date, int]] = field(default_factory=list)
    variance_by_employee: dict[str, int] = field(default_factory=dict)
    deposits: list[dict[str, Any]] = field(default_factory=list)
    timezone: str = "UTC"
    """The site's zone: the day is its calendar day and the PDF shows times in it."""


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a local calendar day."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _names_of_people(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {
        p.id: p.name for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()
    }


def _names_of_users(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User).where(User.id.in_(ids))).scalars()
    return {u.id: (u.display_name or u.username) for u in rows}


def build(*, session: Session, site: Site, day: date) -> Reconciliation:
    """Gather one local day of a site's cash."""
    site_id = site.site.id
    start, end = day_bounds(day, site.site.timezone)
    report = Reconciliation(
        site_id=site_id, site_name=site.site.name, day=day, timezone=site.site.timezone
    )
    registers = movements.list_containers(
        session=session, site_id=site_id, kinds=("register",), statuses=None
    )
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    sales: dict[str, tuple[int, int, int]] = {}
    for register_id, n, total, cash in session.execute(
        select(
            PosTransaction.register_id,
            func.count(),
            func.coalesce(func.sum(PosTransaction.total_cents), 0),
            func.coalesce(func.sum(PosTransaction.cash_cents), 0),
        )
        .where(
            PosTransaction.site_id == site_id,
            PosTransaction.at_ms >= start_ms,
            PosTransaction.at_ms < end_ms,
            PosTransaction.kind_code == SALE,
        )
        .group_by(PosTransaction.register_id)
    ).all():
        sales[register_id] = (int(n), int(total), int(cash))
    moved: dict[tuple[str, str], int] = {}
    for container_id, kind, amount in session.execute(
        select(CashMovement.container_id, CashMovement.kind, func.sum(CashMovement.amount_cents))
        .where(CashMovement.site_id == site_id, CashMovement.at >= start, CashMovement.at < end)
        .group_by(CashMovement.container_id, CashMovement.kind)
    ).all():
        moved[(container_id, kind)] = int(amount)
    totals = {"sales_cents": 0, "cash_sales_cents": 0, "drops_cents": 0, "variance_cents": 0}
    for register in registers:
        n, total, cash = sales.get(register.id, (0, 0, 0))
        drops = moved.get((register.id, "safe_drop"), 0)
        row: dict[str, Any] = {
            "register": register.name,
            "terminal": register.terminal,
            "transactions": n,
            "sales_cents": total,
            "cash_sales_cents": cash,
            "refunds_cents": moved.get((register.id, "refund"), 0),
            "payouts_cents": moved.get((register.id, "payout"), 0),
            "drops_cents": drops,
            "closed_cents": moved.get((register.id, "till_close"), 0),
        }
        report.registers.append(row)
        totals["sales_cents"] += total
        totals["cash_sales_cents"] += cash
        totals["drops_cents"] += drops
    _counts(session, site, report, start, end, totals)
    report.totals = totals
    for rule, number in session.execute(
        select(PosException.rule, func.count())
        .where(PosException.site_id == site_id, PosException.at >= start, PosException.at < end)
        .group_by(PosException.rule)
    ).all():
        report.exceptions_by_rule[rule] = int(number)
    _trends(session, site, report)
    _deposits(session, site_id, report, start, end)
    return report


def _counts(
    session: Session,
    site: Site,
    report: Reconciliation,
    start: datetime,
    end: datetime,
    totals: dict[str, int],
) -> None:
    rows = list(
        session.execute(
            select(CashCount)
            .where(
                CashCount.site_id == site.site.id,
                CashCount.status == "completed",
                CashCount.completed_at >= start,
                CashCount.completed_at < end,
            )
            .order_by(CashCount.completed_at)
        ).scalars()
    )
    names = {
        c.id: c.name
        for c in session.execute(
            select(CashContainer).where(CashContainer.site_id == site.site.id)
        ).scalars()
    }
    subs = list(
        session.execute(
            select(CountSubmission).where(CountSubmission.count_id.in_([c.id for c in rows]))
        ).scalars()
    )
    users = _names_of_users(session, {s.user_id for s in subs})
    for count in rows:
        counters = sorted(
            {
                users.get(s.user_id, f"user {s.user_id}")
                for s in subs
                if s.count_id == count.id and s.round == count.round
            }
        )
        report.counts.append(
            {
                "container": names.get(count.container_id, count.container_id),
                "kind": count.kind,
                "completed_at": count.completed_at,
                "counted_cents": count.counted_cents,
                "book_cents": count.book_cents,
                "variance_cents": count.variance_cents,
                "counters": counters,
                "flags": flag_texts(session, count.flags or []),
            }
        )
        totals["variance_cents"] += count.variance_cents or 0


def _trends(session: Session, site: Site, report: Reconciliation) -> None:
    zone = ZoneInfo(site.site.timezone)
    first = report.day - timedelta(days=TREND_DAYS - 1)
    start, _ = day_bounds(first, site.site.timezone)
    _, end = day_bounds(report.day, site.site.timezone)
    by_day = {first + timedelta(days=i): 0 for i in range(TREND_DAYS)}
    for completed, variance in session.execute(
        select(CashCount.completed_at, CashCount.variance_cents).where(
            CashCount.site_id == site.site.id,
            CashCount.status == "completed",
            CashCount.completed_at >= start,
            CashCount.completed_at < end,
        )
    ).all():
        if completed is None:
            continue
        local = completed.astimezone(zone).date()
        if local in by_day:
            by_day[local] += int(variance or 0)
    report.variance_by_day = sorted(by_day.items())
    since, _ = day_bounds(report.day - timedelta(days=EMPLOYEE_DAYS - 1), site.site.timezone)
    per_person: dict[str, int] = {}
    for person_id, variance in session.execute(
        select(TillSession.person_id, CashCount.variance_cents)
        .join(CashCount, CashCount.session_id == TillSession.id)
        .where(
            CashCount.site_id == site.site.id,
            CashCount.kind == "closing",
            CashCount.status == "completed",
            CashCount.completed_at >= since,
            CashCount.completed_at < end,
        )
    ).all():
        per_person[person_id] = per_person.get(person_id, 0) + int(variance or 0)
    names = _names_of_people(session, set(per_person))
    report.variance_by_employee = {
        names.get(pid, "unknown cashier"): cents for pid, cents in sorted(per_person.items())
    }


def _deposits(
    session: Session, site_id: str, report: Reconciliation, start: datetime, end: datetime
) -> None:
    bags = movements.list_containers(
        session=session, site_id=site_id, kinds=("deposit_bag",), statuses=None
    )
    created = [b for b in bags if start <= b.created_at < end]
    confirmations = {
        c.bag_id: c
        for c in session.execute(
            select(BankConfirmation).where(BankConfirmation.bag_id.in_([b.id for b in created]))
        ).scalars()
    }
    amounts = {
        m.counterpart_id: m.amount_cents
        for m in session.execute(
            select(CashMovement).where(
                CashMovement.kind == "deposit_prepared",
                CashMovement.counterpart_id.in_([b.id for b in created]),
            )
        ).scalars()
    }
    for bag in created:
        confirmation = confirmations.get(bag.id)
        report.deposits.append(
            {
                "bag": bag.bag_number,
                "seal": bag.seal_number,
                "amount_cents": amounts.get(bag.id, 0),
                "status": bag.status,
                "bank_cents": confirmation.amount_cents if confirmation else None,
            }
        )


# --- outputs ---------------------------------------------------------------------------------


def to_csv(report: Reconciliation) -> str:
    """Return the report as CSV sections (registers, counts, exceptions, deposits)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Cash reconciliation", report.site_name, report.day.isoformat()])
    w.writerow([])
    w.writerow(
        [
            "register",
            "terminal",
            "transactions",
            "sales",
            "cash sales",
            "refunds",
            "payouts",
            "drops",
            "closed to safe",
        ]
    )
    for r in report.registers:
        w.writerow(
            [
                r["register"],
                r["terminal"],
                r["transactions"],
                *(
                    dollars(r[k])
                    for k in (
                        "sales_cents",
                        "cash_sales_cents",
                        "refunds_cents",
                        "payouts_cents",
                        "drops_cents",
                        "closed_cents",
                    )
                ),
            ]
        )
    w.writerow([])
    w.writerow(["count", "kind", "counted", "book", "variance", "counters", "flags"])
    for c in report.counts:
        w.writerow(
            [
                c["container"],
                c["kind"],
                dollars(c["counted_cents"] or 0),
                dollars(c["book_cents"] or 0),
                dollars(c["variance_cents"] or 0),
                "; ".join(c["counters"]),
                "; ".join(c["flags"]),
            ]
        )
    w.writerow([])
    w.writerow(["exception rule", "items"])
    for rule, number in sorted(report.exceptions_by_rule.items()):
        w.writerow([RULES.get(rule, rule), number])
    w.writerow([])
    w.writerow(["deposit bag", "seal", "amount", "status", "bank confirmed"])
    for d in report.deposits:
        bank = "" if d["bank_cents"] is None else dollars(d["bank_cents"])
        w.writerow([d["bag"], d["seal"], dollars(d["amount_cents"]), d["status"], bank])
    w.writerow([])
    w.writerow(["variance by day", "variance"])
    for day, cents in report.variance_by_day:
        w.writerow([day.isoformat(), dollars(cents)])
    w.writerow([])
    w.writerow(["variance by employee (30 days)", "variance"])
    for name, cents in report.variance_by_employee.items():
        w.writerow([name, dollars(cents)])
    return out.getvalue()


def chart_png(report: Reconciliation, *, dpi: int = 110) -> bytes:
    """Return the variance charts (by day, by employee) as a PNG."""
    figure = Figure(figsize=(8.0, 3.2), dpi=dpi)
    FigureCanvasAgg(figure)
    by_day, by_person = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    days = [d.strftime("%m-%d") for d, _ in report.variance_by_day]
    values = [c / 100 for _, c in report.variance_by_day]
    by_day.bar(days, values, color=["#c0392b" if v < 0 else "#2e86c1" for v in values])
    by_day.axhline(0, color="#555", linewidth=0.8)
    by_day.set_title("Count variance by day ($)", fontsize=9)
    by_day.tick_params(axis="x", labelrotation=60, labelsize=7)
    by_day.tick_params(axis="y", labelsize=7)
    names = list(report.variance_by_employee) or ["no closings"]
    amounts = [c / 100 for c in report.variance_by_employee.values()] or [0.0]
    by_person.barh(names, amounts, color=["#c0392b" if v < 0 else "#2e86c1" for v in amounts])
    by_person.axvline(0, color="#555", linewidth=0.8)
    by_person.set_title("Closing variance by employee, 30 days ($)", fontsize=9)
    by_person.tick_params(labelsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def to_pdf(report: Reconciliation, *, made: datetime | None = None) -> bytes:
    """Return the report as a one- or two-page PDF with the variance chart.

    Times are the site's, with the zone named; ``made`` (when given) is printed as the
    moment the report was prepared, so a printed copy says how current it is.
    """
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Cash reconciliation {report.day.isoformat()}",
    )
    styles = getSampleStyleSheet()
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ]
    )
    story: list[Any] = [
        Paragraph(f"Cash reconciliation — {report.site_name}", styles["Title"]),
        Paragraph(
            f"{report.day.strftime('%A %d %B %Y')} ({zone_name(report.timezone)} time)"
            + (f"; prepared {site_time(made, report.timezone)}" if made is not None else ""),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Sales {dollars(report.totals.get('sales_cents', 0))}; cash sales "
            f"{dollars(report.totals.get('cash_sales_cents', 0))}; drops "
            f"{dollars(report.totals.get('drops_cents', 0))}; count variance "
            f"{dollars(report.totals.get('variance_cents', 0))}.",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
    ]
    rows: list[list[Any]] = [
        ["Register", "Txns", "Sales", "Cash", "Refunds", "Payouts", "Drops", "Closed"]
    ]
    for r in report.registers:
        rows.append(
            [
                r["register"],
                r["transactions"],
                *(
                    dollars(r[k])
                    for k in (
                        "sales_cents",
                        "cash_sales_cents",
                        "refunds_cents",
                        "payouts_cents",
                        "drops_cents",
                        "closed_cents",
                    )
                ),
            ]
        )
    story += [Table(rows, style=grid, repeatRows=1), Spacer(1, 4 * mm)]
    rows = [["Count", "Kind", "Done", "Counted", "Book", "Variance", "Counters", "Flags"]]
    for c in report.counts:
        rows.append(
            [
                c["container"],
                c["kind"],
                site_time(c["completed_at"], report.timezone, with_date=False),
                dollars(c["counted_cents"] or 0),
                dollars(c["book_cents"] or 0),
                dollars(c["variance_cents"] or 0),
                ", ".join(c["counters"]),
                ", ".join(c["flags"]) or "—",
            ]
        )
    story += [Table(rows, style=grid, repeatRows=1), Spacer(1, 4 * mm)]
    rows = [["Exception", "Items"]] + [
        [RULES.get(k, k), v] for k, v in sorted(report.exceptions_by_rule.items())
    ]
    story += [Table(rows, style=grid), Spacer(1, 4 * mm)]
    if report.deposits:
        rows = [["Bag", "Seal", "Amount", "Status", "Bank"]] + [
            [
                d["bag"],
                d["seal"],
                dollars(d["amount_cents"]),
                d["status"],
                "—" if d["bank_cents"] is None else dollars(d["bank_cents"]),
            ]
            for d in report.deposits
        ]
        story += [Table(rows, style=grid), Spacer(1, 4 * mm)]
    story.append(Image(io.BytesIO(chart_png(report, dpi=150)), width=180 * mm, height=72 * mm))
    doc.build(story)
    return buffer.getvalue()
