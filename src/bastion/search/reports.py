"""Saved reports: the questions a security manager asks every week, answered from the ledger.

Each report is a fixed search over a window of days plus a grouping; the console shows the
groups as a chart with the figures beside it, and links the rows to the Events page.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.hub import Hub
from bastion.search import service
from bastion.search.names import Names
from bastion.search.query import EventFilter, EventLine
from bastion.site.schemas import Layer, Site


@dataclass(frozen=True)
class SavedReport:
    """One common question, what it searches, and how it groups the answer."""

    id: str
    title: str
    question: str
    days: int


REPORTS: dict[str, SavedReport] = {
    r.id: r
    for r in (
        SavedReport(
            "vault-entries", "Who entered the vault", "Granted entries into vault zones.", 30
        ),
        SavedReport("denied-by-door", "Denied reads by door", "Refused card reads, per door.", 30),
        SavedReport(
            "alarms-by-zone",
            "Alarms by zone and reaction time",
            "Alarms raised per zone, and the median time to acknowledge them.",
            30,
        ),
        SavedReport(
            "doors-held-forced",
            "Doors held or forced, by week",
            "Door-held-open and forced-door events per week.",
            84,
        ),
    )
}


@dataclass
class ReportResult:
    """A report's groups (label, count, note) and the events behind them."""

    report: SavedReport
    since: datetime
    groups: list[tuple[str, float, str]]
    lines: list[EventLine]
    filters: EventFilter


def _vault_zones(site: Site) -> list[str]:
    return [z.id for z in site.zones if z.layer is Layer.VAULT]


def run_report(hub: Hub, site: Site, report_id: str) -> ReportResult:
    """Run one saved report for ``site`` over its window, ending now."""
    report = REPORTS[report_id]
    zone = service.site_zone(site)
    since = hub.clock.now().astimezone(zone) - timedelta(days=report.days)
    if report_id == "vault-entries":
        lines: list[EventLine] = []
        filters = EventFilter(since=since, kinds=("access",), outcome="granted")
        for vault in _vault_zones(site):
            lines += service.export_lines(hub, site, replace(filters, zone=vault))
        lines.sort(key=lambda line: line.seq, reverse=True)
        groups = [
            (who, float(n), "entries") for who, n in Counter(e.who for e in lines).most_common()
        ]
    elif report_id == "denied-by-door":
        filters = EventFilter(since=since, kinds=("access",), outcome="denied")
        lines = service.export_lines(hub, site, filters)
        counts = Counter(line.where.split(" · ")[0] or "unknown door" for line in lines)
        groups = [(door, float(n), "denied") for door, n in counts.most_common()]
    elif report_id == "alarms-by-zone":
        filters = EventFilter(since=since, kinds=("alarms",), text="alarm.raised")
        lines = [e for e in service.export_lines(hub, site, filters) if e.type == "alarm.raised"]
        groups = _alarms_by_zone(hub, site, since)
    else:
        filters = EventFilter(since=since, kinds=("doors",))
        lines = [
            e
            for e in service.export_lines(hub, site, filters)
            if e.type in ("door.held", "door.forced")
        ]
        weeks = Counter(
            f"{e.time.astimezone(zone):%G-W%V} {e.type.removeprefix('door.')}" for e in lines
        )
        groups = [(week, float(n), "events") for week, n in sorted(weeks.items())]
    return ReportResult(report=report, since=since, groups=groups, lines=lines, filters=filters)


def _alarms_by_zone(hub: Hub, site: Site, since: datetime) -> list[tuple[str, float, str]]:
    with hub.db.sessions() as session:
        names = Names.load(session, site)
        alarms = session.execute(
            select(Alarm.zone_id, Alarm.raised_at, Alarm.acknowledged_at).where(
                Alarm.site_id == site.site.id, Alarm.raised_at >= since
            )
        ).all()
    per_zone: dict[str, list[float]] = {}
    counts: Counter[str] = Counter()
    for zone_id, raised, acked in alarms:
        label = names.zone(zone_id) or "no zone"
        counts[label] += 1
        if acked is not None:
            per_zone.setdefault(label, []).append((acked - raised).total_seconds())
    groups = []
    for label, n in counts.most_common():
        times = per_zone.get(label)
        note = (
            f"median {statistics.median(times):.0f} s to acknowledge"
            if times
            else "none acknowledged"
        )
        groups.append((label, float(n), note))
    return groups
