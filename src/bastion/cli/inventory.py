"""``bastion inventory``: state-system imports, blind counts, reconciliation, exports.

Commands act as ``cli`` in the ledger, one transaction each. An import is all or nothing:
a refused file exits 1 with the records, fields and reasons, and the refused records stay
in the database for review.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors
from bastion.core.context import Context
from bastion.inventory import ccrs, counts, metrc, recon
from bastion.site import service as site_service

app = typer.Typer(
    help="Inventory: Metrc / CCRS files, blind counts, reconciliation.", no_args_is_help=True
)
CLI = Context(actor="cli")
SiteOption = Annotated[str, typer.Option("--site", help="Site id.")]


@app.command("import")
@one_line_errors
def import_file(
    site: SiteOption,
    system: Annotated[Literal["metrc", "ccrs"], typer.Argument(help="metrc or ccrs.")],
    kind: Annotated[str, typer.Argument(help="packages, plants, … (Metrc); Inventory, … (CCRS).")],
    path: Annotated[Path, typer.Argument(help="The file.", exists=True, dir_okay=False)],
    license: Annotated[str, typer.Option(help="Licence the Metrc file was fetched for.")] = "",
    manifest: Annotated[str | None, typer.Option(help="Manifest of transfer packages.")] = None,
    unit: Annotated[str, typer.Option(help="Unit of CCRS quantities.")] = "g",
    data_dir: DataDirOption = None,
) -> None:
    """Import one state-system file, all or nothing."""
    data = path.read_bytes()
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        model = site_service.get_site(session=session, site_id=site)
        if system == "metrc":
            result = metrc.import_file(
                session,
                site=model,
                kind=kind,
                data=data,
                license_no=license or model.site.license_number,
                context=CLI,
                now=hub.clock.now(),
                filename=path.name,
                manifest=manifest,
            )
        else:
            result = ccrs.import_file(
                session,
                site=model,
                kind=kind,
                data=data,
                context=CLI,
                now=hub.clock.now(),
                filename=path.name,
                unit=unit,
            )
    console.print(result.message)
    for r in result.rejected[:20]:
        console.print(f"  {r.text()}")
    if result.status == "rejected":
        raise typer.Exit(1)


@app.command("count")
@one_line_errors
def start_count(
    site: SiteOption,
    counter: Annotated[list[int], typer.Option(help="User id of a counter (repeat).")],
    size: Annotated[int | None, typer.Option(help="Packages in the sample.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start today's blind count; only its counters see the sheet (console or API)."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        model = site_service.get_site(session=session, site_id=site)
        count = counts.start(
            session=session,
            site=model,
            counters=counter,
            size=size,
            context=CLI,
            now=hub.clock.now(),
        )
        console.print(f"count {count.id} started for {len(counter)} counter(s)")


@app.command("reconcile")
@one_line_errors
def reconcile(site: SiteOption, days: int = 90, data_dir: DataDirOption = None) -> None:
    """Run the ten checks now; store and list what is new."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        model = site_service.get_site(session=session, site_id=site)
        found, new = recon.run(session, site=model, context=CLI, now=hub.clock.now(), days=days)
        table = Table(title=f"{len(found)} finding(s), {len(new)} new")
        for column in ("Severity", "Check", "Finding"):
            table.add_column(column)
        for f in new:
            table.add_row(f.severity, recon.CHECK_LABEL.get(f.check, f.check), f.message)
    console.print(table)


@app.command("export")
@one_line_errors
def export(
    site: SiteOption,
    system: Annotated[Literal["metrc", "ccrs"], typer.Argument(help="metrc or ccrs.")],
    kind: Annotated[str, typer.Argument(help="adjustments|receipts|packages; Inventory|…")],
    days: int = 7,
    data_dir: DataDirOption = None,
) -> None:
    """Write Metrc request bodies (JSON) or a CCRS CSV to standard output."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        model = site_service.get_site(session=session, site_id=site)
        now = hub.clock.now()
        since = now - timedelta(days=days)
        if system == "ccrs":
            sys.stdout.buffer.write(
                ccrs.export(session, site=model, kind=kind, now=now, since=since)
            )
            return
        if kind == "adjustments":
            body: object = metrc.export_adjustments(session, site=model, since=since, until=now)
        elif kind == "receipts":
            body = metrc.export_receipts(session, site=model, since=since, until=now)
        elif kind == "packages":
            body = metrc.export_packages(session, site=model)
        else:
            raise typer.BadParameter("kind: adjustments, receipts or packages")
    sys.stdout.write(json.dumps(body, indent=1) + "\n")
