"""Run the API and console with uvicorn, plus the integrations of this node."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from bastion.api.app import create_app
from bastion.hub import Hub, open_hub
from bastion.integrations import Integration
from bastion.integrations.simulator import SimulatorConfig, SimulatorIntegration
from bastion.maintenance.runtime import SETTINGS_KEY as HEALTH_SETTINGS_KEY
from bastion.maintenance.settings import SETTINGS_KEY as UPKEEP_SETTINGS_KEY
from bastion.node_config import NodeConfig, config_path, load_node_config, verify_sites
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


def add_integrations(hub: Hub, config: NodeConfig) -> None:
    """Run the integrations of the node's configuration file with the server.

    Sites are checked now, so a wrong site id stops ``bastion serve`` with a clear error
    before it listens; each integration is set up when the app starts and unloaded when
    it stops.
    """
    verify_sites(config, set(hub.extras.get("sites", {})))
    if config.health:
        hub.extras[HEALTH_SETTINGS_KEY] = config.health
    if config.upkeep:
        hub.extras[UPKEEP_SETTINGS_KEY] = config.upkeep
    if not config.integrations:
        return
    if any(getattr(c, "type", "") == "osdp" for _, c in config.integrations):
        from bastion import osdp_keys

        osdp_keys.attach(hub)
    running: list[Integration] = []

    async def start() -> None:
        for integration, settings in config.integrations:
            await integration.setup(hub, settings)
            running.append(integration)
            _LOGGER.info("integration %s started", integration.domain)

    async def stop() -> None:
        while running:
            integration = running.pop()
            try:
                await integration.unload()
            except Exception:
                _LOGGER.exception("stopping the %s integration failed", integration.domain)

    hub.extras.setdefault("on_start", []).append(start)
    hub.extras.setdefault("on_stop", []).append(stop)


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
        from bastion import osdp_keys
        from bastion.integrations import create

        if osdp:
            osdp_keys.attach(hub)  # the simulator checks its readers' keys against it
        await simulator.setup(
            hub, SimulatorConfig(site_id=site_id, osdp_folder=folder if osdp else None)
        )
        if not osdp or simulator.readers is None:
            return
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
    path = config_path(settings.data_dir, settings.config)
    node = load_node_config(path) if path is not None else None
    hub = prepare_hub(settings)
    try:
        if node is not None:
            add_integrations(hub, node)
        if hub.anchor is not None:
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
    restore = _stop_on_sigterm()
    try:
        await server.serve()
    finally:
        restore()
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await hub.bus.close()
        hub.close()


def _stop_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM end the server like Ctrl-C; return a function that undoes it.

    Uvicorn shuts down gracefully on SIGTERM, then raises the signal again; by default that
    kills the process before the hub (ledger writer, database) is closed. As Ctrl-C, it
    unwinds through ``run_server`` instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
