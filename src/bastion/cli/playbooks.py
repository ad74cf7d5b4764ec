"""``bastion playbooks``: list and check playbooks, run a drill, print the law-enforcement packet."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.automation.playbooks import service
from bastion.automation.playbooks.config import (
    check_playbook_references,
    load_library,
    read_playbook_file,
)
from bastion.automation.playbooks.packet import render_packet
from bastion.automation.playbooks.plan import load_plan
from bastion.automation.playbooks.runtime import PlaybookRuntime
from bastion.automation.playbooks.schemas import RunReport
from bastion.cli.checks import print_reference_errors, reference_catalog, unchecked_note
from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors, settings_for
from bastion.core.context import Context
from bastion.core.errors import ConfigError, NotFound
from bastion.hub import Hub
from bastion.notify.runtime import runtime_for as notify_runtime_for
from bastion.site import service as site_service
from bastion.site.schemas import Site

app = typer.Typer(
    help="Emergency playbooks: list, check, drill, law-enforcement packet.", no_args_is_help=True
)
SiteOption = Annotated[str | None, typer.Option("--site", help="Site id (default: the only one).")]


def _folders(data_dir: Path | None) -> list[Path]:
    return [settings_for(data_dir).data_dir / "playbooks"]


@app.command("list")
@one_line_errors
def list_playbooks(data_dir: DataDirOption = None) -> None:
    """List the shipped and edited playbooks."""
    errors: list[ConfigError] = []
    library = load_library(_folders(data_dir), errors=errors)
    table = Table("id", "name", "steps", "source")
    for pid, loaded in library.items():
        source = "shipped" if loaded.shipped else loaded.source
        table.add_row(pid, loaded.config.name, str(len(loaded.config.steps)), source)
    console.print(table)
    for error in errors:
        console.print(f"[red]not loaded[/]: {error}")


@app.command()
@one_line_errors
def check(
    file: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    site: Annotated[
        list[Path] | None,
        typer.Option(
            "--site", help="Site YAML to check references against (default: the data directory's)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Validate a playbook: schema, templates, and every zone, door, camera and call tree named.

    References are checked against the sites given with --site (else the data
    directory's) and the call trees and templates in the data directory's database; a
    call tree must also reach someone (an active contact with a channel).
    """
    loaded = read_playbook_file(file)
    catalog = reference_catalog(site, data_dir)
    errors = check_playbook_references(loaded.config, catalog, source=loaded.source, raw=loaded.raw)
    if errors:
        print_reference_errors(errors)
    playbook = loaded.config
    console.print(
        f"{file}: playbook {playbook.id!r} is valid ({len(playbook.steps)} steps)"
        f"{unchecked_note(catalog, data_dir)}"
    )


def _site(hub: Hub, site_id: str | None) -> Site:
    with hub.db.sessions() as session:
        sites = site_service.load_all(session=session)
    if site_id is None and len(sites) == 1:
        return next(iter(sites.values()))
    if site_id is None or site_id not in sites:
        raise NotFound(f"give --site (known: {', '.join(sorted(sites)) or 'none'})")
    return sites[site_id]


async def _drill(hub: Hub, name: str, site: Site, zone: str | None) -> RunReport:
    hub.extras["sites"] = {site.site.id: site}
    runtime = PlaybookRuntime(hub)
    run = await runtime.start_run(
        name, site_id=site.site.id, zone_id=zone, drill=True, context=Context(actor="cli")
    )
    await notify_runtime_for(hub).drain()
    notify_runs = await runtime.notify_runs(run.id)
    now = hub.clock.now()
    return await runtime.read(
        lambda s: service.run_report(
            session=s,
            run=service.get_run(session=s, run_id=run.id),
            notify_runs=notify_runs,
            now=now,
        )
    )


@app.command()
@one_line_errors
def drill(
    name: Annotated[str, typer.Argument(help="Playbook id, e.g. fire.")],
    site: SiteOption = None,
    zone: Annotated[str | None, typer.Option(help="Zone the exercise is in.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start a drill (nothing sent, no door moved) and print its automatic steps and gaps."""
    with hub_for(data_dir) as hub:
        report = asyncio.run(_drill(hub, name, _site(hub, site), zone))
    run = report.run
    console.print(f"drill {run.id} of {run.playbook_name} started; steps:")
    for step in run.steps:
        console.print(f"  {step.status:9} {step.step_id}: {step.detail or step.title}")
    console.print("Complete the manual steps in the console; the report lists what is left.")


@app.command()
@one_line_errors
def packet(
    out: Annotated[Path, typer.Option("--out", help="Where to write the PDF.")],
    site: SiteOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the law-enforcement packet (site plan, key holders, cameras, hazards) as PDF."""
    with hub_for(data_dir) as hub:
        target = _site(hub, site)
        plan = load_plan(hub.settings.data_dir, target)
        pdf = render_packet(target, plan, generated_at=hub.clock.now())
    out.write_bytes(pdf)
    note = "" if plan is not None else " (no emergency plan on file: contacts and hazards missing)"
    console.print(f"wrote {out} ({len(pdf)} bytes){note}")
