"""Fixtures for the OSDP suite: a libosdp reader bus in its own process, a hub, a small decider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bastion.core.bus import Bus
from bastion.core.events import Event
from bastion.integrations.osdp import MemoryKeyStore, OsdpConfig, OsdpIntegration
from bastion.site.schemas import Site
from tests.integrations.osdp.osdp_support import (
    DictDecider,
    FakeHub,
    OsdpEnv,
    SimProcess,
    Starter,
    make_site,
    with_baud,
)


@pytest.fixture
async def osdp_env() -> AsyncIterator[Starter]:
    """Return ``start(n=1, baud=115200, sim_args=(), **config)`` building a running environment."""
    started: list[OsdpEnv] = []
    sims: list[SimProcess] = []

    async def start(
        n: int = 1,
        *,
        baud: int = 115200,
        sim_args: tuple[str, ...] = (),
        keys: MemoryKeyStore | None = None,
        site: Site | None = None,
        wait_secure: bool = True,
        sim: SimProcess | None = None,
        **config: Any,
    ) -> OsdpEnv:
        site = with_baud(site or make_site(n), baud)
        if sim is None:
            addresses = [str(d.osdp.address) for d in site.devices if d.osdp is not None]
            args = [a for addr in addresses for a in ("-a", addr)]
            sim = await asyncio.to_thread(SimProcess, [*args, "--baud", str(baud), *sim_args])
            sims.append(sim)
        bus = Bus()
        events: list[Event[Any]] = []
        bus.subscribe(events.append)
        keys = keys or MemoryKeyStore()
        hub = FakeHub(bus=bus, access=DictDecider(), extras={"sites": {"test-site": site}})
        cfg = OsdpConfig.model_validate(
            {
                "type": "osdp",
                "site_id": "test-site",
                "buses": [{"name": "bus1", "transport": "pty", "port": sim.path}],
                **config,
            }
        )
        integration = OsdpIntegration(key_store=keys)
        await integration.setup(hub, cfg)
        env = OsdpEnv(sim, integration, hub, events, keys, site)
        started.append(env)
        if wait_secure:
            for device in site.devices:
                if device.osdp is not None:
                    await env.wait_status(
                        device.id, online=True, secure=True, key="keyed", within=30
                    )
        return env

    yield start
    for env in started:
        if not env.unloaded:
            await env.integration.unload()
            await env.hub.bus.close()
    for sim in sims:
        await asyncio.to_thread(sim.close)
