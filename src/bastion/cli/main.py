"""The ``bastion`` command: init, serve, demo, and the command groups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.common import DataDirOption, console, fail, one_line_errors, settings_for
from bastion.cli.lazy import LazyGroup, show_flags_as_flags
from bastion.core.errors import BastionError, ConfigError

# Each group's module (and the libraries behind it) is imported only when the group runs.
LazyGroup.groups = {
    "site": ("bastion.cli.site", "Validate, import and export site models."),
    "ledger": ("bastion.cli.ledger", "Inspect and verify the tamper-evident ledger."),
    "users": (
        "bastion.cli.users",
        "Manage operator accounts, roles, authenticators and API tokens.",
    ),
    "access": ("bastion.cli.access", "Access control: explain, who-can, entries, enrolment."),
    "alarms": ("bastion.cli.alarms", "Work alarms and incidents."),
    "rules": ("bastion.cli.rules", "Check and replay cause-and-effect rules."),
    "notify": (
        "bastion.cli.notify",
        "Mass notification: contacts, call trees, templates, runs.",
    ),
    "playbooks": (
        "bastion.cli.playbooks",
        "Emergency playbooks: list, check, drill, law-enforcement packet.",
    ),
    "osdp": ("bastion.cli.osdp", "OSDP readers: secure-channel keys and status."),
    "sim": ("bastion.cli.sim", "Simulated field devices (real protocols, for demos and tests)."),
    "analyze": (
        "bastion.cli.analyze",
        "Evaluate the layered defence: EASI P(I), most vulnerable path, what-if, CARVER.",
    ),
    "people": ("bastion.cli.people", "People: visitors and employees."),
    "cash": ("bastion.cli.cash", "Cash: tills, safes, POS imports, exceptions, reports."),
    "compliance": (
        "bastion.cli.compliance",
        "Compliance: state rule packs, checks and mock audits.",
    ),
    "upkeep": ("bastion.cli.upkeep", "Upkeep: recording gaps in a segment folder, camera views."),
    "transport": ("bastion.cli.transport", "Transport: vehicles, trips, simulated GPS."),
    "cluster": (
        "bastion.cli.cluster",
        "Multi-site operation: edge nodes per site, central nodes, NATS JetStream between.",
    ),
    "inventory": (
        "bastion.cli.inventory",
        "Inventory: Metrc / CCRS files, blind counts, reconciliation.",
    ),
}

show_flags_as_flags()
app = typer.Typer(
    name="bastion",
    cls=LazyGroup,
    help="Bastion: security operations for high-risk, regulated facilities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log more.")] = False,
) -> None:
    """Configure logging for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
@one_line_errors
def init(
    data_dir: DataDirOption = None,
    site: Annotated[Path | None, typer.Option(help="Site YAML to import.")] = None,
) -> None:
    """Create the data directory, its secret key and the schema; optionally import a site."""
    from bastion.cli import ledger as ledger_cli
    from bastion.core.context import Context
    from bastion.hub import open_hub
    from bastion.site import service as site_service
    from bastion.site.loader import load_site_file

    settings = settings_for(data_dir, find_demo=False)
    site_model = load_site_file(site) if site is not None else None
    created = not settings.data_dir.exists()
    try:
        hub = open_hub(settings, migrate=True, create_key=True)
    except BastionError:
        if created and settings.data_dir.exists():
            shutil.rmtree(settings.data_dir)
        raise
    try:
        if site_model is not None:
            with hub.unit_of_work() as session:
                record = site_service.import_site(
                    session=session,
                    site=site_model,
                    context=Context(actor="cli"),
                    now=hub.clock.now(),
                )
            console.print(f"imported site {record.id} revision {record.revision}")
        if hub.anchor is not None:
            try:
                ledger_cli.anchor_now(hub.anchor)
            except BastionError as exc:
                console.print(f"[yellow]warning:[/] the ledger is not anchored yet: {exc}")
    finally:
        hub.close()
    console.print(f"data directory ready: {settings.data_dir.resolve()}")


@app.command()
@one_line_errors
def serve(
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Integrations to run (YAML); default: <data-dir>/bastion.yaml when present.",
            envvar="BASTION_CONFIG",
        ),
    ] = None,
) -> None:
    """Run the API and the operator console, with the integrations of the configuration file."""
    from bastion.server import run_server

    settings = settings_for(data_dir)
    options = {"host": host, "port": port, "config": config}
    updates = {k: v for k, v in options.items() if v is not None}
    # Ctrl-C or SIGTERM: the server has shut down cleanly by the time this returns.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_server(settings.model_copy(update=updates), simulate=False))
    console.print("server stopped")


@app.command()
@one_line_errors
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its data.")
    ] = Path("bastion-demo"),
    port: Annotated[int, typer.Option(help="TCP port of the console.")] = 8600,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from an empty data directory.")
    ] = False,
    site: Annotated[Path | None, typer.Option(help="Site YAML (default: the dispensary).")] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the demo: server, console and simulated devices on the embedded database."""
    from bastion.demo import attach_demo_services, demo_settings, prepare_demo
    from bastion.server import run_server

    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    settings = demo_settings(settings_for(data_dir), port=port)
    info = prepare_demo(settings, site_file=site)
    console.rule("[bold]Bastion demo")
    console.print(f"Console:   http://{settings.host}:{settings.port}/console")
    console.print(
        f"Operator:  [bold]{info.operator_user}[/] / [bold]{info.operator_password}[/]  (no authenticator code needed)"
    )
    console.print(
        f"Admin:     [bold]{info.admin_user}[/] / [bold]{info.admin_password}[/]  + TOTP, "
        f"secret [bold]{info.admin_totp_secret}[/]"
    )
    console.print(f"Site:      {info.site_name} — simulated traffic runs; Ctrl-C stops.")
    console.print(f"Data:      {data_dir.resolve()} (demo credentials are for this demo only)")
    console.print(
        f"Mail:      alerts go to a local catcher on 127.0.0.1:{info.smtp_port} "
        f"(saved in {data_dir.resolve() / 'mail'}); panic button on /console/emergency"
    )
    # Ctrl-C is how the demo is meant to end; the server has shut down cleanly by then.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_server(
                settings,
                simulate=True,
                site_id=info.site_id,
                duration=duration,
                prepare=attach_demo_services,
            )
        )
    console.print("demo stopped")


def _examples_dir() -> Path:
    """Return the folder with the example sites (repository checkout or cwd)."""
    candidates = [Path(__file__).resolve().parents[3] / "examples", Path.cwd() / "examples"]
    for candidate in candidates:
        if (candidate / "dispensary.yaml").exists():
            return candidate
    raise ConfigError("cannot find examples/dispensary.yaml; pass --site FILE")


def main() -> None:
    """Run the CLI (for ``python -m bastion``)."""
    try:
        app()
    except BastionError as exc:  # pragma: no cover - commands already wrap errors
        fail(str(exc))
