"""Run the API and console with uvicorn, plus the integrations of this node."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging

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


async def run_server(
    settings: Settings,
    *,
    simulate: bool,
    site_id: str | None = None,
    duration: float | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C) or until ``duration`` seconds have passed."""
    hub = prepare_hub(settings)
    if simulate:
        simulator = SimulatorIntegration()
        sites = hub.extras["sites"]
        target = site_id or next(iter(sites), None)
        if target is not None:

            async def start() -> None:
                await simulator.setup(hub, SimulatorConfig(site_id=target))

            hub.extras.setdefault("on_start", []).append(start)
            hub.extras.setdefault("on_stop", []).append(simulator.unload)
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
