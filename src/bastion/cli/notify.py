"""``bastion notify``: contacts, call trees and templates from YAML; start, watch and ack runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import BaseModel
from rich.table import Table

from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    site_zones,
    zone_for,
)
from bastion.core import yamlbounds
from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.core.sitetime import site_time
from bastion.hub import Hub
from bastion.notify import service
from bastion.notify.runtime import NotifyRuntime
from bastion.notify.schemas import CallTreeCreate, CallTreeRun, ContactCreate, TemplateCreate

app = typer.Typer(
    help="Mass notification: contacts, call trees, templates, runs.", no_args_is_help=True
)
OperatorOption = Annotated[str, typer.Option("--operator", help="Operator reference.")]


def _context(operator: str) -> Context:
    return Context(actor=operator)


@app.command()
@one_line_errors
def load(
    file: Annotated[Path, typer.Argument(help="YAML with contacts:, trees:, templates: lists.")],
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Create the contacts, call trees and templates of a YAML file (all or nothing)."""
    try:
        data: Any = yamlbounds.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(file)) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with contacts, trees, templates", file=str(file))
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        now, context = hub.clock.now(), _context(operator)
        counts: dict[str, int] = {}
        steps: list[tuple[str, type[BaseModel], Callable[..., object]]] = [
            ("templates", TemplateCreate, service.save_template),
            ("contacts", ContactCreate, service.create_contact),
            ("trees", CallTreeCreate, service.create_tree),
        ]
        for key, model, save in steps:
            for index, item in enumerate(data.get(key) or []):
                try:
                    parsed = model.model_validate(item)
                    save(session=session, data=parsed, context=context, now=now)
                except ConfigError as exc:
                    raise ConfigError(
                        exc.message, file=str(file), field=f"{key}[{index}]"
                    ) from None
                except ValueError as exc:
                    raise ConfigError(
                        str(exc).splitlines()[0] + ": " + str(exc).splitlines()[-1].strip(),
                        file=str(file),
                        field=f"{key}[{index}]",
                    ) from None
                counts[key] = counts.get(key, 0) + 1
    console.print(", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing to load")


@app.command("load-templates")
@one_line_errors
def load_templates(operator: OperatorOption = "cli", data_dir: DataDirOption = None) -> None:
    """Add the shipped scenario templates that are not defined yet."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        rows = service.load_default_templates(
            session=session, context=_context(operator), now=hub.clock.now()
        )
        names = [r.id for r in rows]
    console.print(f"added {len(names)} template(s): {', '.join(names)}" if names else "none added")


@app.command()
@one_line_errors
def contacts(data_dir: DataDirOption = None) -> None:
    """List contacts with masked channels (addresses are never shown)."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        table = Table()
        for column in ("id", "name", "role", "quiet hours", "channels"):
            table.add_column(column)
        for c in service.list_contacts(session=session):
            quiet = f"{c.quiet_start}-{c.quiet_end} {c.timezone}" if c.quiet_start else ""
            table.add_row(
                c.id, c.name, c.role, quiet, ", ".join(f"{ch.kind} {ch.hint}" for ch in c.channels)
            )
    console.print(table)


@app.command()
@one_line_errors
def trees(data_dir: DataDirOption = None) -> None:
    """List call trees with their tiers."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        for tree in service.list_trees(session=session):
            shown = service.tree_read(session=session, tree=tree)
            console.print(f"[bold]{shown.name}[/] ({shown.id})")
            for tier in shown.tiers:
                names = ", ".join(m.name for m in tier.members)
                console.print(
                    f"  tier {tier.position + 1} (ack within {tier.ack_timeout_s} s): {names}"
                )


@app.command()
@one_line_errors
def templates(data_dir: DataDirOption = None) -> None:
    """List templates."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        for t in service.list_templates(session=session):
            console.print(f"[bold]{t.id}[/] ({t.scenario}): {t.title}")


def _print_run(run: CallTreeRun, zone: tzinfo) -> None:
    flags = " [DRILL]" if run.drill else ""
    console.print(
        f"[bold]{run.title}[/]{flags} — {run.tree_name}, {run.status}, "
        f"tier {run.current_tier + 1}/{run.tier_count}"
    )
    table = Table()
    for column in ("recipient", "name", "tier", "status", "channels tried", "acknowledged"):
        table.add_column(column)
    for r in run.recipients:
        tried = ", ".join(f"{d.channel_kind or '-'}:{d.outcome}" for d in r.deliveries)
        acked = (
            f"{site_time(r.acknowledged_at, zone, seconds=True)} ({r.ack_method})"
            if r.acknowledged_at
            else ""
        )
        table.add_row(str(r.id), r.contact_name, str(r.tier + 1), r.status, tried, acked)
    console.print(table)


@app.command()
@one_line_errors
def runs(
    active: Annotated[bool, typer.Option("--active", help="Only active runs.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List the newest call-tree runs."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        zones = site_zones(session)
        for run in service.list_runs(session=session, active_only=active, limit=50):
            acked = "acknowledged" if run.acknowledged_at else run.status
            started = site_time(run.started_at, zone_for(zones, run.site_id))
            console.print(f"{run.id}  {started}  {run.tree_name}  {acked}")


@app.command()
@one_line_errors
def status(run_id: str, data_dir: DataDirOption = None) -> None:
    """Show a run: who was reached over which channel, and who has acknowledged."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        _print_run(
            service.run_status(session=session, run_id=run_id), zone_for(site_zones(session))
        )


@app.command()
@one_line_errors
def ack(
    run_id: str, recipient_id: int, operator: OperatorOption = "cli", data_dir: DataDirOption = None
) -> None:
    """Acknowledge on a recipient's behalf (e.g. after they called back)."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        service.acknowledge(
            session=session,
            run_id=run_id,
            recipient_id=recipient_id,
            method="console",
            actor=operator,
            context=_context(operator),
            now=hub.clock.now(),
        )
    console.print("acknowledged")


@app.command()
@one_line_errors
def start(
    tree: Annotated[str, typer.Argument(help="Call tree id or name.")],
    template: Annotated[str | None, typer.Option("--template", help="Template id.")] = None,
    message: Annotated[str | None, typer.Option("--message", help="Plain message.")] = None,
    var: Annotated[list[str] | None, typer.Option("--var", help="name=value (repeat).")] = None,
    drill: Annotated[bool, typer.Option("--drill", help="Send nothing; record all.")] = False,
    emergency: Annotated[bool, typer.Option("--emergency", help="Override quiet hours.")] = False,
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Start a call tree, send its first tier and show the result (no escalation wait)."""
    variables: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--var needs name=value, got {item!r}")
        variables[name.strip()] = value
    with hub_for(data_dir) as hub:
        run = asyncio.run(
            _start(hub, tree, template, message, variables, drill, emergency, operator)
        )
        with hub.db.sessions() as session:
            zone = zone_for(site_zones(session))
    _print_run(run, zone)


async def _start(
    hub: Hub,
    tree: str,
    template: str | None,
    message: str | None,
    variables: dict[str, str],
    drill: bool,
    emergency: bool,
    operator: str,
) -> CallTreeRun:
    runtime = NotifyRuntime(hub)
    run = await runtime.start_call_tree(
        tree_id=tree,
        template_id=template,
        variables=variables,
        context=_context(operator),
        drill=drill,
        emergency=emergency,
        message=message,
    )
    await runtime.drain()
    return await runtime.status(run.id)
