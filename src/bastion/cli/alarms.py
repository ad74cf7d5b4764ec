"""``bastion alarms``: list alarms and incidents, work an alarm, show reaction times."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bastion.alarms import service
from bastion.alarms.models import OPEN_STATES
from bastion.alarms.sop import load_sops
from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    site_zones,
    zone_for,
)
from bastion.core.context import Context
from bastion.core.sitetime import site_time

app = typer.Typer(help="Work alarms and incidents.", no_args_is_help=True)
OperatorOption = Annotated[str, typer.Option("--operator", help="Operator reference.")]


@app.command(name="list")
@one_line_errors
def list_cmd(
    all_states: Annotated[bool, typer.Option("--all", help="Include closed alarms.")] = False,
    limit: Annotated[int, typer.Option("-n", help="How many.")] = 50,
    data_dir: DataDirOption = None,
) -> None:
    """Show the alarm queue, most urgent first."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = service.list_alarms(
            session=session, states=None if all_states else OPEN_STATES, limit=limit
        )
        zones = site_zones(session)
    table = Table()
    for column in ("id", "P", "state", "type", "raised (site time)", "message", "incident"):
        table.add_column(column)
    for a in rows:
        table.add_row(
            a.id,
            str(a.priority),
            a.state,
            a.alarm_type,
            site_time(a.raised_at, zone_for(zones, a.site_id), seconds=True),
            a.message,
            a.incident_id or "",
        )
    console.print(table)


@app.command()
@one_line_errors
def show(alarm_id: str, data_dir: DataDirOption = None) -> None:
    """Show one alarm with its procedure, step log and evidence."""
    sops = load_sops()
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        alarm = service.get_alarm(session=session, alarm_id=alarm_id)
        state = service.sop_progress(session=session, alarm=alarm, sops=sops)
        log = service.step_log(session=session, alarm_id=alarm_id)
        evidence = service.evidence_of(session=session, alarm_id=alarm_id)
        zone = zone_for(site_zones(session), alarm.site_id)
    console.print(
        f"[bold]{alarm.message}[/] ({alarm.alarm_type}, P{alarm.priority}, {alarm.state})"
    )
    for row in log:
        extra = f" — {row.reason}" if row.reason else ""
        console.print(
            f"  {site_time(row.at, zone, seconds=True, with_date=False)} {row.step_id}: {row.outcome} {row.answer}{extra} ({row.operator})"
        )
    if state is not None and state.current is not None:
        console.print(
            f"  next: {state.current}: {sops.get(state.sop_id).step(state.current).prompt}"
        )
    for item in evidence:
        console.print(f"  evidence {item.kind}: {item.ref}")


def _work(data_dir: object, action: str, alarm_id: str, operator: str, **kw: str) -> None:
    sops = load_sops()
    with hub_for(data_dir) as hub:  # type: ignore[arg-type]
        ctx = Context(actor=operator)
        with hub.unit_of_work() as session:
            now = hub.clock.now()
            if action == "ack":
                service.acknowledge(
                    session=session, alarm_id=alarm_id, operator=operator, context=ctx, now=now
                )
            elif action == "resolve":
                service.resolve(
                    session=session,
                    alarm_id=alarm_id,
                    operator=operator,
                    context=ctx,
                    now=now,
                    sops=sops,
                    note=kw.get("note", ""),
                )
            elif action == "false":
                service.mark_false_alarm(
                    session=session,
                    alarm_id=alarm_id,
                    operator=operator,
                    reason=kw["reason"],
                    context=ctx,
                    now=now,
                )
            elif action == "step":
                service.complete_step(
                    session=session,
                    alarm_id=alarm_id,
                    step_id=kw["step"],
                    answer=kw["answer"],
                    operator=operator,
                    context=ctx,
                    now=now,
                    sops=sops,
                )
            elif action == "skip":
                service.skip_step(
                    session=session,
                    alarm_id=alarm_id,
                    step_id=kw["step"],
                    reason=kw["reason"],
                    operator=operator,
                    context=ctx,
                    now=now,
                    sops=sops,
                )
    console.print(f"[green]{action}: done[/]")


@app.command()
@one_line_errors
def ack(alarm_id: str, operator: OperatorOption = "cli", data_dir: DataDirOption = None) -> None:
    """Acknowledge an alarm."""
    _work(data_dir, "ack", alarm_id, operator)


@app.command()
@one_line_errors
def step(
    alarm_id: str,
    step_id: str,
    answer: Annotated[str, typer.Option(help="Answer (yes/no or text).")] = "",
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Complete the current procedure step."""
    _work(data_dir, "step", alarm_id, operator, step=step_id, answer=answer)


@app.command()
@one_line_errors
def skip(
    alarm_id: str,
    step_id: str,
    reason: Annotated[str, typer.Option(help="Why (the supervisor is notified).")],
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Skip the current procedure step with a reason."""
    _work(data_dir, "skip", alarm_id, operator, step=step_id, reason=reason)


@app.command()
@one_line_errors
def resolve(
    alarm_id: str,
    note: Annotated[str, typer.Option(help="Closing note.")] = "",
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Resolve an alarm whose procedure is complete."""
    _work(data_dir, "resolve", alarm_id, operator, note=note)


@app.command(name="false-alarm")
@one_line_errors
def false_alarm(
    alarm_id: str,
    reason: Annotated[str, typer.Option(help="Why it was false.")],
    operator: OperatorOption = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Close an alarm as a false alarm."""
    _work(data_dir, "false", alarm_id, operator, reason=reason)


@app.command()
@one_line_errors
def stats(data_dir: DataDirOption = None) -> None:
    """Show operator reaction times."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        s = service.reaction_stats(session=session)
    console.print(
        f"acknowledged {s.acknowledged}: median {s.median_ack_s} s, worst {s.max_ack_s} s; "
        f"closed {s.closed}: median {s.median_resolve_s} s, worst {s.max_resolve_s} s"
    )
