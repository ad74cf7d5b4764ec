"""``bastion cluster``: run an edge or central node, show the nodes and their lag, check chains."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.common import (
    DataDirOption,
    console,
    err_console,
    hub_for,
    one_line_errors,
    settings_for,
)
from bastion.cluster.names import DEFAULT_PREFIX, check_token
from bastion.cluster.runtime import ClusterSettings, attach_edge
from bastion.cluster.status import node_status, verify_node
from bastion.core.errors import ConfigError
from bastion.hub import Hub

app = typer.Typer(
    help="Multi-site operation: edge nodes per site, central nodes, NATS JetStream between.",
    no_args_is_help=True,
)
BusOption = Annotated[
    str | None, typer.Option("--bus", envvar="BASTION_BUS_URL", help="NATS URL (nats://host:4222).")
]
NodeOption = Annotated[
    str | None, typer.Option("--node", envvar="BASTION_NODE_ID", help="This node's unique name.")
]
PrefixOption = Annotated[
    str, typer.Option("--prefix", envvar="BASTION_BUS_PREFIX", help="Subject and stream prefix.")
]
HostOption = Annotated[str | None, typer.Option(help="Address the local console listens on.")]
PortOption = Annotated[int | None, typer.Option(help="TCP port of the local console.")]


def _require_bus(bus: str | None) -> str:
    if not bus:
        raise ConfigError("say which NATS server to use: --bus nats://HOST:4222 or BASTION_BUS_URL")
    return bus


@app.command()
@one_line_errors
def edge(
    site: Annotated[str, typer.Option("--site", help="The site this edge serves.")],
    bus: BusOption = None,
    node: NodeOption = None,
    prefix: PrefixOption = DEFAULT_PREFIX,
    simulate: Annotated[bool, typer.Option(help="Run simulated readers and doors.")] = False,
    data_dir: DataDirOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run one site's edge: integrations, access engine and local ledger, deciding offline too."""
    from bastion.server import run_server

    url = _require_bus(bus)
    check_token(site, "site id")
    node_id = check_token(node or f"edge-{site}", "node id")
    settings = settings_for(data_dir)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}

    def prepare(hub: Hub) -> None:
        if site not in hub.extras.get("sites", {}):
            raise ConfigError(
                f"site {site!r} is not loaded here; import it with 'bastion site import'"
            )
        attach_edge(hub, site_id=site, url=url, node_id=node_id, prefix=prefix)

    console.print(f"edge {node_id} of {site}: events to {url}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_server(
                settings.model_copy(update=updates),
                simulate=simulate,
                site_id=site,
                osdp=False,
                prepare=prepare,
            )
        )
    console.print("edge stopped")


@app.command()
@one_line_errors
def central(
    bus: BusOption = None,
    node: NodeOption = None,
    prefix: PrefixOption = DEFAULT_PREFIX,
    data_dir: DataDirOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run a central node: API, console, and every site's events into this database.

    The same as ``bastion serve`` with BASTION_BUS_URL set.
    """
    from bastion.server import run_server

    os.environ["BASTION_BUS_URL"] = _require_bus(bus)
    os.environ["BASTION_BUS_PREFIX"] = check_token(prefix, "bus prefix")
    if node:
        os.environ["BASTION_NODE_ID"] = check_token(node, "node id")
    settings = settings_for(data_dir)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    console.print(f"central node {ClusterSettings().node_id}: events from {bus}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_server(settings.model_copy(update=updates), simulate=False))
    console.print("central node stopped")


@app.command()
@one_line_errors
def status(
    data_dir: DataDirOption = None,
    bus: BusOption = None,
    prefix: PrefixOption = DEFAULT_PREFIX,
) -> None:
    """Show sites, edges (connected, backlog, lag), central nodes and the consumer's queue."""
    with hub_for(data_dir) as hub:
        nodes = node_status(hub.db)
    table = Table(
        "node",
        "role",
        "site",
        "connected",
        "head",
        "stored",
        "backlog",
        "lag",
        "last command",
        "problem",
    )
    for n in nodes:
        table.add_row(
            n.node_id,
            n.role,
            n.site_id or "",
            "yes" if n.connected else "[red]no[/]",
            str(n.head_seq) if n.role == "edge" else "",
            str(n.received_seq) if n.role == "edge" else "",
            str(n.backlog) if n.role == "edge" else "",
            str(n.lag) if n.role == "edge" else "",
            f"{n.last_command_ms:.0f} ms" if n.last_command_ms is not None else "",
            n.problem or "",
        )
    if nodes:
        console.print(table)
    else:
        console.print("no cluster nodes have been seen (single-process mode)")
    if bus:
        pending = asyncio.run(_consumer_pending(bus, prefix))
        if pending is None:
            err_console.print(f"the bus at {bus} did not answer")
        else:
            console.print(f"central consumer: {pending[0]} waiting, {pending[1]} in flight")


async def _consumer_pending(url: str, prefix: str) -> tuple[int, int] | None:
    import nats

    from bastion.cluster.names import Names

    names = Names(prefix)
    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:
        return None
    try:
        info = await nc.jetstream().consumer_info(names.events_stream, names.central_durable)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)
    except Exception:
        return None
    finally:
        await nc.close()


