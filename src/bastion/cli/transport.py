"""``bastion transport``: vehicles, trips and a simulated delivery over OwnTracks.

Commands that change data act as ``cli`` in the ledger; the running server's transport
runtime picks up departures through the bus (or at its next start).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    site_zones,
    zone_for,
)
from bastion.core.sitetime import site_time
from bastion.transport import drive as drive_sim
from bastion.transport import service

app = typer.Typer(help="Transport: vehicles, trips, simulated GPS.", no_args_is_help=True)
SiteOption = Annotated[str, typer.Option("--site", help="Site id.")]


@app.command("vehicles")
@one_line_errors
def vehicles(site: SiteOption, data_dir: DataDirOption = None) -> None:
    """List the site's vehicles and their trackers."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = service.list_vehicles(session=session, site_id=site)
        table = Table(title=f"Vehicles at {site}")
        for column in ("Id", "Name", "Plate", "Unmarked", "Tracker"):
            table.add_column(column)
        for v in rows:
            table.add_row(v.id, v.name, v.plate, "yes" if v.unmarked else "no", v.tracker_id)
    console.print(table)


@app.command("trips")
@one_line_errors
def trips(site: SiteOption, data_dir: DataDirOption = None) -> None:
    """List the site's trips (site time, zone named) with their alarms."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        rows = service.list_trips(session=session, site_id=site)
        zone = zone_for(site_zones(session), site)
        table = Table(title=f"Trips from {site}")
        for column in ("Id", "Status", "Destination", "Departs", "Alarms"):
            table.add_column(column)
        for t in rows:
            table.add_row(
                t.id,
                t.status,
                t.destination,
                site_time(t.depart_at, zone),
                ", ".join(t.raised or {}),
            )
    console.print(table)


@app.command("drive")
@one_line_errors
def drive(
    device: Annotated[str, typer.Option(help="OwnTracks user/device of the vehicle's tracker.")],
    broker: Annotated[str, typer.Option(help="MQTT broker host:port.")] = "127.0.0.1:1883",
    every: Annotated[float, typer.Option(help="Seconds between fixes.")] = 10.0,
    detour_at: Annotated[
        int | None, typer.Option(help="Fix number where a 350 m detour starts.")
    ] = 12,
    stop_at: Annotated[int | None, typer.Option(help="Fix number where a long stop happens.")] = 25,
    stop_fixes: Annotated[int, typer.Option(help="Fixes sent while stopped.")] = 70,
) -> None:
    """Drive the demo's Springfield route in real time, publishing OwnTracks fixes."""
    host, _, port = broker.partition(":")
    if "/" not in device:
        raise typer.BadParameter("the device is user/device, as in the OwnTracks topic")
    plan = drive_sim.Plan(
        every_s=every, detour_from=detour_at, stop_at=stop_at, stop_fixes=stop_fixes
    )
    sent = asyncio.run(
        drive_sim.drive(host, int(port or 1883), device, drive_sim.SPRINGFIELD_ROUTE, plan)
    )
    console.print(f"sent {sent} OwnTracks fixes for {device}")
