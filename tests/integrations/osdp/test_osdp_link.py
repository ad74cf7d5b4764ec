"""Link bring-up and install-mode keying against a libosdp reader in another process."""

from __future__ import annotations

from tests.integrations.osdp.osdp_support import OsdpEnv


async def test_link_comes_up_keyed_and_secure(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    status = env.integration.status()["reader-1"]
    assert status["online"] and status["secure"] and status["key"] == "keyed"
    key = env.keys.get("reader-1")
    assert key is not None and len(key) == 16
    assert key != bytes(range(0x30, 0x40))
    assert env.sim.wait_for(lambda r: r["kind"] == "keyset", timeout=1)
    names = env.names()
    assert "reader.status" in names
