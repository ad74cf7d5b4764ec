"""The rules engine: compile rules once, dispatch events through an index, run with modes.

Each evaluation (a trigger matched) creates a child :class:`Context` of the trigger
event (actor ``rule:<id>``) and a :class:`Trace`. Conditions are checker closures;
actions append events to the run's outbox, which is committed to the ledger in one
append and then delivered on the bus (ledger first, as for every security event).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.automation.actions import ACTIONS, Runner
from bastion.automation.conditions import Checker, compile_condition
from bastion.automation.config import RuleConfig, rule_references
from bastion.automation.references import find_problems, raise_all
from bastion.automation.state import RuleEnv, RunState
from bastion.automation.trace import Trace, TraceStore
from bastion.automation.triggers import (
    INDEX_FIELDS,
    CompiledTrigger,
    compile_trigger,
    next_schedule_time,
)
from bastion.core.bus import Bus
from bastion.core.context import Context, new_id
from bastion.core.errors import ConfigError
from bastion.core.events import (
    CATALOGUE,
    EVENT_DEVICE_HOLD,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_STATE,
    EVENT_SENSOR_BYPASS,
    EVENT_SENSOR_STATE,
    EVENT_THREAT_LEVEL,
    EVENT_ZONE_ARMING,
    DoorPayload,
    Event,
    SensorStatePayload,
    ThreatLevelPayload,
)
from bastion.core.periodic import cancel as cancel  # re-exported: engine.cancel stays public
from bastion.core.periodic import repeat

_LOGGER = logging.getLogger(__name__)
STATE_TYPES = frozenset(
    t.name
    for t in (
        EVENT_DOOR_STATE,
        EVENT_DOOR_FORCED,
        EVENT_DOOR_HELD,
        EVENT_SENSOR_STATE,
        EVENT_THREAT_LEVEL,
        EVENT_ZONE_ARMING,
        EVENT_SENSOR_BYPASS,
        EVENT_DEVICE_HOLD,
    )
)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(eq=False)
class CompiledRule:
    """A rule compiled into closures, with its in-flight runs."""

    config: RuleConfig
    triggers: list[CompiledTrigger]
    conditions: list[Checker]
    actions: list[tuple[str, str, Runner]]
    actor: str
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    lock: asyncio.Lock | None = None
    runs: int = 0

    @property
    def id(self) -> str:
        """Return the rule id."""
        return self.config.id


def compile_rule(config: RuleConfig, env: RuleEnv) -> CompiledRule:
    """Compile one rule; raise ConfigError for references the sites do not have."""
    try:
        triggers = [compile_trigger(f"trigger/{i}", t, env) for i, t in enumerate(config.triggers)]
        conditions = [
            compile_condition(f"condition/{i}", c, env) for i, c in enumerate(config.conditions)
        ]
        actions = [
            (f"action/{i}", a.action, ACTIONS[a.action].compile(a, env))
            for i, a in enumerate(config.actions)
        ]
    except KeyError as exc:
        raise ConfigError(f"unknown reference {exc.args[0]!r}", field=f"rule {config.id}") from None
    except ValueError as exc:
        raise ConfigError(str(exc), field=f"rule {config.id}") from None
    return CompiledRule(config, triggers, conditions, actions, f"rule:{config.id}")


class RuleEngine:
    """Run compiled rules against the events of a bus (or, for replay, against any events)."""

    def __init__(
        self,
        env: RuleEnv,
        *,
        bus: Bus | None = None,
        traces: TraceStore | None = None,
        dry_run: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.env = env
        self.bus = bus
        self.traces = traces or TraceStore()
        self.dry_run = dry_run
        self.sleep = sleep
        self.rules: dict[str, CompiledRule] = {}
        self._index: dict[
            str,
            tuple[
                list[tuple[CompiledRule, CompiledTrigger]],
                dict[tuple[str, Any], list[tuple[CompiledRule, CompiledTrigger]]],
            ],
        ] = {}
        self._schedules: list[tuple[CompiledRule, CompiledTrigger]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.evaluations = 0

    # -- loading -----------------------------------------------------------------------------

    def load(self, rules: Iterable[RuleConfig]) -> None:
        """Check the references of ``rules``, compile them (replacing the loaded set), index them.

        Every name an enabled rule uses must exist in the environment's catalog; all the
        missing ones are raised together, and nothing is replaced then.
        """
        enabled = [r for r in rules if r.enabled]
        catalog = self.env.catalog
        raise_all(
            [
                ConfigError(message, field=f"rule {rule.id}.{ref.field}")
                for rule in enabled
                for ref, message in find_problems(
                    rule_references(rule), catalog, reachability=False
                )
            ]
        )
        compiled = [compile_rule(r, self.env) for r in enabled]
        self.rules = {r.id: r for r in compiled}
        self._index = {}
        self._schedules = []
        for rule in compiled:
            for trig in rule.triggers:
                if trig.schedule is not None:
                    self._schedules.append((rule, trig))
                    continue
                assert trig.event_type is not None
                any_list, by_key = self._index.setdefault(trig.event_type, ([], {}))
                if trig.index is None:
                    any_list.append((rule, trig))
                else:
                    by_key.setdefault(trig.index, []).append((rule, trig))

    @property
    def event_types(self) -> set[str]:
        """Return the event type names the engine must see."""
        return set(self._index) | STATE_TYPES

    # -- bus ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the bus. Must run in the event loop."""
        if self.bus is None:
            raise RuntimeError("the engine has no bus")
        types = [CATALOGUE[name] for name in sorted(self.event_types)]
        self._unsubscribe = self.bus.subscribe(self.handle, types=types)

    async def stop(self) -> None:
        """Unsubscribe, cancel runs in flight and write the pending traces."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.traces.flush()

    async def wait_idle(self) -> None:
        """Wait until every run in flight has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- dispatch ----------------------------------------------------------------------------

    def _update_state(self, event: Event[Any]) -> None:
        payload = event.payload
        live = self.env.live
        if isinstance(payload, DoorPayload):
            live.doors[(event.site, payload.door_id)] = payload.state
        elif isinstance(payload, SensorStatePayload):
            live.sensors[(event.site, payload.device_id)] = payload.state
        elif isinstance(payload, ThreatLevelPayload):
            live.threat_level = payload.level
        elif event.type in (EVENT_ZONE_ARMING, EVENT_SENSOR_BYPASS, EVENT_DEVICE_HOLD):
            self.env.board.apply(event)

    def candidates(self, event: Event[Any]) -> list[tuple[CompiledRule, CompiledTrigger]]:
        """Return the (rule, trigger) pairs indexed for an event."""
        entry = self._index.get(event.type.name)
        if entry is None:
            return []
        any_list, by_key = entry
        found = list(any_list)
        if by_key:
            payload = event.payload
            for name in INDEX_FIELDS:
                value = getattr(payload, name, None)
                if value is not None:
                    hit = by_key.get((name, value))
                    if hit:
                        found.extend(hit)
        return found

    def handle(self, event: Event[Any]) -> None:
        """Evaluate the rules an event triggers; runs continue as tasks.

        Must run in the event loop.
        """
        for run in self._matching(event):
            self._launch(run)

    async def process(self, event: Event[Any]) -> list[Trace]:
        """Evaluate and run the matching rules to completion, one after another (replay)."""
        traces = []
        for rule, run in self._matching(event):
            trace = await self._execute(rule, run)
            traces.append(trace)
        return traces

    def _matching(self, event: Event[Any]) -> list[tuple[CompiledRule, RunState]]:
        if event.type.name in STATE_TYPES:
            self._update_state(event)
        if self.env.board.is_held(event.site, event.device, event.time):
            return []  # a device under a walk test: its events are expected, not acted on
        started: list[tuple[CompiledRule, RunState]] = []
        seen: set[str] = set()
        for rule, trig in self.candidates(event):
            if rule.id in seen or event.context.actor == rule.actor:
                continue  # one run per event per rule; never react to our own actions
            try:
                matched = trig.matches(event)
            except Exception:
                _LOGGER.exception("trigger %s of rule %s failed", trig.path, rule.id)
                continue
            if not matched:
                continue
            seen.add(rule.id)
            run = self._new_run(rule, trig, event)
            if self._conditions_hold(rule, run):
                started.append((rule, run))
        return started

    def _new_run(
        self,
        rule: CompiledRule,
        trig: CompiledTrigger,
        event: Event[Any] | None,
        now: datetime | None = None,
    ) -> RunState:
        self.evaluations += 1
        parent = event.context if event is not None else None
        context = (
            parent.child(actor=rule.actor) if parent is not None else _root_context(rule.actor)
        )
        run = RunState(
            rule_id=rule.id,
            run_id=new_id(),
            context=context,
            event=event,
            site_id=event.site if event is not None else getattr(trig.config, "site", None),
            now=now or self.env.clock.now(),
            env=self.env,
            trigger_path=trig.path,
        )
        run.trace(
            trig.path,
            event_type=event.type.name if event else "schedule",
            event_id=event.id if event else None,
        )
        return run

    def _conditions_hold(self, rule: CompiledRule, run: RunState) -> bool:
        for check in rule.conditions:
            try:
                ok = check(run)
            except Exception as exc:
                _LOGGER.exception("condition of rule %s failed", rule.id)
                self._finish(run, "error", error=f"condition: {exc}")
                return False
            if not ok:
                self._finish(run, "condition_failed")
                return False
        return True

    def _launch(self, pair: tuple[CompiledRule, RunState]) -> None:
        rule, run = pair
        mode = rule.config.mode
        if mode == "single" and rule.tasks:
            self._finish(run, "skipped", error="already running (mode single)")
            return
        if mode in ("queued", "parallel") and len(rule.tasks) >= rule.config.max_runs:
            self._finish(run, "skipped", error=f"max_runs {rule.config.max_runs} reached")
            return
        if mode == "restart":
            for task in list(rule.tasks):
                task.cancel()
        if mode == "queued" and rule.lock is None:
            rule.lock = asyncio.Lock()
        task = asyncio.get_running_loop().create_task(self._guarded(rule, run))
        rule.tasks.add(task)
        self._tasks.add(task)
        task.add_done_callback(rule.tasks.discard)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, rule: CompiledRule, run: RunState) -> None:
        if rule.lock is not None:
            async with rule.lock:
                await self._execute(rule, run)
        else:
            await self._execute(rule, run)

    async def _execute(self, rule: CompiledRule, run: RunState) -> Trace:
        rule.runs += 1
        run.variables["flush"] = self._flush
        run.variables["sleep"] = self.sleep
        run.variables["dry_run"] = self.dry_run
        emitted: list[Event[Any]] = []
        run.variables["emitted"] = emitted
        try:
            for path, name, runner in rule.actions:
                before = len(run.outbox) + len(emitted)
                result = runner(run)
                if inspect.isawaitable(result):
                    await result
                run.trace(path, action=name, emitted=len(run.outbox) + len(emitted) - before)
            await self._flush(run)
        except asyncio.CancelledError:
            return self._finish(run, "cancelled", error="restarted or stopped")
        except Exception as exc:
            _LOGGER.exception("rule %s failed", rule.id)
            return self._finish(run, "error", error=str(exc))
        return self._finish(run, "dry_run" if self.dry_run else "ran")

    async def _flush(self, run: RunState) -> None:
        events, run.outbox = run.outbox, []
        if not events:
            return
        run.variables["emitted"].extend(events)
        if self.dry_run or self.bus is None:
            return
        bus = self.bus
        security = [e for e in events if e.type.is_security]
        if security and bus.sink is not None:
            await bus.sink.append(security)
        for event in events:
            bus.deliver(event)

    def _finish(self, run: RunState, outcome: str, *, error: str = "") -> Trace:
        emitted = run.variables.get("emitted") or []
        trace = Trace(
            run_id=run.run_id,
            rule_id=run.rule_id,
            event_id=run.event.id if run.event is not None else None,
            context_id=run.context.id,
            parent_id=run.context.parent_id,
            started_at=run.now,
            outcome=outcome,
            steps=run.steps,
            error=error,
            finished_at=self.env.clock.now(),
            dry_run=self.dry_run,
            emitted=[
                {"id": e.id, "type": e.type.name, "payload": e.payload.model_dump(mode="json")}
                for e in emitted
            ]
            if self.dry_run
            else [{"id": e.id, "type": e.type.name} for e in emitted],
        )
        self.traces.record(trace)
        return trace

    # -- schedules ---------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None, *, inline: bool = False) -> int:
        """Fire the schedule triggers that are due; return how many rules started."""
        now = now or self.env.clock.now()
        fired = 0
        for rule, trig in self._schedules:
            assert trig.schedule is not None and trig.tz is not None
            if trig.next_due is None or now < trig.next_due:
                continue
            trig.next_due = next_schedule_time(trig.schedule, now, trig.tz)
            run = self._new_run(rule, trig, None, now)
            if not self._conditions_hold(rule, run):
                continue
            fired += 1
            if inline:
                await self._execute(rule, run)
            else:
                self._launch((rule, run))
        return fired

    async def run_schedules(self, period_s: float = 1.0) -> None:
        """Tick the schedules forever (cancel to stop)."""
        await repeat(period_s, self.tick, logger=_LOGGER, what="schedule tick")


def _root_context(actor: str) -> Context:
    return Context(actor=actor)
