"""The running playbooks: triggers on the hub's bus, automatic steps, drills.

Triggers are compiled with the automation trigger kinds and matched against the bus.
A playbook runs once per site at a time (a second panic button joins the run in
progress). Its automatic steps run in order as it starts: automation actions compiled
by the existing action registry (door commands, lockdowns, bookmarks …) are committed
to the ledger and delivered like a rule's; the call tree goes through the notification
runtime; mustering snapshots who is on site. In a drill the actions are only traced,
the call tree runs with the notification drill flag (nothing is sent) and no door moves.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.automation.actions import (
    ACTIONS,
    DoorActionConfig,
    LockdownConfig,
    Runner,
)
from bastion.automation.arming import shared_board
from bastion.automation.playbooks import service
from bastion.automation.playbooks.config import (
    Loaded,
    PlaybookConfig,
    StepConfig,
    check_playbook_references,
    load_library,
    select_doors,
    select_zones,
)
from bastion.automation.playbooks.schemas import RunRead
from bastion.automation.references import Catalog, catalog_from_store
from bastion.automation.state import RuleEnv, RunState
from bastion.automation.triggers import CompiledTrigger, compile_trigger
from bastion.core.context import Context
from bastion.core.errors import BastionError, ConfigError, InvalidInput, NotFound
from bastion.core.events import CATALOGUE, Event
from bastion.hub import work_in_thread
from bastion.notify import service as notify_service
from bastion.notify import templates as tpl
from bastion.notify.models import Template
from bastion.notify.runtime import runtime_for as notify_runtime_for
from bastion.notify.schemas import CallTreeRun
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
EXTRAS_KEY = "playbooks"


@dataclass
class _Compiled:
    """A playbook's triggers, and its automatic steps compiled per site."""

    loaded: Loaded
    triggers: list[CompiledTrigger]
    steps: dict[str | None, dict[str, list[Runner]]] = field(default_factory=dict)

    @property
    def config(self) -> PlaybookConfig:
        return self.loaded.config


def playbooks_dir(hub: Any) -> Path:
    """Return the data directory's folder of edited playbooks (``<data_dir>/playbooks``)."""
    return Path(hub.settings.data_dir) / "playbooks"


