"""``bastion ledger``: verify the hash chain and show recent events."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.common import DataDirOption, console, err_console, hub_for, one_line_errors

app = typer.Typer(help="Inspect and verify the tamper-evident ledger.", no_args_is_help=True)


@app.command()
@one_line_errors
def verify(data_dir: DataDirOption = None) -> None:
    """Recompute the chain (after writing any outbox); exit 1 and name the first bad row."""
    with hub_for(data_dir) as hub:
        hub.ledger.drain_outbox()
        result = hub.ledger.verify()
        waiting = hub.ledger.backlog
    if waiting:
        err_console.print(f"{waiting} ledger entries wait in the local outbox for the database")
    if result.ok:
        console.print(f"[green]{result.describe()}[/]")
        return
    err_console.print(f"[bold red]{result.describe()}[/]", soft_wrap=True)
    raise typer.Exit(1)


@app.command()
@one_line_errors
def tail(
    limit: Annotated[int, typer.Option("-n", help="How many events.")] = 20,
    data_dir: DataDirOption = None,
) -> None:
    """Show the newest ledger events."""
    with hub_for(data_dir) as hub:
        rows = hub.ledger.query(limit=limit)
    table = Table()
    for column in ("seq", "time (UTC)", "type", "device", "subject", "actor"):
        table.add_column(column)
    for row in reversed(rows):
        table.add_row(
            str(row.seq),
            row.time.strftime("%Y-%m-%d %H:%M:%S"),
            row.type,
            row.device or "",
            row.subject or "",
            row.actor,
        )
    console.print(table)
