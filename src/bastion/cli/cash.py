"""``bastion cash``: registers and safes, POS imports, exceptions, reports, pickups, settings.

Commands act as ``cli`` in the ledger. Imports and scans run in one transaction each;
the running server's cash runtime sees their results at its next tick.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from bastion.cash import exceptions, movements, pickups, pos, report
from bastion.cash import settings as cash_settings
from bastion.cash.movements import dollars
from bastion.cash.runtime import customer_key
from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_time
from bastion.integrations.pos.formats import read_bastion_csv, read_toast_payments
from bastion.site import service as site_service

app = typer.Typer(
    help="Cash: tills, safes, POS imports, exceptions, reports.", no_args_is_help=True
)
pickups_app = typer.Typer(help="Armored pickups (planners only).", no_args_is_help=True)
app.add_typer(pickups_app, name="pickups")
CLI = Context(actor="cli")
SiteOption = Annotated[str, typer.Option("--site", help="Site id.")]


@app.command("containers")
@one_line_errors
def list_containers(site: SiteOption, data_dir: DataDirOption = None) -> None:
    """List registers, safes, the vault and deposit bags with their balances."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = movements.list_containers(session=session, site_id=site, statuses=None)
        cash = movements.balances(session=session, container_ids=[r.id for r in rows])
    table = Table(title=f"Cash containers at {site}")
    for column in ("Id", "Kind", "Name", "Terminal", "Status", "Balance"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.id, r.kind, r.name, r.terminal or "", r.status, dollars(cash.get(r.id, 0)))
    console.print(table)


