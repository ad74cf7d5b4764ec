"""``bastion site``: validate, import and export site-as-code files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors
from bastion.core.context import Context
from bastion.site import service
from bastion.site.graph import SiteGraph
from bastion.site.loader import dump_site, load_site_file

app = typer.Typer(help="Validate, import and export site models.", no_args_is_help=True)


@app.command()
@one_line_errors
def validate(path: Annotated[Path, typer.Argument(help="Site YAML file.")]) -> None:
    """Check a site file and summarise it."""
    site = load_site_file(path)
    graph = SiteGraph(site)
    table = Table(title=f"{site.site.name} ({site.site.id}) — valid")
    table.add_column("Zone")
    table.add_column("Layer")
    table.add_column("Doors from outside")
    for zone in sorted(site.zones, key=lambda z: (z.layer, z.id)):
        path_doors = graph.path_from_outside(zone.id)
        table.add_row(zone.id, zone.layer.name.lower(), " → ".join(d.id for d in path_doors))
    console.print(table)
    console.print(
        f"{len(site.zones)} zones, {len(site.doors)} doors, {len(site.barriers)} barriers, "
        f"{len(site.devices)} devices, {len(site.schedules)} schedules"
    )


@app.command("import")
@one_line_errors
def import_(
    path: Annotated[Path, typer.Argument(help="Site YAML file.")],
    data_dir: DataDirOption = None,
) -> None:
    """Validate a site file and store it as the site's next revision."""
    site = load_site_file(path)
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        record = service.import_site(
            session=session, site=site, context=Context(actor="cli"), now=hub.clock.now()
        )
        console.print(f"imported {record.id} revision {record.revision} ({record.sha256[:12]})")


@app.command()
@one_line_errors
def export(
    site_id: Annotated[str, typer.Argument(help="Site id.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a stored site model back out as YAML."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        site = service.get_site(session=session, site_id=site_id)
    text = dump_site(site)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")
