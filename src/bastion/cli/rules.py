"""``bastion rules``: check rule files and dry-run rules over the recorded ledger."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.automation.config import check_rule_references, load_rules, load_rules_file
from bastion.automation.engine import RuleEngine
from bastion.automation.replay import ledger_events, replay
from bastion.automation.state import RuleEnv
from bastion.cli.checks import print_reference_errors, reference_catalog, unchecked_note
from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    zone_for,
)
from bastion.core.sitetime import site_time, site_zone
from bastion.site import service as site_service

app = typer.Typer(help="Check and replay cause-and-effect rules.", no_args_is_help=True)

SiteOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--site", help="Site YAML to check references against (default: the data directory's)."
    ),
]


@app.command()
@one_line_errors
def check(
    file: Annotated[Path, typer.Argument(help="Rules YAML file.")],
    site: SiteOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Validate a rules file: schema, cycles, and every door, zone, camera and call tree named.

    References are checked against the sites given with --site (else the data
    directory's) and the call trees and templates in the data directory's database.
    """
    ruleset = load_rules_file(file)
    catalog = reference_catalog(site, data_dir)
    errors = check_rule_references(ruleset, catalog)
    if errors:
        print_reference_errors(errors)
    engine = RuleEngine(RuleEnv(sites=dict(catalog.sites)))
    engine.env.use_catalog(catalog)
    engine.load(ruleset.rules)
    console.print(
        f"[green]{file}: {len(ruleset.rules)} rule(s) OK[/]{unchecked_note(catalog, data_dir)}"
    )


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
    zones = {sid: site_zone(s.site.timezone) for sid, s in sites.items()}
    table = Table()
    for column in ("started (site time)", "rule", "event", "outcome", "would emit"):
        table.add_column(column)
    shown = 0
    for trace in traces:
        if trace.outcome != "dry_run" and not all_traces:
            continue
        shown += 1
        emitted = ", ".join(f"{e['type']}({_brief(e['payload'])})" for e in trace.emitted)
        table.add_row(
            site_time(trace.started_at, zone_for(zones), seconds=True),
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
