"""Simulated site traffic published on the bus, so the demo looks like a working day.

One loop step is five simulated minutes. Staff badge in through the day, some
reads are denied, a door is occasionally held open, and once per simulated night
the loading-dock (or another exterior) door is forced. Events carry real time
stamps; the simulated time of day is in the detail text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ALARM_RAISED,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_STATE,
    AccessDecisionPayload,
    AlarmPayload,
    DoorPayload,
    Event,
)
from bastion.integrations.simulator.readers import ReaderProcesses
from bastion.site.schemas import OUTSIDE, DeviceType, Door, Site

_LOGGER = logging.getLogger(__name__)
DENY_REASONS = ("outside_schedule", "no_level_for_door", "unknown_credential", "expired")
UNPLUGGED_S = 25.0
"""Real seconds a reader stays unplugged each simulated morning (past its 10 s grace)."""


class SimulatorConfig(BaseModel):
    """Settings of the traffic simulator."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["simulator"] = Field(
        default="simulator", title="Type", description="Integration type."
    )
    site_id: str = Field(title="Site", description="Site whose doors to simulate.")
    step_s: float = Field(
        default=1.0, gt=0, title="Step", description="Real seconds per five simulated minutes."
    )
    start: time = Field(
        default=time(17, 0),
        title="Start",
        description="Simulated start time (late afternoon: the first night comes within two minutes).",
    )
    seed: int | None = Field(
        default=None, title="Seed", description="Random seed (repeatable runs)."
    )
    people: int = Field(default=24, ge=1, title="People", description="Size of the staff roster.")
    osdp_folder: Path | None = Field(
        default=None,
        title="OSDP folder",
        description="Run simulated OSDP readers with their ptys here and badge through them.",
    )
    first_card: int = Field(
        default=1001,
        title="First card",
        description="Card number of the first demo person (facility 1).",
    )


