"""The running upkeep domain: walk tests see their devices, windows close, schedules fall due.

Subscribes to the events devices cause (sensor states, doors, readers). A device that a
running walk test waits for passes as soon as its event arrives; a test whose window
has closed is finished (silent devices fail, the hold is released); due schedules open
work orders. Holds of tests still running are put back on the arming board at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bastion.automation.arming import shared_board
from bastion.core import periodic
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_REX,
    EVENT_DOOR_STATE,
    EVENT_READER_CARD,
    EVENT_SENSOR_STATE,
    EVENT_WALK_TEST,
    Event,
)
from bastion.hub import Hub, work_in_thread
from bastion.maintenance import planning, walktests
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
SEEN_TYPES = (
    EVENT_SENSOR_STATE,
    EVENT_DOOR_STATE,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_REX,
    EVENT_READER_CARD,
    EVENT_ACCESS_DECISION,
)
ACTOR = "maintenance"


class UpkeepRuntime:
    """Walk tests and maintenance schedules on a hub."""

    def __init__(self, hub: Hub, *, tick_s: float | None = 5.0) -> None:
        self.hub = hub
        self.tick_s = tick_s
        self.sites: dict[str, Site] = hub.extras.get("sites", {})
        self._waiting: dict[tuple[str | None, str], set[str]] = {}
        self._unsubscribe: Any = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Restore holds, index waiting devices, subscribe, start the ticker."""
        await self.reload(restore_holds=True)
        self._unsubscribe = self.hub.bus.subscribe(
            self.handle, types=[*SEEN_TYPES, EVENT_WALK_TEST]
        )
        if self.tick_s:
            self._ticker = asyncio.create_task(
                periodic.repeat(self.tick_s, self.tick, logger=_LOGGER, what="upkeep tick"),
                name="upkeep",
            )

    async def stop(self) -> None:
        """Unsubscribe and stop the ticker."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await periodic.cancel(self._ticker)
        self._ticker = None

    async def reload(self, *, restore_holds: bool = False) -> None:
        """Re-read which devices running walk tests still wait for."""

        def read(session: Any) -> list[tuple[str, str, Any, list[tuple[str, str]]]]:
            return [
                (
                    t.site_id,
                    t.id,
                    t.ends_at,
                    [
                        (d.device_id, d.result)
                        for d in walktests.results(session=session, test_id=t.id)
                    ],
                )
                for t in walktests.running(session=session)
            ]

        tests = await work_in_thread(self.hub, read)
        waiting: dict[tuple[str | None, str], set[str]] = {}
        board = shared_board(self.hub) if restore_holds else None
        for site_id, test_id, ends_at, devices in tests:
            for device_id, result in devices:
                if result == "pending":
                    waiting.setdefault((site_id, device_id), set()).add(test_id)
            site = self.sites.get(site_id)
            if board is not None and site is not None:
                for held in walktests.held_by(site, [d for d, _ in devices]):
                    board.hold(site_id, held, ends_at)
        self._waiting = waiting

    async def handle(self, event: Event[Any]) -> None:
        """Mark walk-test devices seen; keep the index current."""
        if event.type is EVENT_WALK_TEST:
            if event.payload.action != "device_seen":
                await self.reload()
            return
        seen = [d for d in self._devices_of(event) if (event.site, d) in self._waiting]
        if not seen:
            return
        for device_id in seen:
            self._waiting.pop((event.site, device_id), None)
        context = event.context.child(actor=ACTOR)

        def mark(session: Any) -> None:
            for device_id in seen:
                walktests.see(
                    session=session,
                    site_id=event.site,
                    device_id=device_id,
                    context=context,
                    now=event.time,
                )

        await work_in_thread(self.hub, mark)

    def _devices_of(self, event: Event[Any]) -> list[str]:
        """Return the devices an event proves alive: its own, or a door's contact and readers."""
        device = event.device
        if device is None:
            return []
        found = [device]
        reader = getattr(event.payload, "reader_id", None)
        if isinstance(reader, str) and reader != device:
            found.append(reader)
        site = self.sites.get(event.site or "")
        if site is not None and event.type in (
            EVENT_DOOR_STATE,
            EVENT_DOOR_FORCED,
            EVENT_DOOR_HELD,
        ):
            found += [d.id for d in site.devices if d.door == device and d.type == "contact"]
        if site is not None and event.type is EVENT_DOOR_REX:
            found += [d.id for d in site.devices if d.door == device and d.type == "rex"]
        return found

    async def tick(self) -> None:
        """Finish walk tests whose window closed; open work orders for due schedules."""
        now = self.hub.clock.now()
        context = Context(actor=ACTOR)

        def due(session: Any) -> list[tuple[str, str]]:
            return [
                (t.site_id, t.id) for t in walktests.running(session=session) if t.ends_at <= now
            ]

        for site_id, test_id in await work_in_thread(self.hub, due):
            site = self.sites.get(site_id)
            if site is not None:
                await work_in_thread(self.hub, _finisher(site, test_id, context, now))
        await work_in_thread(
            self.hub, lambda session: planning.open_due(session=session, now=now, context=context)
        )


def _finisher(site: Site, test_id: str, context: Context, now: datetime) -> Callable[[Any], Any]:
    def finish(session: Any) -> Any:
        return walktests.finish(
            session=session, site=site, test_id=test_id, context=context, now=now
        )

    return finish


async def start_upkeep(hub: Hub, *, tick_s: float | None = 5.0) -> UpkeepRuntime:
    """Start walk tests and schedules on ``hub``; store it as ``hub.extras['upkeep']``."""
    runtime = UpkeepRuntime(hub, tick_s=tick_s)
    await runtime.start()
    hub.extras["upkeep"] = runtime
    return runtime
