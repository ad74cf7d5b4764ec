"""Card → decision → strike, LED and buzzer at a libosdp reader in another process."""

from __future__ import annotations

from tests.integrations.osdp.osdp_support import (
    CARD_DENIED,
    CARD_GRANTED,
    CARD_WITH_PIN,
    OsdpEnv,
    is_command,
)

OUT, LED, BUZ = 1, 2, 3
GREEN, RED, AMBER = 2, 1, 3


async def test_granted_card_releases_strike_with_green_led_and_beep(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    env.grant(CARD_GRANTED)
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_GRANTED}")
    out = await env.sim.await_for(is_command(OUT, 1, control_code=5), start=mark)
    assert out["cmd"]["timer_count"] == 30  # the door's 3 s strike time, in 100 ms units
    led = await env.sim.await_for(is_command(LED, 1, on_color=GREEN), start=mark)
    beep = await env.sim.await_for(is_command(BUZ, 1), start=mark)
    assert out["t"] <= led["t"] <= beep["t"]
    assert beep["cmd"]["rep_count"] == 1
    seen = env.hub.access.seen[-1]
    assert seen.door_id == "door-1" and seen.reader_id == "reader-1"
    assert seen.card_hash and "1001" not in seen.card_hash
    unlocked = await env.wait_event(
        lambda e: e.type.name == "door.state" and e.payload.state == "unlocked"
    )
    card = await env.wait_event(lambda e: e.type.name == "reader.card_read")
    assert card.payload.credential_ref == seen.card_hash and card.payload.granted is True
    assert unlocked.payload.door_id == "door-1"


async def test_denied_card_gets_red_led_and_double_beep(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_DENIED}")
    await env.sim.await_for(is_command(LED, 1, on_color=RED), start=mark)
    beep = await env.sim.await_for(is_command(BUZ, 1), start=mark)
    assert beep["cmd"]["rep_count"] == 2
    assert not [
        r
        for r in env.sim.records[mark:]
        if r.get("kind") == "command" and r["cmd"]["command"] == OUT
    ]
    card = await env.wait_event(lambda e: e.type.name == "reader.card_read")
    assert card.payload.granted is False


async def test_card_and_pin_door_waits_for_the_pin(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1, card_and_pin_doors=["door-1"])
    env.grant_with_pin(CARD_WITH_PIN, "4711")
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_WITH_PIN}")
    await env.sim.await_for(is_command(LED, 1, on_color=AMBER), start=mark)  # type your PIN
    assert not env.hub.access.seen
    env.sim.send("pin 4711")
    await env.sim.await_for(is_command(OUT, 1, control_code=5), start=mark)
    seen = env.hub.access.seen[-1]
    assert seen.kind == "card_and_pin" and seen.pin_hash and seen.card_hash
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_WITH_PIN}")
    await env.sim.await_for(is_command(LED, 1, on_color=AMBER), start=mark)
    env.sim.send("pin 1234")
    await env.sim.await_for(is_command(LED, 1, on_color=RED), start=mark)
    assert env.hub.access.seen[-1].kind == "card_and_pin"