class PlaybookRuntime:
    """Start playbooks from their triggers or on request, and run their automatic steps."""

    def __init__(self, hub: Any, *, folders: Iterable[Path] | None = None) -> None:
        self.hub = hub
        self.folders = list(folders) if folders is not None else [playbooks_dir(hub)]
        self.env = RuleEnv(
            sites=hub.extras.get("sites", {}), board=shared_board(hub), clock=hub.clock, hub=hub
        )
        self.compiled: dict[str, _Compiled] = {}
        self.load_errors: list[ConfigError] = []
        self.started = False
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = asyncio.Lock()
        self.reload()

    # -- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Load the shipped and edited playbooks and compile their triggers."""
        errors: list[ConfigError] = []
        compiled: dict[str, _Compiled] = {}
        for pid, loaded in load_library(self.folders, errors=errors).items():
            triggers = []
            for i, trig in enumerate(loaded.config.triggers):
                try:
                    triggers.append(compile_trigger(f"{pid}/trigger/{i}", trig, self.env))
                except (ValueError, KeyError) as exc:
                    errors.append(ConfigError(str(exc), file=loaded.source, field=f"triggers.{i}"))
            compiled[pid] = _Compiled(loaded, triggers)
        self.compiled = compiled
        self.load_errors = errors
        for error in errors:
            _LOGGER.warning("playbook not loaded: %s", error)

    def get(self, playbook_id: str) -> PlaybookConfig:
        """Return a loaded playbook; raise NotFound."""
        found = self.compiled.get(playbook_id)
        if found is None:
            raise NotFound(f"no playbook {playbook_id!r}")
        return found.config

    def roll_call_steps(self, playbook_id: str) -> frozenset[str]:
        """Return the ids of a playbook's roll-call steps (empty when it is not loaded)."""
        found = self.compiled.get(playbook_id)
        if found is None:
            return frozenset()
        return frozenset(step.id for step in found.config.steps if step.roll_call)

    def site(self, site_id: str | None) -> Site | None:
        """Return a loaded site (the only one when ``site_id`` is None)."""
        return self.env.site_for(site_id)

    def _runners(self, entry: _Compiled, step: StepConfig, site: Site | None) -> list[Runner]:
        key = site.site.id if site is not None else None
        per_site = entry.steps.setdefault(key, {})
        if step.id in per_site:
            return per_site[step.id]
        reason = f"playbook {entry.config.id}"
        configs: list[Any] = []
        if step.kind == "actions":
            configs = list(step.actions)
        elif step.kind == "doors" and site is not None and step.select is not None:
            doors = select_doors(site, step.select, step.zones)
            if doors:
                action = "lock_door" if step.command == "lock" else "unlock_door"
                configs = [DoorActionConfig(action=action, doors=doors, reason=reason)]
        elif step.kind == "lockdown" and site is not None and step.select is not None:
            configs = [
                LockdownConfig(action="lockdown", zone=z, include_adjacent=False, reason=reason)
                for z in select_zones(site, step.select, step.zones)
            ]
        try:
            runners = [ACTIONS[c.action].compile(c, self.env) for c in configs]
        except KeyError as exc:
            raise ConfigError(f"unknown reference {exc.args[0]!r}", field=step.id) from None
        except ValueError as exc:
            raise ConfigError(str(exc), field=step.id) from None
        per_site[step.id] = runners
        return runners

    def catalog(self) -> Catalog:
        """Return what playbooks may name: the loaded sites and the notify store's trees."""
        with self.hub.db.sessions() as session:
            return catalog_from_store(session=session, sites=self.env.sites)

    def problems(self, playbook_id: str, *, catalog: Catalog | None = None) -> list[str]:
        """Return what would fail if the playbook ran now, in plain words.

        Names nothing has (doors, zones, cameras, call trees, templates), call trees that
        would reach nobody, and door or lockdown steps that select nothing at a site.
        """
        entry = self.compiled[playbook_id]
        errors = check_playbook_references(
            entry.config, catalog or self.catalog(), source=entry.loaded.source
        )
        found = [f"{_where(entry.config, e.field)}: {e.message}" for e in errors]
        sites: list[Site | None] = list(self.env.sites.values()) or [None]
        for step in entry.config.steps:
            for site in sites:
                try:
                    runners = self._runners(entry, step, site)
                except ConfigError as exc:
                    found.append(f"step {step.id}: {exc.message}")
                    continue
                if step.kind in ("doors", "lockdown") and site is not None and not runners:
                    found.append(f"step {step.id}: selects nothing at {site.site.id}")
        return found

    def log_problems(self) -> None:
        """Log, with file and line, every reference of a loaded playbook that nothing has."""
        catalog = self.catalog()
        for entry in self.compiled.values():
            for error in check_playbook_references(
                entry.config, catalog, source=entry.loaded.source, raw=entry.loaded.raw
            ):
                _LOGGER.warning("playbook %s: %s", entry.config.id, error)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the event types the triggers listen for. Must run in the event loop."""
        if self.started:
            return
        names = sorted(
            {t.event_type for c in self.compiled.values() for t in c.triggers if t.event_type}
        )
        types = [CATALOGUE[n] for n in names]
        if types:
            self._unsubscribe = self.hub.bus.subscribe(self.handle, types=types)
        self.started = True
        try:
            await asyncio.to_thread(self.log_problems)
        except Exception:  # a report about the playbooks must never keep them from running
            _LOGGER.exception("checking the playbooks' references failed")

    async def stop(self) -> None:
        """Unsubscribe (runs in progress stay recorded in the database)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.started = False

    # -- database work ---------------------------------------------------------------------------

    async def work(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a worker thread inside one unit of work; deliver its events after."""
        return await work_in_thread(self.hub, fn)

    async def read(self, fn: Callable[[Session], T]) -> T:
        """Run a read-only ``fn`` in a worker thread."""

        def run() -> T:
            with self.hub.db.sessions() as session:
                return fn(session)

        return await asyncio.to_thread(run)

    # -- triggers --------------------------------------------------------------------------------

    async def handle(self, event: Event[Any]) -> None:
        """Start every playbook whose trigger matches ``event`` (never our own events)."""
        if event.context.actor.startswith("playbook:"):
            return
        for entry in list(self.compiled.values()):
            for trig in entry.triggers:
                if trig.event_type != event.type.name:
                    continue
                try:
                    matched = trig.matches(event)
                except Exception:
                    _LOGGER.exception("trigger %s failed", trig.path)
                    continue
                if matched:
                    try:
                        await self.trigger(entry.config.id, event)
                    except BastionError as exc:
                        _LOGGER.warning("playbook %s: %s", entry.config.id, exc.message)
                    break

    async def trigger(self, playbook_id: str, event: Event[Any]) -> RunRead | None:
        """Start a playbook from an event, unless a real run of it is in progress at the site."""
        site = self.site(event.site)
        site_id = site.site.id if site is not None else event.site
        zone = self.env.zone_of(site_id, event.payload)
        async with self._lock:
            now = self.hub.clock.now()

            def joined(session: Session) -> bool:
                run = service.active_run(session=session, playbook_id=playbook_id, site_id=site_id)
                if run is None:
                    return False
                service.record_skipped_trigger(session=session, run=run, trigger=event, now=now)
                return True

            if await self.work(joined):
                return None
            return await self.start_run(
                playbook_id,
                site_id=site_id,
                zone_id=zone,
                drill=False,
                context=event.context.child(actor=f"playbook:{playbook_id}"),
                trigger=event,
            )

    # -- running ---------------------------------------------------------------------------------

    async def start_run(
        self,
        playbook_id: str,
        *,
        site_id: str | None = None,
        zone_id: str | None = None,
        drill: bool = False,
        context: Context,
        trigger: Event[Any] | None = None,
        note: str = "",
    ) -> RunRead:
        """Record a run (or drill), run its automatic steps in order and return it."""
        entry = self.compiled.get(playbook_id)
        if entry is None:
            raise NotFound(f"no playbook {playbook_id!r}")
        site = self.site(site_id)
        if site_id is not None and self.env.sites and site is None:
            raise NotFound(f"no site {site_id!r} is loaded")
        if zone_id is not None and site is not None:
            try:
                site.zone(zone_id)
            except KeyError:
                raise InvalidInput(f"site {site.site.id!r} has no zone {zone_id!r}") from None
        sid = site.site.id if site is not None else site_id
        now = self.hub.clock.now()
        playbook = entry.config
        run = await self.work(
            lambda s: service.create_run(
                session=s,
                playbook=playbook,
                site_id=sid,
                zone_id=zone_id,
                drill=drill,
                context=context,
                now=now,
                trigger=trigger,
                note=note,
            )
        )
        run_ctx = Context(actor=f"playbook:{playbook.id}", parent_id=context.id)
        for step in playbook.steps:
            if not step.automatic:
                continue
            try:
                status, detail, notify_run = await self._run_step(
                    entry, step, run.id, site, zone_id, drill, run_ctx, trigger, note
                )
            except BastionError as exc:
                status, detail, notify_run = "failed", exc.message, None
            except Exception as exc:  # one broken step never stops the others
                _LOGGER.exception("step %s of playbook %s failed", step.id, playbook.id)
                status, detail, notify_run = "failed", f"internal error: {type(exc).__name__}", None
            await self._record(run.id, step.id, status, detail, notify_run, run_ctx)
        return await self.run_read(run.id)

    async def _record(
        self,
        run_id: str,
        step_id: str,
        status: str,
        detail: str,
        notify_run: str | None,
        context: Context,
    ) -> None:
        now = self.hub.clock.now()

        def record(session: Session) -> None:
            service.complete_step(
                session=session,
                run=service.get_run(session=session, run_id=run_id),
                step_id=step_id,
                status=status,
                context=context,
                now=now,
                detail=detail,
                notify_run_id=notify_run,
            )

        await self.work(record)

    async def run_read(self, run_id: str) -> RunRead:
        """Return a run as the API shows it."""
        now = self.hub.clock.now()
        return await self.read(
            lambda s: service.run_read(service.get_run(session=s, run_id=run_id), now=now)
        )

    async def _run_step(
        self,
        entry: _Compiled,
        step: StepConfig,
        run_id: str,
        site: Site | None,
        zone_id: str | None,
        drill: bool,
        context: Context,
        trigger: Event[Any] | None,
        note: str,
    ) -> tuple[str, str, str | None]:
        if step.kind == "notify":
            return await self._notify(entry.config, step, site, zone_id, drill, context, note)
        if step.kind == "muster":
            if site is None:
                return "failed", "no site is loaded to muster", None
            now = self.hub.clock.now()

            def begin(session: Session) -> int:
                run = service.get_run(session=session, run_id=run_id)
                return len(
                    service.start_muster(
                        session=session, run=run, site=site, context=context, now=now
                    )
                )

            count = await self.work(begin)
            return "done", f"{count} people on site to account for", None
        runners = self._runners(entry, step, site)
        if not runners:
            return "failed", "nothing to act on at this site", None
        state = RunState(
            rule_id=entry.config.id,
            run_id=run_id,
            context=context,
            event=trigger,
            site_id=site.site.id if site is not None else None,
            now=self.hub.clock.now(),
            env=self.env,
        )
        state.variables["zone_id"] = zone_id or (
            self.env.zone_of(state.site_id, trigger.payload) if trigger is not None else None
        )
        state.variables["dry_run"] = drill
        for runner in runners:
            result = runner(state)
            if inspect.isawaitable(result):
                await result
        events = state.outbox
        summary = ", ".join(_describe(e) for e in events) or "nothing to do"
        if drill:
            return "simulated", f"drill, not sent: {summary}"[:2000], None
        bus = self.hub.bus
        security = [e for e in events if e.type.is_security]
        if security and bus.sink is not None:
            await bus.sink.append(security)
        for event in events:
            bus.deliver(event)
        return "done", summary[:2000], None

    async def _notify(
        self,
        playbook: PlaybookConfig,
        step: StepConfig,
        site: Site | None,
        zone_id: str | None,
        drill: bool,
        context: Context,
        note: str,
    ) -> tuple[str, str, str | None]:
        spec = step.notify
        assert spec is not None
        zone_name = zone_id or "unknown"
        if site is not None and zone_id is not None:
            zone_name = site.zone(zone_id).name
        now = self.hub.clock.now()
        values: dict[str, str] = {
            "site": site.site.name if site is not None else "the site",
            "address": site.site.address if site is not None else "",
            "zone": zone_name,
            "time": tpl.local_time(now, site.site.timezone if site is not None else None),
            "operator_note": note,
            **spec.variables,
        }
        template_id: str | None = None
        message: str | None = None
        inline = playbook.templates.get(spec.template)
        stored = None
        if inline is None:
            stored = await self.read(lambda s: s.get(Template, spec.template) is not None)
        if stored:
            template_id = spec.template
        else:
            if inline is not None:
                title_src, body_src = inline.title, inline.body
            else:
                shipped = {str(t["id"]): t for t in tpl.load_template_file()}
                if spec.template not in shipped:
                    raise NotFound(f"no template {spec.template!r}")
                title_src = str(shipped[spec.template]["title"])
                body_src = str(shipped[spec.template]["body"])
            title, message = tpl.render(
                template_id=spec.template, title=title_src, body=body_src, values=values
            )
            values = {"title": title}
        problem = await self.read(
            lambda s: notify_service.tree_problem(session=s, tree=spec.call_tree)
        )
        if problem:
            raise ConfigError(problem, field=f"{step.id}.notify.call_tree")
        status: CallTreeRun = await notify_runtime_for(self.hub).start_call_tree(
            tree_id=spec.call_tree,
            template_id=template_id,
            variables=values,
            context=context,
            drill=drill,
            emergency=spec.emergency,
            message=message,
        )
        people = len(status.recipients)
        what = "drill, nothing sent" if drill else "sending"
        return "done", f"call tree {status.tree_name}: {people} in tier 1 ({what})", status.id

    async def notify_runs(self, run_id: str) -> list[CallTreeRun]:
        """Return the call-tree runs a playbook run started."""

        def read(session: Session) -> list[CallTreeRun]:
            run = service.get_run(session=session, run_id=run_id)
            return [
                notify_service.run_status(session=session, run_id=s.notify_run_id)
                for s in run.steps
                if s.notify_run_id
            ]

        return await self.read(read)


def _where(playbook: PlaybookConfig, field: str | None) -> str:
    """Return ``step <id>`` or ``trigger <n>`` for a field path, as operators read it."""
    parts = (field or "").split(".")
    if len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        if parts[0] == "steps" and index < len(playbook.steps):
            return f"step {playbook.steps[index].id}"
        if parts[0] == "triggers":
            return f"trigger {index + 1}"
    return field or "playbook"


def _describe(event: Event[Any]) -> str:
    payload = event.payload
    for name in ("door_id", "zone_ids", "camera_ids", "level", "title"):
        value = getattr(payload, name, None)
        if value is not None:
            shown = ",".join(value) if isinstance(value, tuple) else value
            command = getattr(payload, "command", None)
            return f"{event.type.name} {command + ' ' if command else ''}{shown}"
    return event.type.name


def runtime_for(hub: Any) -> PlaybookRuntime:
    """Return the hub's playbook runtime, creating an unstarted one when there is none."""
    runtime = hub.extras.get(EXTRAS_KEY)
    if not isinstance(runtime, PlaybookRuntime):
        runtime = PlaybookRuntime(hub)
        hub.extras[EXTRAS_KEY] = runtime
    return runtime


async def start_playbooks(hub: Any) -> PlaybookRuntime:
    """Start the playbooks on ``hub`` (idempotent: a second call returns the running one).

    Must run in the event loop.
    """
    runtime = runtime_for(hub)
    await runtime.start()
    return runtime
