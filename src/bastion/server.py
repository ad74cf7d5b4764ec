"""Run the API and console with uvicorn, plus the integrations of this node."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

import uvicorn

from bastion.api.app import create_app
from bastion.hub import Hub, open_hub
from bastion.integrations.simulator import SimulatorConfig, SimulatorIntegration
from bastion.settings import Settings
from bastion.site import service as site_service

_LOGGER = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Return True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare_hub(settings: Settings) -> Hub:
    """Open the hub and load the stored site models into it."""
    if settings.cookie_secure is None:
        # Browsers drop Secure cookies only on plain HTTP to a non-loopback host.
        settings = settings.model_copy(update={"cookie_secure": not is_loopback(settings.host)})
    hub = open_hub(settings)
    with hub.db.sessions() as session:
        hub.extras["sites"] = site_service.load_all(session=session)
    return hub


def add_simulation(hub: Hub, site_id: str, *, osdp: bool) -> None:
    """Run simulated traffic at the site; with ``osdp``, through simulated OSDP readers.

    The simulator starts one libosdp reader process per bus on a baud-paced pty, and the
    OSDP integration is the control panel on those ptys, so every badge crosses the
    real protocol, the access engine and the door supervision.
    """
    folder = hub.settings.data_dir / "osdp"
    simulator = SimulatorIntegration()
    panel: Any = None

    async def start() -> None:
        nonlocal panel
        await simulator.setup(
            hub, SimulatorConfig(site_id=site_id, osdp_folder=folder if osdp else None)
        )
        if not osdp or simulator.readers is None:
            return
        from bastion import osdp_keys
        from bastion.integrations import create

        osdp_keys.attach(hub)
        buses = [
            {"name": bus, "transport": "pty", "port": str(lines[0].link)}
            for bus, lines in sorted(simulator.readers.buses().items())
        ]
        panel, config = create({"type": "osdp", "site_id": site_id, "buses": buses})
        await panel.setup(hub, config)

    async def stop() -> None:
        if panel is not None:
            await panel.unload()
        await simulator.unload()

    hub.extras.setdefault("on_start", []).append(start)
    hub.extras.setdefault("on_stop", []).append(stop)


async def run_server(
    settings: Settings,
    *,
    simulate: bool,
    site_id: str | None = None,
    duration: float | None = None,
    osdp: bool = True,
    prepare: Callable[[Hub], object] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C) or until ``duration`` seconds have passed.

    ``prepare`` is called with the hub before the app is built (the demo adds its services).
    """
    hub = prepare_hub(settings)
    if hub.anchor is not None:
        try:
            hub.anchor.start()
        except BaseException:
            hub.close()
            raise
    if prepare is not None:
        prepare(hub)
    if simulate:
        sites = hub.extras["sites"]
        target = site_id or next(iter(sites), None)
        if target is not None:
            add_simulation(hub, target, osdp=osdp)
    app = create_app(hub)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)

    async def stop_later(seconds: float) -> None:
        await asyncio.sleep(seconds)
        server.should_exit = True

    timer = asyncio.create_task(stop_later(duration)) if duration else None
    try:
        await server.serve()
    finally:
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await hub.bus.close()
        hub.close()
