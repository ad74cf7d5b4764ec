"""Run the access engine on a hub: load the snapshot, pump decisions to the ledger, follow events.

``start_access(hub)`` compiles the snapshot from the database, sets ``hub.access``
and, inside a running event loop, starts the task that writes queued decision
events to the ledger (group-committed, then fanned out on the bus) and subscribes
to door state, lockdown, threat-level and site-import events. A batch the ledger
refuses is kept and retried with back-off, never dropped (while the database is
unreachable the ledger itself keeps decisions in its local outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bastion.access import service
from bastion.access.engine import AccessEngine
from bastion.core.errors import BastionError
from bastion.core.events import (
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_STATE,
    EVENT_LOCKDOWN,
    EVENT_SITE_IMPORTED,
    EVENT_THREAT_LEVEL,
    DoorPayload,
    Event,
    LockdownPayload,
    SiteImportedPayload,
    ThreatLevelPayload,
)
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.site.lockdown import lockdowns_of
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
RETRY_S = 0.5
RETRY_MAX_S = 30.0
ENGINE_KEY = "access_engine"
_RUNNER_KEY = "access_runner"


def load_engine(hub: Hub) -> AccessEngine:
    """Compile a fresh engine from the sites and access policy stored in the database."""
    engine = AccessEngine(clock=hub.clock, lockdowns=lockdowns_of(hub))
    with hub.db.sessions() as session:
        sites: dict[str, Site] = dict(site_service.load_all(session=session))
        policy = service.load_policy(session=session)
    engine.load(sites.values(), policy)
    return engine


def engine_of(hub: Hub) -> AccessEngine | None:
    """Return the hub's access engine, when it is ours."""
    engine = hub.extras.get(ENGINE_KEY)
    return engine if isinstance(engine, AccessEngine) else None


