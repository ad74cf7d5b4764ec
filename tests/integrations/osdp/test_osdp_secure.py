"""Secure channel: enforce-secure reconnect with the stored key, rotation, plain-text fallback."""

from __future__ import annotations

import asyncio

import pytest

from bastion.integrations.osdp import MemoryKeyStore
from tests.integrations.osdp.osdp_support import (
    CARD_GRANTED,
    OsdpEnv,
    SimProcess,
    is_command,
    until,
)

OUT = 1


async def test_reconnect_uses_the_stored_key_and_enforces_secure(osdp_env) -> None:
    first: OsdpEnv = await osdp_env(1)
    key = first.keys.get("reader-1")
    await first.stop()
    mark = first.sim.mark()
    second: OsdpEnv = await osdp_env(1, sim=first.sim, keys=first.keys)
    assert second.keys.get("reader-1") == key
    assert not [r for r in first.sim.records[mark:] if r["kind"] == "keyset"]
    second.grant(CARD_GRANTED)
    mark = first.sim.mark()
    first.sim.send(f"card {CARD_GRANTED}")
    await first.sim.await_for(is_command(OUT, 1), start=mark)


async def test_key_rotation_installs_a_new_key(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    old = env.keys.get("reader-1")
    mark = env.sim.mark()
    assert await env.integration.rotate_key("reader-1")
    await env.sim.await_for(lambda r: r["kind"] == "keyset", start=mark)
    await until(lambda: env.keys.get("reader-1") != old)
    assert env.keys.get("reader-1") not in (None, old)
    await env.wait_status("reader-1", online=True, secure=True, key="keyed")
    env.grant(CARD_GRANTED)
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_GRANTED}")
    await env.sim.await_for(is_command(OUT, 1), start=mark)


async def test_rotation_requested_through_the_key_store(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1, rotation_poll_s=0.1)
    old = env.keys.get("reader-1")
    env.keys.rotate.add("reader-1")
    await env.sim.await_for(lambda r: r["kind"] == "keyset", start=1)
    await until(lambda: env.keys.get("reader-1") != old and not env.keys.rotation_requests())
    assert env.keys.get("reader-1") != old
    assert not env.keys.rotation_requests()


@pytest.mark.slow
async def test_reader_reset_to_plain_text_raises_an_alarm(osdp_env) -> None:
    keys = MemoryKeyStore()
    keys.keys["reader-1"] = bytes(range(16))  # we believe it is keyed; it now talks plain text
    sim = await asyncio.to_thread(SimProcess, ["-a", "1", "--baud", "115200", "--plain"])
    try:
        env: OsdpEnv = await osdp_env(1, sim=sim, keys=keys, wait_secure=False, secure_grace_s=1.0)
        alarm = await env.wait_event(
            lambda e: e.type.name == "alarm.raised" and e.payload.alarm_type == "reader_insecure",
            within=20,
        )
        assert alarm.payload.device_id == "reader-1"
        assert env.integration.status()["reader-1"]["secure"] is False
        mark = sim.mark()
        sim.send(f"card {CARD_GRANTED}")
        await asyncio.sleep(1.0)  # a read that must lead nowhere: nothing to wait for
        assert not [
            r
            for r in sim.records[mark:]
            if r.get("kind") == "command" and r["cmd"]["command"] == OUT
        ]
        assert not env.hub.access.seen
    finally:
        await asyncio.to_thread(sim.close)