@app.command("add")
@one_line_errors
def add_container(
    site: SiteOption,
    kind: Annotated[Literal["register", "drop_safe", "vault"], typer.Option(help="Kind.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    zone: Annotated[str | None, typer.Option(help="Zone it stands in.")] = None,
    camera: Annotated[str | None, typer.Option(help="Camera that sees it.")] = None,
    terminal: Annotated[str | None, typer.Option(help="POS terminal id (registers).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a register (zone, camera and terminal required), a drop safe or the vault."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        row = movements.create_container(
            session=session,
            site=site_service.get_site(session=session, site_id=site),
            kind=kind,
            name=name,
            zone_id=zone,
            camera_id=camera,
            terminal=terminal,
            context=CLI,
            now=hub.clock.now(),
        )
        console.print(row.id)


@app.command("cashier")
@one_line_errors
def cashier(
    site: SiteOption,
    code: Annotated[str, typer.Option(help="The POS cashier code.")],
    person: Annotated[str, typer.Option(help="Person id it belongs to.")],
    data_dir: DataDirOption = None,
) -> None:
    """Say which person a POS cashier code belongs to."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        pos.set_cashier_code(
            session=session,
            site_id=site,
            code=code,
            person_id=person,
            context=CLI,
            now=hub.clock.now(),
        )
    console.print(f"cashier {code} is person {person}")


@app.command("import")
@one_line_errors
def import_export(
    site: SiteOption,
    file: Annotated[Path, typer.Argument(help="Export file (CSV).", exists=True, dir_okay=False)],
    format: Annotated[
        Literal["bastion-csv", "toast-payments"], typer.Option(help="Export format.")
    ] = "bastion-csv",
    default_terminal: Annotated[
        str | None, typer.Option(help="Terminal for Toast payments without a cash drawer.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import a POS export; bad lines are refused (and kept), resent ones ignored."""
    text = file.read_text(encoding="utf-8-sig")
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        model = site_service.get_site(session=session, site_id=site)
        if format == "toast-payments":
            parsed = read_toast_payments(
                text, timezone=model.site.timezone, default_terminal=default_terminal
            )
        else:
            parsed = read_bastion_csv(text)
        result = pos.ingest(
            session=session,
            site=model,
            records=parsed.records,
            rejects=parsed.rejects,
            source=f"{format}:{file.name}"[:32],
            context=CLI,
            now=hub.clock.now(),
            settings=cash_settings.load(session=session, site_id=site),
            customer_key=customer_key(hub),
        )
        refused = [
            r
            for r in pos.list_rejections(session=session, site_id=site, limit=result.rejected)
            if r.batch_id == result.batch_id
        ]
    console.print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, refused {result.rejected}, "
        f"exceptions {result.exceptions}, Form 8300 tasks {result.form_8300}"
    )
    for row in reversed(refused[:20]):
        console.print(f"  {row.line}: {row.reason}", highlight=False)


@app.command("exceptions")
@one_line_errors
def list_exceptions(
    site: SiteOption,
    status: Annotated[str, typer.Option(help="open, explained, theft, training or all.")] = "open",
    data_dir: DataDirOption = None,
) -> None:
    """List POS exceptions with their clip link or camera bookmark."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        zone = ZoneInfo(site_service.get_site(session=session, site_id=site).site.timezone)
        rows = exceptions.list_items(
            session=session, site_id=site, status=None if status == "all" else status
        )
    table = Table(title=f"POS exceptions at {site} ({status}; times in {zone.key})")
    for column in ("When", "Rule", "Terminal", "Cashier", "Amount", "Video"):
        table.add_column(column)
    for r in rows:
        video = r.clip_url or (
            f"bookmark {r.camera_id} {site_time(r.clip_from, zone, seconds=True, with_date=False)}–"
            f"{site_time(r.clip_to, zone, seconds=True, with_date=False)}"
            if r.camera_id and r.clip_from and r.clip_to
            else "no camera"
        )
        table.add_row(
            site_time(r.at, zone, seconds=True),
            r.rule,
            r.terminal or "",
            r.cashier or "",
            dollars(r.amount_cents),
            video,
        )
    console.print(table)
    console.print(f"{len(rows)} items")


@app.command("scan")
@one_line_errors
def scan(
    site: SiteOption,
    days: Annotated[int, typer.Option(help="How many days back.", min=1, max=400)] = 30,
    data_dir: DataDirOption = None,
) -> None:
    """Judge stored transactions again (new items only; reviewed ones stay as they are)."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        now = hub.clock.now()
        flags, created = exceptions.scan(
            session=session,
            site=site_service.get_site(session=session, site_id=site),
            settings=cash_settings.load(session=session, site_id=site),
            since=now - timedelta(days=days),
            until=now,
            now=now,
        )
    for rule, rows in sorted(flags.by_rule.items()):
        console.print(f"{rule}: {int(rows.shape[0])}")
    console.print(f"{created} new review items")


@app.command("report")
@one_line_errors
def day_report(
    site: SiteOption,
    out: Annotated[Path, typer.Option(help="File to write: .pdf or .csv.")],
    day: Annotated[str | None, typer.Option(help="Local date YYYY-MM-DD (default today).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the daily reconciliation as PDF (with the variance chart) or CSV."""
    if out.suffix.lower() not in (".pdf", ".csv"):
        raise InvalidInput("the report file must end in .pdf or .csv")
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        model = site_service.get_site(session=session, site_id=site)
        when = (
            date.fromisoformat(day)
            if day
            else hub.clock.now().astimezone(ZoneInfo(model.site.timezone)).date()
        )
        data = report.build(session=session, site=model, day=when)
    if out.suffix.lower() == ".pdf":
        out.write_bytes(report.to_pdf(data, made=hub.clock.now()))
    else:
        out.write_text(report.to_csv(data), encoding="utf-8")
    console.print(f"wrote the {when.isoformat()} reconciliation to {out}")


@app.command("settings")
@one_line_errors
def settings(
    site: SiteOption,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="name=value (JSON value), repeatable.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show the site's cash settings, or change some (``--set register_limit_cents=150000``)."""
    import json

    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        if set_:
            changes = {}
            for item in set_:
                name, sep, value = item.partition("=")
                if not sep:
                    raise InvalidInput(f"{item!r} is not name=value")
                try:
                    changes[name.strip()] = json.loads(value)
                except json.JSONDecodeError:
                    changes[name.strip()] = value
            current = cash_settings.update(
                session=session, site_id=site, changes=changes, context=CLI, now=hub.clock.now()
            )
        else:
            current = cash_settings.load(session=session, site_id=site)
    for name, value in current.model_dump(mode="json").items():
        console.print(f"{name} = {value}", highlight=False)


@pickups_app.command("carrier")
@one_line_errors
def add_carrier(
    site: SiteOption,
    company: Annotated[str, typer.Option(help="Carrier company.")],
    code_word: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Code word.")],
    data_dir: DataDirOption = None,
) -> None:
    """Register a carrier company and its code word (kept as a keyed hash only)."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        carrier = pickups.add_carrier(
            session=session,
            site_id=site,
            company=company,
            code_word=code_word,
            context=CLI,
            now=hub.clock.now(),
        )
        console.print(carrier.id)


@pickups_app.command("plan")
@one_line_errors
def plan(
    site: SiteOption,
    carrier: Annotated[str, typer.Option(help="Carrier id.")],
    urgent: Annotated[
        bool, typer.Option("--urgent", help="Take the earliest allowed slot.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Plan the next pickup; print its time (site time) and one-time code."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        model = site_service.get_site(session=session, site_id=site)
        planned = pickups.plan(
            session=session,
            site=model,
            carrier=pickups.get_carrier(session=session, carrier_id=carrier),
            settings=cash_settings.load(session=session, site_id=site),
            context=CLI,
            now=hub.clock.now(),
            urgent=urgent,
        )
        local = planned.pickup.scheduled_at.astimezone(ZoneInfo(model.site.timezone))
    console.print(
        f"pickup {planned.pickup.id} at {local:%a %Y-%m-%d %H:%M} ({model.site.timezone})"
    )
    console.print(f"one-time code {planned.code} (give it to the carrier's dispatcher only)")


@pickups_app.command("list")
@one_line_errors
def list_pickups(site: SiteOption, data_dir: DataDirOption = None) -> None:
    """List the pickups (times in the site's time zone)."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        zone = ZoneInfo(site_service.get_site(session=session, site_id=site).site.timezone)
        rows = pickups.list_pickups(session=session, site_id=site)
    for row in rows:
        when = row.scheduled_at.astimezone(zone)
        total = dollars(row.total_cents) if row.total_cents is not None else "—"
        console.print(f"{row.id} {when:%a} {site_time(when, zone)} {row.status} {total}")
    console.print(f"{len(rows)} pickups")
