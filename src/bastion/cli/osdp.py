"""The ``bastion osdp`` commands: reader keys (status, rotation, reset) and link status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.common import DataDirOption, console, one_line_errors, settings_for
from bastion.hub import keyring_for
from bastion.osdp_keys import EncryptedKeyFile, key_store_for

app = typer.Typer(help="OSDP readers: secure-channel keys and status.", no_args_is_help=True)


def _store(data_dir: Path | None) -> EncryptedKeyFile:
    settings = settings_for(data_dir)
    return key_store_for(settings.data_dir, keyring_for(settings, create=False))


@app.command()
@one_line_errors
def keys(
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List readers with a key (never the key itself)."""
    summary = _store(data_dir).summary()
    if as_json:
        console.print_json(json.dumps(summary))
        return
    if not summary:
        console.print("no reader keys yet (readers are keyed when the control panel meets them)")
    for reader_id, facts in summary.items():
        state = "keyed" if facts["keyed"] else "not keyed"
        extra = []
        if facts["pending"]:
            extra.append("key being installed")
        if facts["rotate"]:
            extra.append("rotation requested")
        if facts["installed"]:
            extra.append(f"since {facts['installed']}")
        console.print(f"{reader_id}: {state}" + (f" ({', '.join(extra)})" if extra else ""))


@app.command()
@one_line_errors
def rotate(
    readers: Annotated[
        list[str] | None, typer.Argument(help="Reader ids (default: all keyed).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Ask the running control panel to install a fresh random key on readers."""
    store = _store(data_dir)
    targets = list(readers or [r for r, f in store.summary().items() if f["keyed"]])
    for reader_id in targets:
        store.request_rotation(reader_id)
        console.print(f"{reader_id}: rotation requested")
    if not targets:
        console.print("no keyed readers")


@app.command()
@one_line_errors
def forget(
    reader: Annotated[str, typer.Argument(help="Reader id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Forget a reader's key (after the reader itself was reset to install mode)."""
    _store(data_dir).forget(reader)
    console.print(f"{reader}: key forgotten; it will be keyed again in install mode")


@app.command()
@one_line_errors
def reencrypt(data_dir: DataDirOption = None) -> None:
    """Re-encrypt stored reader keys under the newest master key."""
    count = _store(data_dir).reencrypt()
    console.print(f"re-encrypted {count} key(s)")
