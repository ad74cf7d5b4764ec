"""The rules engine on a real bus and ledger: actions, context chain, modes, traces, schedules."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bastion.automation import arming
from bastion.automation.config import parse_rules
from bastion.automation.models import RuleTrace, ZoneArming
from bastion.automation.replay import ledger_events, replay
from bastion.automation.runtime import start_automation
from bastion.automation.triggers import ThresholdMachine
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DOOR_COMMAND,
    EVENT_DOOR_FORCED,
    EVENT_SENSOR_READING,
    DoorPayload,
    SensorReadingPayload,
)
from bastion.site.graph import SiteGraph
from bastion.store.ledger import LedgerRow
from tests.monitoring_support import EXAMPLE_RULES

NIGHT = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # 02:00 in Chicago (CST, UTC-6)


def _write(tmp_path, body: str):
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(body), "  "))
    return path


def _arm(hub, site, zone: str, **kw) -> None:
    with hub.unit_of_work() as session:
        event = arming.set_arming(
            session=session,
            site=site,
            zone_id=zone,
            armed=True,
            context=Context(actor="user:1"),
            now=hub.clock.now(),
            **kw,
        )
    hub.extras["arming_board"].apply(event) if "arming_board" in hub.extras else None


async def _forced(hub, site, door: str = "dock-door"):
    return await hub.bus.publish(
        EVENT_DOOR_FORCED,
        DoorPayload(door_id=door, state="forced", zone_id=site.door(door).to_zone),
        context=Context(actor="device:dock-door-dc"),
        site=site.site.id,
    )


async def _settle(hub, runtime) -> None:
    for _ in range(3):
        await hub.bus.drain()
        await runtime.engine.wait_idle()
    await hub.bus.drain()


@pytest.mark.usefixtures("example_trees")
async def test_forced_door_in_armed_zone_locks_adjacent_doors_with_a_context_chain(
    hub, site, recorder, clock
):
    clock.set(NIGHT)
    runtime = await start_automation(hub, [EXAMPLE_RULES], tick_s=None, flush_s=None)
    _arm(hub, site, "loading-dock")
    forced = await _forced(hub, site)
    await _settle(hub, runtime)

    commands = recorder.of("door.command")
    expected = sorted(d.id for d in SiteGraph(site).adjacent_doors("dock-door"))
    assert sorted(c.payload.door_id for c in commands) == expected
    assert {c.payload.command for c in commands} == {"lock"}
    run_ctx = commands[0].context
    assert run_ctx.parent_id == forced.context.id and run_ctx.actor == "rule:forced-door-response"
    assert [e.payload.preset for e in recorder.of("camera.ptz")] == ["dock-apron"]
    assert recorder.of("notify.requested")[0].payload.call_tree == "after-hours-intrusion"
    assert recorder.of("incident.changed")[0].payload.action == "requested"
    # Every action is in the ledger, after the forced-door event that caused it.
    rows = hub.ledger.query(types=["door.command", "door.forced"], newest_first=False, limit=50)
    assert rows[0].id == forced.id and len(rows) == 1 + len(expected)
    assert all(r.parent_id == forced.context.id for r in rows[1:])
    # The trace is stored with the run's context and its parent.
    await runtime.stop()
    with hub.db.sessions() as session:
        trace = session.execute(select(RuleTrace)).scalar_one()
    assert trace.outcome == "ran" and trace.parent_id == forced.context.id
    assert [s["path"] for s in trace.steps][:2] == ["trigger/0", "condition/0"]


@pytest.mark.usefixtures("example_trees")
async def test_disarmed_zone_fails_the_condition_and_traces_it(hub, site, recorder, clock):
    clock.set(NIGHT)
    runtime = await start_automation(hub, [EXAMPLE_RULES], tick_s=None, flush_s=None)
    await _forced(hub, site)
    await _settle(hub, runtime)
    assert recorder.of("door.command") == []
    (trace,) = runtime.engine.traces.latest("forced-door-response")
    assert trace.outcome == "condition_failed"
    assert trace.steps[-1] == {"path": "condition/0", "result": False}
    await runtime.stop()


async def test_24_hour_zone_counts_as_armed_without_arming(hub, site, recorder, tmp_path):
    path = _write(
        tmp_path,
        """
        - id: vault
          triggers: [{kind: event, event_type: door.forced, filter: {door_id: vault-door}}]
          conditions: [{condition: zone_armed}]
          actions: [{action: lockdown, zone: trigger}]
        """,
    )
    runtime = await start_automation(hub, [path], tick_s=None, flush_s=None)
    await _forced(hub, site, "vault-door")
    await _settle(hub, runtime)
    (lockdown,) = recorder.of("site.lockdown")
    assert lockdown.payload.zone_ids[0] == "vault"
    assert set(lockdown.payload.zone_ids) == {
        "vault",
        *(z.id for z in SiteGraph(site).adjacent_zones("vault")),
    }
    await runtime.stop()


class Gate:
    """A sleep replacement the test opens by hand."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.sleeping = 0

    async def __call__(self, _seconds: float) -> None:
        self.sleeping += 1
        await self.opened.wait()