@app.command()
@one_line_errors
def verify(data_dir: DataDirOption = None) -> None:
    """Recompute every edge's replicated chain, each on its own; exit 1 when one is broken."""
    with hub_for(data_dir) as hub:
        edges = [n for n in node_status(hub.db) if n.role == "edge"]
        checks = [verify_node(hub.db, n.node_id) for n in edges]
    if not checks:
        console.print("no edge has replicated anything here")
    for check in checks:
        line = check.describe()
        if check.ok:
            console.print(f"[green]{line}[/]", highlight=False)
        else:
            err_console.print(f"[bold red]{line}[/]", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
@one_line_errors
def demo(
    sites: Annotated[int, typer.Option(min=1, max=9, help="How many simulated sites.")] = 3,
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url",
            envvar="BASTION_DEMO_DATABASE_URL",
            help="PostgreSQL database of the central side (created when missing).",
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/bastion_cluster_demo",
    bus: Annotated[
        str, typer.Option("--bus", envvar="BASTION_BUS_URL", help="NATS URL (JetStream on).")
    ] = "nats://127.0.0.1:4222",
    prefix: PrefixOption = "bastiondemo",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps every node's data.")
    ] = Path("bastion-cluster-demo"),
    port: Annotated[int, typer.Option(help="Console port of central node 1 (node 2: +1).")] = 8600,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from an empty directory and database.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the multi-site demo: one edge process per simulated site, two central nodes, console."""
    from bastion.cluster import demo as cluster_demo

    plan = cluster_demo.DemoPlan(
        root=data_dir,
        database_url=database_url,
        bus_url=bus,
        prefix=check_token(prefix, "bus prefix"),
        sites=sites,
        port=port,
    )
    console.print("preparing the central database and the edges' data …")
    accounts = cluster_demo.prepare(plan, fresh=fresh)
    running = cluster_demo.start(plan)
    console.rule("[bold]Bastion multi-site demo")
    for item in running.processes:
        console.print(f"{item.name:<16} {item.url}/console   log: {item.log}")
    console.print(
        f"Operator:  [bold]{accounts['operator']}[/] / [bold]{accounts['operator_password']}[/]"
        " on either central console"
    )
    console.print(f"Sites:     {', '.join(plan.site_ids)} (simulated traffic); Ctrl-C stops.")
    console.print(
        f"Status:    BASTION_DATABASE_URL={database_url} "
        f"bastion cluster status --bus {bus} --prefix {plan.prefix}",
        highlight=False,
    )
    why = cluster_demo.wait(running, duration)
    console.print(f"stopping ({why}) …")
    codes = running.stop()
    for name, code in codes:
        console.print(f"{name:<16} exit {code}")
    if why.endswith(")"):  # a node exited on its own
        raise typer.Exit(1)
    console.print("demo stopped")
