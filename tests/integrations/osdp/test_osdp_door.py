"""Door supervision from a reader's inputs: opened after grant, REX, forced, held, tamper."""

from __future__ import annotations

from tests.integrations.osdp.osdp_support import CARD_GRANTED, OsdpEnv, is_command, make_site

OUT, BUZ = 1, 3


def _door_states(env: OsdpEnv) -> list[str]:
    return [e.payload.state for e in env.of("door.state")]


async def test_door_opened_after_grant_is_not_forced(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    env.grant(CARD_GRANTED)
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_GRANTED}")
    await env.sim.await_for(is_command(OUT, 1, control_code=5), start=mark)
    env.sim.send("door open")
    await env.wait_event(lambda e: e.type.name == "door.state" and e.payload.state == "open")
    env.sim.send("door close")
    closed = await env.wait_event(
        lambda e: e.type.name == "door.state" and e.payload.state == "closed"
    )
    assert closed.payload.duration_s is not None
    await env.sim.await_for(is_command(OUT, 1, control_code=1), start=mark)  # relock on close
    assert _door_states(env)[:3] == ["unlocked", "open", "closed"]
    assert not env.of("door.forced")


async def test_request_to_exit_shunts_the_contact(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    env.sim.send("rex on")
    await env.wait_event(lambda e: e.type.name == "door.request_to_exit")
    env.sim.send("door open")
    await env.wait_event(lambda e: e.type.name == "door.state" and e.payload.state == "open")
    env.sim.send("rex off")
    env.sim.send("door close")
    await env.wait_event(lambda e: e.type.name == "door.state" and e.payload.state == "closed")
    assert not env.of("door.forced")


async def test_door_opened_without_grant_or_rex_is_forced(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    env.sim.send("door open")
    forced = await env.wait_event(lambda e: e.type.name == "door.forced")
    alarm = await env.wait_event(lambda e: e.type.name == "alarm.raised")
    assert alarm.payload.alarm_type == "door_forced" and alarm.payload.priority == 1
    assert alarm.payload.source_event_id == forced.id
    assert alarm.context.parent_id == forced.context.id


async def test_door_held_open_beeps_first_then_alarms(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1, site=make_site(1, held_open_s=2.0), held_prealarm_s=1.0)
    env.grant(CARD_GRANTED)
    mark = env.sim.mark()
    env.sim.send(f"card {CARD_GRANTED}")
    await env.sim.await_for(is_command(OUT, 1), start=mark)
    env.sim.send("door open")
    await env.wait_event(lambda e: e.type.name == "door.state" and e.payload.state == "open")
    pre = await env.sim.await_for(is_command(BUZ, 1, rep_count=3), start=mark)
    held = await env.wait_event(lambda e: e.type.name == "door.held")
    assert held.payload.duration_s >= 2.0
    alarm = await env.wait_event(lambda e: e.type.name == "alarm.raised")
    assert alarm.payload.alarm_type == "door_held"
    env.sim.send("door close")
    await env.wait_event(lambda e: e.type.name == "door.state" and e.payload.state == "closed")
    stop = await env.sim.await_for(is_command(BUZ, 1, control_code=1), start=mark)
    assert pre["t"] < stop["t"]
    assert not env.of("door.forced")


async def test_tamper_and_power_raise_alarms_and_restore(osdp_env) -> None:
    env: OsdpEnv = await osdp_env(1)
    env.sim.send("tamper on")
    tamper = await env.wait_event(
        lambda e: e.type.name == "device.health" and e.payload.status == "tamper"
    )
    alarm = await env.wait_event(lambda e: e.type.name == "alarm.raised")
    assert alarm.payload.alarm_type == "tamper" and alarm.payload.source_event_id == tamper.id
    env.sim.send("tamper off")
    await env.wait_event(
        lambda e: e.type.name == "device.health" and e.payload.status == "restored"
    )
    env.sim.send("power fail")
    await env.wait_event(
        lambda e: e.type.name == "alarm.raised" and e.payload.alarm_type == "reader_power"
    )
    assert env.integration.status()["reader-1"]["power_fail"] is True