@pytest.mark.parametrize(
    ("mode", "started", "outcomes"),
    [
        ("single", 1, {"ran": 1, "skipped": 2}),
        ("restart", 3, {"cancelled": 2, "ran": 1}),
        ("queued", 1, {"ran": 2, "skipped": 1}),
        ("parallel", 2, {"ran": 2, "skipped": 1}),
    ],
)
async def test_run_modes(hub, site, tmp_path, mode, started, outcomes):
    path = _write(
        tmp_path,
        f"""
        - id: slow
          mode: {mode}
          max_runs: 2
          triggers: [{{kind: event, event_type: door.forced}}]
          actions:
            - {{action: delay, seconds: 30}}
            - {{action: lock_door, doors: trigger}}
        """,
    )
    gate = Gate()
    runtime = await start_automation(hub, [path], tick_s=None, flush_s=None, sleep=gate)
    for _ in range(3):
        await _forced(hub, site)
        await hub.bus.drain()
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert gate.sleeping == started
    gate.opened.set()
    await _settle(hub, runtime)
    got: dict[str, int] = {}
    for trace in runtime.engine.traces.latest("slow"):
        got[trace.outcome] = got.get(trace.outcome, 0) + 1
    assert got == outcomes
    await runtime.stop()


def test_threshold_state_machine_has_inertia_and_hysteresis():
    m = ThresholdMachine(above=70, below=None, for_s=10, hysteresis=5)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    from datetime import timedelta

    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    assert m.feed(80, at(0)) is False and m.state == "pending"
    assert m.feed(60, at(5)) is False and m.state == "idle"  # dipped: inertia restarts
    assert m.feed(80, at(6)) is False
    assert m.feed(81, at(16)) is True and m.state == "fired"
    assert m.feed(90, at(20)) is False  # once per excursion
    assert m.feed(68, at(21)) is False and m.state == "fired"  # inside hysteresis band
    assert m.feed(60, at(22)) is False and m.state == "idle"


@pytest.mark.usefixtures("example_trees")
async def test_threshold_trigger_uses_the_site_model_bound(hub, site, recorder, clock):
    runtime = await start_automation(hub, [EXAMPLE_RULES], tick_s=None, flush_s=None)
    for second, value in [(0, 75.0), (5, 80.0), (11, 82.0), (12, 85.0)]:
        clock.set(datetime(2026, 3, 7, 15, 0, second, tzinfo=UTC))
        await hub.bus.publish(
            EVENT_SENSOR_READING,
            SensorReadingPayload(device_id="restroom-env", quantity="vape_index", value=value),
            site=site.site.id,
        )
    await _settle(hub, runtime)
    assert [e.payload.alarm_type for e in recorder.of("alarm.raised")] == ["environmental"]
    assert recorder.of("notify.requested")[0].payload.roles == ("shift_lead",)
    await runtime.stop()


@pytest.mark.usefixtures("example_trees")
async def test_schedule_arms_zones_with_exit_delay(hub, site, clock):
    clock.set(datetime(2026, 11, 10, 4, 0, tzinfo=UTC))  # 22:00 Chicago (CST)
    runtime = await start_automation(hub, [EXAMPLE_RULES], tick_s=None, flush_s=None)
    assert await runtime.engine.tick() == 0
    clock.advance(31 * 60)  # 22:31
    assert await runtime.engine.tick() == 1
    await _settle(hub, runtime)
    with hub.db.sessions() as session:
        rows = {r.zone_id: r for r in session.execute(select(ZoneArming)).scalars()}
    assert rows["loading-dock"].state == "armed" and rows["loading-dock"].entry_delay_s == 30
    board = hub.extras["arming_board"]
    assert board.state(site.site.id, "loading-dock", clock.now()) == "exit_delay"
    clock.advance(61)
    assert board.is_armed(site.site.id, "loading-dock", clock.now())
    await runtime.stop()


async def test_replay_dry_runs_rules_over_the_ledger(hub, site, clock):
    clock.set(NIGHT)
    await _forced(hub, site)
    await hub.bus.drain()
    before = hub.ledger.count()
    rules = parse_rules(
        "version: 1\nrules:\n  - id: r\n    triggers: [{kind: event, event_type: door.forced}]\n"
        "    actions: [{action: lock_door, doors: adjacent}]\n"
    ).rules
    traces = await replay(rules, ledger_events(hub.db), sites={site.site.id: site})
    assert [t.outcome for t in traces] == ["dry_run"]
    assert {e["type"] for e in traces[0].emitted} == {EVENT_DOOR_COMMAND.name}
    assert hub.ledger.count() == before  # nothing was published
    with hub.db.sessions() as session:
        assert session.execute(select(LedgerRow.type)).scalars().all() == ["door.forced"]