class _Runner:
    """The decision pump and the bus subscriptions of one engine."""

    def __init__(self, hub: Hub, engine: AccessEngine) -> None:
        self.hub = hub
        self.engine = engine
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.unsubscribe: list[Callable[[], None]] = []
        self._unwritten: list[Event[Any]] = []  # taken from the engine, not yet in the ledger

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.engine.set_notifier(lambda: loop.call_soon_threadsafe(self.wake.set))
        self.task = loop.create_task(self._pump(), name="access-decisions")
        bus = self.hub.bus
        self.unsubscribe = [
            bus.subscribe(self._door, types=[EVENT_DOOR_STATE, EVENT_DOOR_FORCED, EVENT_DOOR_HELD]),
            bus.subscribe(self._lockdown, types=[EVENT_LOCKDOWN], mirrored=True),
            bus.subscribe(self._threat, types=[EVENT_THREAT_LEVEL], mirrored=True),
            bus.subscribe(self._site, types=[EVENT_SITE_IMPORTED]),
        ]

    async def flush(self) -> None:
        """Write every queued decision now; raise (keeping the batch for later) when refused."""
        while True:
            events, self._unwritten = self._unwritten, []
            events = events or self.engine.take_decision_events(500)
            if not events:
                return
            try:
                if self.hub.bus.sink is not None:
                    await self.hub.bus.sink.append(events)
            except BaseException:
                self._unwritten = events + self._unwritten
                raise
            for item in events:
                self.hub.bus.deliver(item)

    async def _pump(self) -> None:
        delay = RETRY_S
        while True:
            await self.wake.wait()
            self.wake.clear()
            try:
                await self.flush()
                delay = RETRY_S
            except Exception:
                _LOGGER.exception(
                    "writing %d access decision(s) to the ledger failed; retrying in %.1f s",
                    len(self._unwritten),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                self.wake.set()

    async def stop(self) -> None:
        self.engine.set_notifier(None)
        for unsubscribe in self.unsubscribe:
            unsubscribe()
        self.unsubscribe = []
        task, self.task = self.task, None
        if task is not None:
            if task.get_loop() is asyncio.get_running_loop():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            else:
                task.get_loop().call_soon_threadsafe(task.cancel)
        try:
            await self.flush()
        except Exception:
            _LOGGER.exception(
                "%d access decision(s) could not be written to the ledger before stopping",
                len(self._unwritten) + self.engine.pending_decisions(),
            )

    def _door(self, event: Event[Any]) -> None:
        payload = event.payload
        if isinstance(payload, DoorPayload):
            state = "open" if event.type is not EVENT_DOOR_STATE else payload.state
            key = f"{event.site}/{payload.door_id}" if event.site else payload.door_id
            self.engine.door_state(key, state)

    async def _lockdown(self, event: Event[Any]) -> None:
        """Apply a lockdown event to the shared registry and keep the stored state the same.

        Lockdowns published by rules and the door console reach the engine only as events;
        storing the registry's zones here means a restart comes back with the same ones.
        """
        payload = event.payload
        site_id = event.site
        if not isinstance(payload, LockdownPayload) or site_id not in self.engine.snapshot.sites:
            return
        for zone in payload.zone_ids:
            if (zone in self.engine.lockdown_zones(site_id)) != payload.active:
                try:
                    self.engine.lockdown(
                        site_id,
                        zone,
                        active=payload.active,
                        reason=payload.reason,
                        by=event.context.actor,
                    )
                except BastionError as exc:
                    _LOGGER.warning("ignoring lockdown event %s: %s", event.id, exc)
        zones = sorted(self.engine.lockdown_zones(site_id))

        def store() -> None:
            with self.hub.unit_of_work() as session:
                service.store_lockdown_zones(
                    session=session, site_id=site_id, zones=zones, now=self.hub.clock.now()
                )

        try:
            await asyncio.to_thread(store)
        except Exception:
            _LOGGER.exception("could not store the lockdown state of %s", site_id)

    def _threat(self, event: Event[Any]) -> None:
        payload = event.payload
        if isinstance(payload, ThreatLevelPayload) and event.site in self.engine.snapshot.sites:
            self.engine.set_threat_level(event.site, payload.level)

    async def _site(self, event: Event[Any]) -> None:
        payload = event.payload
        if not isinstance(payload, SiteImportedPayload):
            return

        def load() -> Site:
            with self.hub.db.sessions() as session:
                return site_service.get_site(session=session, site_id=payload.site_id)

        try:
            site = await asyncio.to_thread(load)
            self.engine.put_site(site)
        except BastionError as exc:
            _LOGGER.error(
                "site %s revision %s not applied to access: %s",
                payload.site_id,
                payload.revision,
                exc,
            )


def start_access(hub: Hub) -> AccessEngine:
    """Load the engine from the database, set ``hub.access`` and start it.

    Idempotent: a hub that already runs an engine gets it back. In a running event
    loop the decision pump and subscriptions start now (``await engine.stop()`` or
    :func:`stop_access` stop them); otherwise they start and stop with the app
    (``hub.extras["on_start"]`` / ``["on_stop"]``).
    """
    existing = engine_of(hub)
    if existing is not None:
        return existing
    engine = load_engine(hub)
    hub.access = engine
    hub.extras[ENGINE_KEY] = engine
    runner = _Runner(hub, engine)
    hub.extras[_RUNNER_KEY] = runner
    engine.stopper = lambda: stop_access(hub)

    async def on_start() -> None:
        if runner.task is None:
            runner.start()

    async def on_stop() -> None:
        await runner.stop()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        hub.extras.setdefault("on_start", []).append(on_start)
        hub.extras.setdefault("on_stop", []).append(on_stop)
    else:
        runner.start()
    return engine


async def stop_access(hub: Hub) -> None:
    """Stop the pump and subscriptions, write the queued decisions, and detach the engine."""
    runner = hub.extras.pop(_RUNNER_KEY, None)
    if isinstance(runner, _Runner):
        await runner.stop()
    if hub.extras.pop(ENGINE_KEY, None) is hub.access:
        hub.access = None


async def flush_decisions(hub: Hub) -> None:
    """Write the queued decisions to the ledger now (tests, shutdown)."""
    runner = hub.extras.get(_RUNNER_KEY)
    if isinstance(runner, _Runner):
        await runner.flush()
