"""``bastion site``: validate, import and export site-as-code files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bastion.cli.common import DataDirOption, console, err_console, hub_for, one_line_errors
from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.site.graph import SiteGraph
from bastion.site.loader import dump_site, load_site_file
from bastion.site.schemas import Site

app = typer.Typer(help="Validate, import and export site models.", no_args_is_help=True)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Site YAML files.", show_default=False)],
) -> None:
    """Check site files, report every problem in each, and summarise the valid ones."""
    failed = 0
    for path in paths:
        try:
            site = load_site_file(path)
        except ConfigError as exc:
            failed += 1
            for problem in exc.problems:
                err_console.print(
                    f"[bold red]error:[/] {escape(problem.describe())}",
                    highlight=False,
                    soft_wrap=True,
                )
            continue
        _summarise(site)
    if failed:
        err_console.print(f"{failed} of {len(paths)} file(s) invalid", highlight=False)
        raise typer.Exit(2)


def _summarise(site: Site) -> None:
    graph = SiteGraph(site)
    table = Table(title=f"{site.site.name} — valid")
    table.add_column("Zone")
    table.add_column("Layer")
    table.add_column("Doors from outside")
    for zone in sorted(site.zones, key=lambda z: (z.layer, z.id)):
        path_doors = graph.path_from_outside(zone.id)
        table.add_row(
            zone.name or zone.id,
            zone.layer.name.lower(),
            " → ".join(d.name or d.id for d in path_doors),
        )
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
    from bastion.site import service

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
    from bastion.site import service

    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        site = service.get_site(session=session, site_id=site_id)
    text = dump_site(site)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")
