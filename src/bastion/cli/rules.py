"""``bastion rules``: check rule files and dry-run rules over the recorded ledger."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.automation.config import load_rules, load_rules_file
from bastion.automation.engine import RuleEngine
from bastion.automation.replay import ledger_events, replay
from bastion.automation.state import RuleEnv
from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

app = typer.Typer(help="Check and replay cause-and-effect rules.", no_args_is_help=True)

SiteOption = Annotated[
    list[Path] | None,
    typer.Option("--site", help="Site YAML to check references against (repeatable)."),
]


def _sites(paths: list[Path] | None) -> dict[str, Site]:
    sites = [load_site_file(p) for p in paths or []]
    return {s.site.id: s for s in sites}


@app.command()
@one_line_errors
def check(
    file: Annotated[Path, typer.Argument(help="Rules YAML file.")],
    site: SiteOption = None,
) -> None:
    """Validate a rules file: schema, unknown actions, cycles and (with --site) references."""
    ruleset = load_rules_file(file)
    engine = RuleEngine(RuleEnv(sites=_sites(site)))
    engine.load(ruleset.rules)
    console.print(f"[green]{file}: {len(ruleset.rules)} rule(s) OK[/]")


@app.command(name="replay")
@one_line_errors
def replay_cmd(
    rules: Annotated[list[Path], typer.Argument(help="Rules files or directories.")],
    since: Annotated[datetime | None, typer.Option(help="Only events from (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Only events before (UTC).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many events.")] = None,
    all_traces: Annotated[
        bool, typer.Option("--all", help="Also list evaluations whose conditions failed.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Dry-run rules over recorded ledger events and show what they would have done."""
    configs = load_rules(rules)
    with hub_for(data_dir) as hub:
        with hub.db.sessions() as session:
            sites = site_service.load_all(session=session)
        events = ledger_events(hub.db, since=_aware(since), until=_aware(until), limit=limit)
        traces = asyncio.run(replay(configs, events, sites=sites))
    table = Table()
    for column in ("started (UTC)", "rule", "event", "outcome", "would emit"):
        table.add_column(column)
    shown = 0
    for trace in traces:
        if trace.outcome != "dry_run" and not all_traces:
            continue
        shown += 1
        emitted = ", ".join(f"{e['type']}({_brief(e['payload'])})" for e in trace.emitted)
        table.add_row(
            trace.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            trace.rule_id,
            trace.event_id or "schedule",
            trace.outcome,
            emitted,
        )
    console.print(table)
    console.print(f"{len(traces)} evaluation(s), {shown} shown; nothing was published.")


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _brief(payload: dict[str, object]) -> str:
    keys = ("door_id", "command", "zone_ids", "camera_id", "preset", "alarm_type", "level")
    return " ".join(f"{k}={payload[k]}" for k in keys if k in payload)
