"""``bastion ledger``: verify the chain and its signed checkpoints, write one, manage the keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bastion.cli.common import DataDirOption, console, err_console, hub_for, one_line_errors
from bastion.core.errors import ConfigError, IntegrityError
from bastion.hub import Hub
from bastion.store.anchor import Anchor, verify_anchored
from bastion.store.anchor.findings import shown_time
from bastion.store.anchor.sinks import RemoteError

app = typer.Typer(help="Inspect and verify the tamper-evident ledger.", no_args_is_help=True)
keys_app = typer.Typer(help="The keys that sign ledger checkpoints.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _anchor(hub: Hub) -> Anchor:
    if hub.anchor is None:
        raise ConfigError("no checkpoint store is configured")
    return hub.anchor


@app.command()
@one_line_errors
def verify(
    data_dir: DataDirOption = None,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoints",
            help="Another copy of the checkpoint log to check as well (repeatable).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write any outbox, recompute the chain, check every checkpoint copy; exit 1 on a change."""
    with hub_for(data_dir) as hub:
        hub.ledger.drain_outbox()
        waiting = hub.ledger.backlog
        report = verify_anchored(
            ledger=hub.ledger, anchor=hub.anchor, extra_logs=tuple(checkpoints or ())
        )
    if waiting:
        err_console.print(f"{waiting} ledger entries wait in the local outbox for the database")
    for line in report.lines():
        if line.startswith("TAMPERED") or "BROKEN" in line:
            err_console.print(f"[bold red]{line}[/]", soft_wrap=True, highlight=False)
        elif line.startswith("warning"):
            err_console.print(f"[yellow]{line}[/]", soft_wrap=True, highlight=False)
        else:
            console.print(f"[green]{line}[/]" if report.ok else line, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def anchor_now(anchor: Anchor) -> None:
    """Write a checkpoint of the head now (making the key if needed) and send it on."""
    try:
        anchor.prepare(create=True)
        record = anchor.checkpoint(force=True)
    except IntegrityError as exc:
        err_console.print(f"[bold red]checkpoint refused:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot write the checkpoint log: {exc}; set BASTION_CHECKPOINT_DIR to a "
            "writable directory outside the data directory"
        ) from None
    if record is not None:
        console.print(
            f"checkpoint at seq {record.seq} signed by key {record.key_id}, "
            f"written to {anchor.log.path}"
        )
    _send(anchor)


def _send(anchor: Anchor) -> None:
    remote = anchor.remote
    if remote is None:
        return
    try:
        sent = anchor.deliver()
    except RemoteError as exc:
        err_console.print(
            f"[yellow]warning:[/] not yet delivered to {remote.remote.display} ({exc}); "
            "the server retries",
            soft_wrap=True,
        )
        return
    console.print(f"sent {sent} record(s) to {remote.remote.display}")


@app.command()
@one_line_errors
def checkpoint(data_dir: DataDirOption = None) -> None:
    """Sign the ledger's head now and append it to the checkpoint log (and the remote)."""
    with hub_for(data_dir) as hub:
        anchor_now(_anchor(hub))


@keys_app.command("list")
@one_line_errors
def list_keys(data_dir: DataDirOption = None) -> None:
    """Show every checkpoint signing key, current and retired, with its public key."""
    with hub_for(data_dir) as hub:
        keys = _anchor(hub).keys()
    console.print(f"ledger {keys.ledger_id}, keys in {keys.path}:", highlight=False)
    for key in keys.keys:
        status = f"retired {shown_time(key.retired)}" if key.retired else "current"
        endorsed = (
            f", endorsed by {key.record.previous_key_id}" if key.record.previous_key_id else ""
        )
        console.print(
            f"  {key.key_id}  {status}; created {shown_time(key.record.created)}{endorsed}; "
            f"Ed25519 public key {key.record.public_key}",
            highlight=False,
        )


@keys_app.command("rotate")
@one_line_errors
def rotate_keys(data_dir: DataDirOption = None) -> None:
    """Replace the signing key: checkpoint, make a new key endorsed by the old, record it."""
    with hub_for(data_dir) as hub:
        anchor = _anchor(hub)
        try:
            record = anchor.rotate()
        except IntegrityError as exc:
            err_console.print(f"[bold red]rotation refused:[/] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(
            f"new signing key {record.key_id} (replaces {record.previous_key_id}); "
            f"recorded in the ledger and in {anchor.log.path}"
        )
        _send(anchor)


@app.command()
@one_line_errors
def tail(
    limit: Annotated[int, typer.Option("-n", help="How many events.", min=1, max=10_000)] = 20,
    site: Annotated[str | None, typer.Option(help="Site id (default: the only site).")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this site-local time, e.g. 2026-12-01T08:00.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Until this site-local time.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="access, doors, alarms, devices, video, people, …")
    ] = None,
    zone: Annotated[str | None, typer.Option(help="Zone id.")] = None,
    door: Annotated[str | None, typer.Option(help="Door id.")] = None,
    person: Annotated[str | None, typer.Option(help="Part of a person's name.")] = None,
    outcome: Annotated[str | None, typer.Option(help="granted or denied.")] = None,
    text: Annotated[str | None, typer.Option(help="Words in the event.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show a site's newest events with names, outcomes and the site's time; filters narrow it."""
    from bastion.search import service
    from bastion.site import service as site_service

    params = {"since": since, "until": until, "zone": zone, "door": door}
    params |= {"person": person, "outcome": outcome, "text": text}
    with hub_for(data_dir) as hub:
        with hub.db.sessions() as session:
            sites = site_service.load_all(session=session)
        if site is None and len(sites) == 1:
            site = next(iter(sites))
        if site not in sites:
            known = ", ".join(sorted(sites)) or "none; import one with 'bastion site import'"
            raise ConfigError(f"name the site with --site (sites: {known})")
        chosen = sites[site]
        filters = service.filters_from(
            {k: v for k, v in params.items() if v is not None}, kind or [], chosen
        )
        lines = service.search_lines(hub, chosen, filters, limit)
    zone_name = service.site_zone(chosen).key
    table = Table(title=f"{chosen.site.name} — newest first, {zone_name} time")
    for column in ("time", "event", "what", "where", "who", "outcome", "seq"):
        table.add_column(column)
    for line in lines:
        table.add_row(
            line.local_time,
            line.type,
            escape(line.what),
            escape(line.where),
            escape(line.who),
            line.outcome,
            str(line.seq),
        )
    console.print(table)