@dataclass
class _Minute:
    minutes: int

    @property
    def label(self) -> str:
        return f"{(self.minutes // 60) % 24:02d}:{self.minutes % 60:02d}"

    @property
    def is_night(self) -> bool:
        hour = (self.minutes // 60) % 24
        return hour >= 22 or hour < 6


class SimulatorIntegration:
    """Publish a plausible stream of door and access events for one site.

    With real readers (OSDP), one of them is unplugged for a while each simulated
    morning, so the demo shows a device-trouble alarm raised once and cleared on recovery.
    """

    domain: ClassVar[str] = "simulator"
    config_model: ClassVar[type[BaseModel]] = SimulatorConfig

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.readers: ReaderProcesses | None = None
        self._decisions: asyncio.Queue[Event[Any]] | None = None
        self._unsubscribe: Any = None
        self._outages: set[asyncio.Task[None]] = set()

    async def setup(self, hub: Any, config: Any) -> None:
        """Start the traffic loop for the configured site."""
        sites: dict[str, Site] = hub.extras.get("sites", {})
        site = sites.get(config.site_id)
        if site is None:
            raise ValueError(f"simulator: site {config.site_id!r} is not loaded")
        if config.osdp_folder is not None:
            self.readers = ReaderProcesses(site, config.osdp_folder)
            store = hub.extras.get("osdp_keys")
            if store is not None:
                await asyncio.to_thread(self.readers.reconcile_keys, store)
            await self.readers.start()
            self._decisions = asyncio.Queue()
            queue = self._decisions
            self._unsubscribe = hub.bus.subscribe(queue.put_nowait, types=[EVENT_ACCESS_DECISION])
        self._task = asyncio.create_task(self._run(hub, site, config), name="simulator")

    async def unload(self) -> None:
        """Stop the traffic loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for outage in list(self._outages):
            outage.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.readers is not None:
            await self.readers.stop()
            self.readers = None

    async def _run(self, hub: Any, site: Site, config: SimulatorConfig) -> None:
        rng = random.Random(config.seed)
        readers = [d for d in site.devices if d.type is DeviceType.READER and d.door]
        doors = {d.id: d for d in site.doors}
        exterior = [d for d in site.doors if OUTSIDE in (d.from_zone, d.to_zone)] or list(
            site.doors
        )
        people = [f"emp-{i:03d}" for i in range(1, config.people + 1)]
        clock = _Minute(config.start.hour * 60 + config.start.minute)
        forced_tonight = False
        while True:
            try:
                badge = self._badge_osdp if self.readers is not None else self._badge
                forced = self._forced_osdp if self.readers is not None else self._forced
                if clock.is_night:
                    if not forced_tonight and clock.label >= "02:00" and clock.label < "03:00":
                        forced_tonight = True
                        await forced(hub, site, rng.choice(exterior), clock)
                    elif rng.random() < 0.1 and readers:
                        await badge(
                            hub, site, doors, rng, rng.choice(readers), people, clock, config
                        )
                else:
                    forced_tonight = False
                    if clock.label == "10:00" and self.readers is not None and readers:
                        self._unplug_for_a_while(rng.choice(readers).id)
                    for _ in range(rng.randint(1, 3)):
                        if readers:
                            await badge(
                                hub, site, doors, rng, rng.choice(readers), people, clock, config
                            )
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("simulator step failed; continuing")
            clock.minutes += 5
            await asyncio.sleep(config.step_s)

    def _unplug_for_a_while(self, reader_id: str, seconds: float = UNPLUGGED_S) -> None:
        """Pull a reader's cable once a day and plug it back: one trouble alarm, then cleared."""

        async def outage() -> None:
            if self.readers is None:
                return
            _LOGGER.info("demo: reader %s unplugged for %.0f s", reader_id, seconds)
            await self.readers.send(reader_id, "unplug")
            await asyncio.sleep(seconds)
            if self.readers is not None:
                await self.readers.send(reader_id, "plug")

        task = asyncio.get_running_loop().create_task(outage(), name="demo-unplug")
        self._outages.add(task)
        task.add_done_callback(self._outages.discard)

    async def _badge(
        self,
        hub: Any,
        site: Site,
        doors: dict[str, Door],
        rng: random.Random,
        reader: Any,
        people: list[str],
        clock: _Minute,
        config: SimulatorConfig,
    ) -> None:
        door = doors[reader.door]
        person = rng.choice(people)
        granted = rng.random() > 0.12
        reason = "granted" if granted else rng.choice(DENY_REASONS)
        ctx = Context(actor=f"device:{reader.id}")
        await hub.bus.publish(
            EVENT_ACCESS_DECISION,
            AccessDecisionPayload(
                door_id=door.id,
                reader_id=reader.id,
                subject=person,
                credential_ref=f"sim-card-{person}",
                granted=granted,
                reason=reason,
                detail=f"simulated {clock.label}",
            ),
            context=ctx,
            site=site.site.id,
        )
        self.published += 1
        if not granted:
            return
        child = ctx.child()
        await hub.bus.publish(
            EVENT_DOOR_STATE,
            DoorPayload(door_id=door.id, state="open", zone_id=door.to_zone),
            context=child,
            site=site.site.id,
        )
        self.published += 1
        if rng.random() < 0.06:
            held = door.held_open_s + rng.uniform(5, 60)
            event = await hub.bus.publish(
                EVENT_DOOR_HELD,
                DoorPayload(door_id=door.id, state="held", zone_id=door.to_zone, duration_s=held),
                context=child,
                site=site.site.id,
            )
            await hub.bus.publish(
                EVENT_ALARM_RAISED,
                AlarmPayload(
                    alarm_type="door_held",
                    priority=3,
                    message=f"{door.name} held open {held:.0f} s (limit {door.held_open_s:.0f} s)",
                    zone_id=door.to_zone,
                    door_id=door.id,
                    source_event_id=event.id,
                ),
                context=child.child(actor="system"),
                site=site.site.id,
            )
            self.published += 2
        await hub.bus.publish(
            EVENT_DOOR_STATE,
            DoorPayload(door_id=door.id, state="closed", zone_id=door.to_zone),
            context=child,
            site=site.site.id,
        )
        self.published += 1

    async def _badge_osdp(
        self,
        hub: Any,
        site: Site,
        doors: dict[str, Door],
        rng: random.Random,
        reader: Any,
        people: list[str],
        clock: _Minute,
        config: SimulatorConfig,
    ) -> None:
        """Present a card at a simulated reader; open the door only if the panel granted."""
        assert self.readers is not None and self._decisions is not None
        if reader.id not in self.readers.lines:
            return
        index = rng.randrange(len(people))
        number = config.first_card + index if rng.random() > 0.08 else 60000 + index
        while not self._decisions.empty():
            self._decisions.get_nowait()
        await self.readers.send(reader.id, "card", f"1:{number}")
        self.published += 1
        granted = await self._await_decision(reader.id)
        io_reader = _io_reader(site, reader.door)
        if not granted or io_reader is None:
            return
        door = doors[reader.door]
        await self.readers.send(io_reader, "door", "open")
        held = rng.random() < 0.06
        await asyncio.sleep(door.held_open_s + 5 if held else min(2.0, config.step_s))
        await self.readers.send(io_reader, "door", "close")

    async def _await_decision(self, reader_id: str, within_s: float = 3.0) -> bool:
        assert self._decisions is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while (left := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(self._decisions.get(), left)
            except TimeoutError:
                return False
            if event.payload.reader_id == reader_id:
                return bool(event.payload.granted)
        return False

    async def _forced_osdp(self, hub: Any, site: Site, door: Door, clock: _Minute) -> None:
        """Open a door at its reader's contact input with no grant: the panel sees it forced."""
        assert self.readers is not None
        io_reader = _io_reader(site, door.id)
        if io_reader is None or io_reader not in self.readers.lines:
            return
        await self.readers.send(io_reader, "door", "open")
        await asyncio.sleep(5)
        await self.readers.send(io_reader, "door", "close")
        self.published += 1

    async def _forced(self, hub: Any, site: Site, door: Door, clock: _Minute) -> None:
        ctx = Context(actor="device:sim-contact")
        event = await hub.bus.publish(
            EVENT_DOOR_FORCED,
            DoorPayload(door_id=door.id, state="forced", zone_id=door.to_zone),
            context=ctx,
            site=site.site.id,
        )
        await hub.bus.publish(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type="door_forced",
                priority=1,
                message=f"{door.name} forced open at simulated {clock.label}",
                zone_id=door.to_zone,
                door_id=door.id,
                source_event_id=event.id,
            ),
            context=ctx.child(actor="system"),
            site=site.site.id,
        )
        self.published += 2


def _io_reader(site: Site, door_id: str) -> str | None:
    """Return the reader whose inputs watch a door (its entry reader, else any reader)."""
    readers = [d for d in site.devices if d.type is DeviceType.READER and d.door == door_id]
    readers.sort(key=lambda d: (d.side != "entry", d.id))
    return readers[0].id if readers else None


def simulated_day_seconds(step_s: float) -> float:
    """Return how many real seconds one simulated day takes."""
    return timedelta(days=1).total_seconds() / 300 * step_s
