"""``bastion people``: visitors on site, the visitor log, expiring training, access review.

Also offboarding from the command line.

Offboarding here acts as ``cli`` in the ledger; the running server's engine learns of
it when it reloads (the revocations are in the database at once).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    site_zones,
    zone_for,
)
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_time
from bastion.hub import Hub
from bastion.people import employees, offboarding, visitors
from bastion.store.ledger import take_staged

visitors_app = typer.Typer(help="Visitors: who is on site, the visitor log.", no_args_is_help=True)
employees_app = typer.Typer(
    help="Employees: expiring training, access review, offboarding.", no_args_is_help=True
)
app = typer.Typer(help="People: visitors and employees.", no_args_is_help=True)
app.add_typer(visitors_app, name="visitors")
app.add_typer(employees_app, name="employees")
CLI = Context(actor="cli")


@visitors_app.command("on-site")
@one_line_errors
def on_site(
    site: Annotated[str, typer.Option(help="Site id.")],
    data_dir: DataDirOption = None,
) -> None:
    """List the visitors checked in at a site, with their host."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = visitors.visitors_on_site(session, site)
        zone = zone_for(site_zones(session), site)
    table = Table(title=f"Visitors on site at {site}")
    for column in ("Visit", "Name", "Host", "Until"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.visit_id, row.name, row.host, site_time(row.until, zone))
    console.print(table)
    console.print(f"{len(rows)} visitors")


@visitors_app.command("export")
@one_line_errors
def export(
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    days: Annotated[int, typer.Option(help="How many days back.", min=1)] = 90,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the visitor log (the fields state rules require) as CSV; the export is ledgered."""
    with hub_for(data_dir) as hub:
        now = hub.clock.now()
        with hub.db.unit_of_work() as session:
            text = visitors.export_log(
                session=session,
                site_ids=frozenset({site}) if site else None,
                since=now - timedelta(days=min(days, visitors.RETENTION_DAYS)),
                until=None,
                context=CLI,
                now=now,
            )
            take_staged(session)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {max(text.count(chr(10)) - 1, 0)} visits to {out}")


@employees_app.command("expiring")
@one_line_errors
def expiring(
    days: Annotated[int, typer.Option(help="Window in days.", min=1)] = employees.WARN_DAYS,
    data_dir: DataDirOption = None,
) -> None:
    """List training that expires within the window."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = employees.expiring_training(
            session=session, now=hub.clock.now(), days=days, unwarned_only=False
        )
        lines = [(p.id, p.name, r.course, r.expires_at, r.warned_at) for p, r in rows]
    table = Table(title=f"Training expiring within {days} days")
    for column in ("Person", "Name", "Course", "Expires", "Warned"):
        table.add_column(column)
    for pid, name, course, expires, warned in lines:
        table.add_row(pid, name, course, str(expires), str(warned or "—"))
    console.print(table)


@employees_app.command("review")
@one_line_errors
def review(
    due_only: Annotated[
        bool, typer.Option("--due-only", help="Only holdings due for review.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Print the access review: who holds which level and when it was last confirmed."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = employees.access_review(session=session, now=hub.clock.now())
    table = Table(title="Access review")
    for column in ("Person", "Name", "Level", "Last confirmed", "Due"):
        table.add_column(column)
    for r in rows:
        if due_only and not r.due:
            continue
        table.add_row(
            r.person_id,
            r.name,
            r.level_id + ("" if r.in_role else " (beyond role)"),
            str(r.confirmed_at or "never"),
            "yes" if r.due else "",
        )
    console.print(table)


@employees_app.command("background")
@one_line_errors
def background(
    person: Annotated[str, typer.Option(help="Person id.")],
    status: Annotated[str, typer.Option(help="pending, cleared, failed, expired or not_required.")],
    checked_on: Annotated[str | None, typer.Option(help="Date of the result (YYYY-MM-DD).")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Provider reference (stored encrypted).")
    ] = None,
    expires_on: Annotated[str | None, typer.Option(help="When it must be redone.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record a background-check result; restricted levels need a cleared, current one."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        employees.record_background_check(
            session=session,
            person_id=person,
            status=status,
            checked_on=_date(checked_on, "checked-on"),
            reference=reference,
            expires_on=_date(expires_on, "expires-on"),
            context=CLI,
            now=hub.clock.now(),
        )
    console.print(f"{person}: background check {status}")


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{option}: give a date as YYYY-MM-DD, not {text!r}") from None


@employees_app.command("offboard")
@one_line_errors
def offboard(
    person: Annotated[str, typer.Option(help="Person id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the ledger).")],
    data_dir: DataDirOption = None,
) -> None:
    """Offboard a person in one action and print the report."""
    with hub_for(data_dir) as hub:
        with hub.db.unit_of_work() as session:
            row = offboarding.offboard(
                session=session,
                person_id=person,
                reason=reason,
                secrets=None,
                clock=hub.clock,
                context=CLI,
            )
            oid = row.id
            take_staged(session)
        _print_report(hub, oid)


@employees_app.command("offboarding-report")
@one_line_errors
def offboarding_report(
    offboarding_id: Annotated[str, typer.Argument(help="Offboarding id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Query every source afresh and list what of the leaver's access remains."""
    with hub_for(data_dir) as hub:
        _print_report(hub, offboarding_id)


def _print_report(hub: Hub, offboarding_id: str) -> None:
    with hub.db.sessions() as session:
        report = offboarding.report(
            session=session, offboarding_id=offboarding_id, now=hub.clock.now()
        )
    console.print(f"offboarding {report.offboarding_id} of {report.person_id}", highlight=False)
    for source in report.sources:
        mark = "clear" if source.clear else "REMAINS: " + "; ".join(source.remaining)
        console.print(f"  {source.name}: {mark}", highlight=False, markup=False)
    for item in report.secrets_outstanding:
        console.print(f"  to rotate: {item}", highlight=False, markup=False)
    verdict = (
        "complete" if report.complete else ("access clear" if report.access_clear else "NOT clear")
    )
    console.print(verdict)
