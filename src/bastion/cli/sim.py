"""The ``bastion sim`` commands: simulated field devices that speak the real protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Simulated field devices (real protocols, for demos and tests).")


@app.callback()
def _sim() -> None:
    """Run simulated devices."""


@app.command()
def reader(
    address: Annotated[
        list[int] | None, typer.Option("--address", "-a", help="PD address (repeat for more).")
    ] = None,
    count: Annotated[int, typer.Option(help="Readers at addresses 1..N (if no --address).")] = 1,
    baud: Annotated[int, typer.Option(help="Line speed the pty is paced at.")] = 9600,
    link: Annotated[
        Path | None, typer.Option(help="Create this symlink to the pty (a stable port path).")
    ] = None,
    tcp: Annotated[str | None, typer.Option(help="Listen on HOST:PORT instead of a pty.")] = None,
    key_dir: Annotated[
        Path | None, typer.Option(help="Keep reader keys here across restarts (else install mode).")
    ] = None,
    plain: Annotated[
        bool, typer.Option("--plain", help="Readers without secure channel support.")
    ] = False,
    no_pace: Annotated[bool, typer.Option("--no-pace", help="Do not add wire time.")] = False,
    verbose: Annotated[bool, typer.Option("-v", help="Show libosdp's own log.")] = False,
) -> None:
    """Run libosdp readers on one baud-paced line; type 'help' at the prompt."""
    from bastion.integrations.osdp.simreader import serve

    addresses = list(address) if address else list(range(1, count + 1))
    endpoint = None
    if tcp:
        host, _, port = tcp.rpartition(":")
        endpoint = (host or "127.0.0.1", int(port))
    serve(
        addresses=addresses,
        baud=baud,
        pty_link=link,
        tcp=endpoint,
        key_dir=key_dir,
        plain=plain,
        pace=not no_pace,
        verbose=verbose,
    )


def main() -> None:
    """Run the command group (``python -m bastion.cli.sim``)."""
    app()


if __name__ == "__main__":
    main()
