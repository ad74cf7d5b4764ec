"""Several readers on one multi-drop line."""

from __future__ import annotations

import pytest

from tests.integrations.osdp.osdp_support import CARD_GRANTED, OsdpEnv, is_command

OUT = 1


async def _badge_each(env: OsdpEnv, n: int) -> None:
    env.grant(CARD_GRANTED)
    for addr in range(1, n + 1):
        mark = env.sim.mark()
        env.sim.send(f"card @{addr} {CARD_GRANTED}")
        out = await env.sim.await_for(is_command(OUT, None, control_code=5), within=15, start=mark)
        assert out["addr"] == addr
    doors = [p.door_id for p in env.hub.access.seen]
    assert doors == [f"door-{i}" for i in range(1, n + 1)]


async def test_two_readers_on_one_bus(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(2)
    assert len({env.keys.get("reader-1"), env.keys.get("reader-2")}) == 2
    await _badge_each(env, 2)


@pytest.mark.slow
async def test_eight_readers_on_one_bus_at_9600_baud(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(8, baud=9600)
    assert all(s["online"] and s["secure"] for s in env.integration.status().values())
    await _badge_each(env, 8)
