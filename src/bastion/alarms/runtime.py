"""The running alarms domain: turn device events into alarms, and ingest alarms others raise.

Subscribes to door, device-health, sensor, video, alarm and incident-request events.
Each alarm is raised in its own unit of work (the alarm row, its incident and the staged
``alarm.raised`` event commit together). Intrusion sensors honour arming, bypasses and
entry delays; environmental thresholds fire once per excursion. While the database is
unreachable, the alarm work is kept in memory, in order, and done with the original
times once the database answers and the ledger's outbox has been written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bastion.alarms import service
from bastion.alarms.service import AlarmSpec, RaiseResult
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.automation.arming import ArmingBoard, shared_board
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_DEVICE_HEALTH,
    EVENT_DEVICE_HOLD,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_INCIDENT,
    EVENT_SENSOR_BYPASS,
    EVENT_SENSOR_READING,
    EVENT_SENSOR_STATE,
    EVENT_VIDEO_DETECTION,
    EVENT_ZONE_ARMING,
    AlarmPayload,
    DeviceHealthPayload,
    DoorPayload,
    Event,
    IncidentPayload,
    SensorReadingPayload,
    SensorStatePayload,
    VideoDetectionPayload,
)
from bastion.site.schemas import Site
from bastion.store.db import is_unreachable

_LOGGER = logging.getLogger(__name__)
ALARM_SOURCES = (
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DEVICE_HEALTH,
    EVENT_SENSOR_READING,
    EVENT_SENSOR_STATE,
    EVENT_VIDEO_DETECTION,
    EVENT_ALARM_RAISED,
    EVENT_INCIDENT,
    EVENT_ZONE_ARMING,
    EVENT_SENSOR_BYPASS,
    EVENT_DEVICE_HOLD,
)
INTRUSION_TYPES = {"motion": "intrusion", "contact": "intrusion", "glass_break": "glass_break"}
LIFE_SAFETY_TYPES = {"panic": "panic", "duress": "duress"}
HEALTH_TYPES = {"tamper": "tamper", "offline": "device_offline", "trouble": "device_trouble"}


@dataclass
class _PendingEntry:
    deadline: datetime
    event: Event[Any]
    spec: AlarmSpec


class AlarmsRuntime:
    """Raise and correlate alarms from the bus for the sites loaded on the hub."""

    def __init__(
        self,
        hub: Any,
        *,
        sops: SopCatalogue | None = None,
        board: ArmingBoard | None = None,
        window_s: float = service.CORRELATION_WINDOW_S,
    ) -> None:
        self.hub = hub
        self.sops = sops or load_sops()
        self.sites: dict[str, Site] = hub.extras.get("sites", {})
        self.board = board or shared_board(hub)
        self.window_s = window_s
        settings = getattr(hub, "settings", None)
        self.repeat_window_s: float = getattr(
            settings, "alarm_repeat_window_seconds", service.REPEAT_WINDOW_S
        )
        self._adjacent = {sid: service.adjacency_of(site) for sid, site in self.sites.items()}
        self._pending: dict[tuple[str | None, str], _PendingEntry] = {}
        self._over: set[tuple[str | None, str, str]] = set()
        self._unsubscribe: Any = None
        self._ticker: asyncio.Task[None] | None = None
        self.raised: list[str] = []
        self._deferred: deque[Callable[[], object]] = deque()

    async def start(self, *, tick_s: float | None = 0.5) -> None:
        """Subscribe to the bus and (optionally) start the entry-delay ticker.

        Must run in the event loop.
        """
        self._unsubscribe = self.hub.bus.subscribe(self.handle, types=ALARM_SOURCES)
        if tick_s:
            self._ticker = asyncio.create_task(self._tick_loop(tick_s), name="alarms-ticker")

    async def stop(self) -> None:
        """Unsubscribe and stop the ticker."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                self.tick()
            except Exception:
                _LOGGER.exception("alarms ticker failed")

    def _site(self, event: Event[Any]) -> Site | None:
        if event.site is not None:
            return self.sites.get(event.site)
        return next(iter(self.sites.values())) if len(self.sites) == 1 else None

    def handle(self, event: Event[Any]) -> None:
        """React to one event (never raises; errors are logged by the bus)."""
        payload = event.payload
        if event.type in (EVENT_ZONE_ARMING, EVENT_SENSOR_BYPASS, EVENT_DEVICE_HOLD):
            self.board.apply(event)
            if event.type is EVENT_ZONE_ARMING and payload.state == "disarmed":
                self._pending.pop((event.site, payload.zone_id), None)
            return
        if isinstance(payload, AlarmPayload):
            self._store(partial(self._ingest, event, payload))
            return
        if isinstance(payload, IncidentPayload):
            if payload.action == "requested":
                self._store(partial(self._open_requested, event, payload))
            return
        spec = self.classify(event)
        if spec is None:
            return
        self._store(partial(self.raise_, event, spec, now=self.hub.clock.now()))

    @property
    def deferred(self) -> int:
        """Return how many alarm writes wait for the database."""
        return len(self._deferred)

    def _store(self, work: Callable[[], object]) -> None:
        """Do ``work`` now, or keep it (behind older kept work) while the database is away."""
        self.retry_deferred()
        if not self._deferred:
            try:
                work()
                return
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                _LOGGER.warning("database unreachable; the alarm is raised once it answers")
        self._deferred.append(work)

    def retry_deferred(self) -> None:
        """Do the kept alarm work, oldest first, once the ledger's outbox has been written.

        Waiting for the outbox keeps each ``alarm.raised`` row after the event that caused it.
        """
        ledger = self.hub.ledger
        while self._deferred and not ledger.database_down and not ledger.backlog:
            try:
                self._deferred[0]()
            except Exception as exc:
                if is_unreachable(exc):
                    return
                _LOGGER.exception("raising a kept alarm failed")
            self._deferred.popleft()

    # -- classification ----------------------------------------------------------------------

    def classify(self, event: Event[Any]) -> AlarmSpec | None:
        """Return the alarm an event calls for now, or None (pending entries return None)."""
        payload = event.payload
        if self.board.is_held(event.site, event.device, event.time):
            return None  # under a walk test: the technician is triggering it on purpose
        site = self._site(event)
        if isinstance(payload, DoorPayload):
            name = _door_name(site, payload.door_id)
            if event.type is EVENT_DOOR_FORCED:
                return AlarmSpec(
                    "door_forced", f"{name} forced open", payload.zone_id, payload.door_id
                )
            if event.type is EVENT_DOOR_HELD:
                held = f" {payload.duration_s:.0f} s" if payload.duration_s else ""
                return AlarmSpec(
                    "door_held", f"{name} held open{held}", payload.zone_id, payload.door_id
                )
            return None
        if isinstance(payload, DeviceHealthPayload):
            alarm_type = HEALTH_TYPES.get(payload.status)
            if alarm_type is None:
                return None
            zone = _device_zone(site, payload.device_id)
            detail = f": {payload.detail}" if payload.detail else ""
            return AlarmSpec(
                alarm_type,
                f"{payload.device_id} {payload.status}{detail}",
                zone,
                device_id=payload.device_id,
            )
        if isinstance(payload, SensorReadingPayload):
            return self._threshold(event, site, payload)
        if isinstance(payload, SensorStatePayload):
            return self._sensor(event, site, payload)
        if isinstance(payload, VideoDetectionPayload):
            if payload.kind == "loitering":
                text = f"{payload.label} loitering"
            elif payload.kind == "stationary_vehicle":
                text = f"{payload.label} stationary"
            else:
                return None
            where = f" in {payload.zone_id}" if payload.zone_id else ""
            return AlarmSpec(
                payload.kind,
                f"{text}{where} ({payload.camera_id})",
                payload.zone_id,
                device_id=payload.camera_id,
            )
        return None

    def _threshold(
        self, event: Event[Any], site: Site | None, payload: SensorReadingPayload
    ) -> AlarmSpec | None:
        if site is None:
            return None
        try:
            device = site.device(payload.device_id)
        except KeyError:
            return None
        key = (event.site, payload.device_id, payload.quantity)
        for threshold in device.thresholds:
            if threshold.quantity != payload.quantity:
                continue
            over = (threshold.above is not None and payload.value > threshold.above) or (
                threshold.below is not None and payload.value < threshold.below
            )
            if not over:
                self._over.discard(key)
                return None
            if key in self._over:
                return None  # still in the same excursion: one alarm per excursion
            self._over.add(key)
            unit = f" {threshold.unit}" if threshold.unit else ""
            return AlarmSpec(
                "environmental",
                f"{payload.quantity} {payload.value:g}{unit} at {device.name or device.id}",
                _device_zone(site, device.id),
                device_id=device.id,
            )
        return None

    def _sensor(
        self, event: Event[Any], site: Site | None, payload: SensorStatePayload
    ) -> AlarmSpec | None:
        if payload.state != "active":
            return None
        zone = payload.zone_id or _device_zone(site, payload.device_id)
        now = event.time
        if payload.sensor_type in LIFE_SAFETY_TYPES:
            return AlarmSpec(
                LIFE_SAFETY_TYPES[payload.sensor_type],
                f"{payload.sensor_type} button {payload.device_id} pressed",
                zone,
                device_id=payload.device_id,
            )
        alarm_type = INTRUSION_TYPES.get(payload.sensor_type)
        if alarm_type is None or zone is None:
            return None
        if self.board.is_bypassed(event.site, payload.device_id, now):
            return None
        if not self.board.is_armed(event.site, zone, now):
            return None
        spec = AlarmSpec(
            alarm_type,
            f"{payload.sensor_type} {payload.device_id} in armed zone {zone}",
            zone,
            device_id=payload.device_id,
        )
        delay = self.board.entry_delay(event.site, zone)
        if delay > 0 and payload.sensor_type != "glass_break":
            self._pending.setdefault(
                (event.site, zone), _PendingEntry(now + timedelta(seconds=delay), event, spec)
            )
            return None
        return spec

    # -- raising -----------------------------------------------------------------------------

    def tick(self) -> None:
        """Raise the intrusion alarms whose entry delay ran out without a disarm."""
        now = self.hub.clock.now()
        self.retry_deferred()
        for key, entry in list(self._pending.items()):
            if now >= entry.deadline:
                del self._pending[key]
                if self.board.is_armed(key[0], key[1], now):
                    self._store(partial(self.raise_, entry.event, entry.spec, now=now))

    def raise_(
        self, event: Event[Any], spec: AlarmSpec, *, now: datetime | None = None
    ) -> RaiseResult:
        """Raise ``spec`` caused by ``event`` in one unit of work (at ``now``, default: now)."""
        site = self._site(event)
        with self.hub.unit_of_work() as session:
            result = service.raise_alarm(
                session=session,
                spec=spec,
                site=site,
                site_id=event.site,
                context=event.context.child(actor="alarms"),
                now=now or self.hub.clock.now(),
                sops=self.sops,
                source_event=event,
                adjacent=self._adjacent.get(event.site or "") if event.site else None,
                window_s=self.window_s,
                repeat_window_s=self.repeat_window_s,
            )
        if result.created:
            self.raised.append(result.alarm.id)
        return result

    def _ingest(self, event: Event[Any], payload: AlarmPayload) -> None:
        site = self._site(event)
        with self.hub.unit_of_work() as session:
            result = service.raise_alarm(
                session=session,
                spec=AlarmSpec(
                    payload.alarm_type,
                    payload.message,
                    payload.zone_id,
                    payload.door_id,
                    payload.device_id,
                    payload.priority,
                ),
                site=site,
                site_id=event.site,
                context=event.context,
                now=event.time,
                sops=self.sops,
                raised_event=event,
                adjacent=self._adjacent.get(event.site or "") if event.site else None,
                window_s=self.window_s,
                repeat_window_s=self.repeat_window_s,
            )
        if result.created:
            self.raised.append(result.alarm.id)

    def _open_requested(self, event: Event[Any], payload: IncidentPayload) -> None:
        zone = payload.zone_ids[0] if payload.zone_ids else None
        with self.hub.unit_of_work() as session:
            found = service.correlate(
                session=session,
                site_id=event.site,
                zone_id=zone,
                adjacent=self._adjacent.get(event.site or "", lambda _z: ()),
                now=event.time,
                window_s=self.window_s,
            )
            if found is None:
                service.open_incident(
                    session=session,
                    site_id=event.site,
                    title=payload.title or "Incident",
                    priority=payload.priority,
                    zone_ids=payload.zone_ids,
                    context=event.context.child(actor="alarms"),
                    now=event.time,
                    source_event_id=event.id,
                )
            else:
                # A request about the same place and moment (a rule reacting to the alarm's
                # own cause) joins that incident; a more urgent one escalates it on the record.
                service.escalate_incident(
                    session,
                    found,
                    priority=payload.priority,
                    reason=payload.title or found.title,
                    context=event.context.child(actor="alarms"),
                    now=event.time,
                )


def _door_name(site: Site | None, door_id: str) -> str:
    if site is None:
        return f"Door {door_id}"
    try:
        return site.door(door_id).name
    except KeyError:
        return f"Door {door_id}"


def _device_zone(site: Site | None, device_id: str) -> str | None:
    if site is None:
        return None
    try:
        device = site.device(device_id)
    except KeyError:
        return None
    if device.zone is not None:
        return device.zone
    if device.door is not None:
        try:
            return site.door(device.door).to_zone
        except KeyError:
            return None
    return device.covers[0] if device.covers else None


async def start_alarms(
    hub: Any, *, sops: SopCatalogue | None = None, tick_s: float | None = 0.5
) -> AlarmsRuntime:
    """Start the alarms domain on ``hub``; store it as ``hub.extras['alarms']``.

    Must run in the event loop.
    """
    runtime = AlarmsRuntime(hub, sops=sops)
    await runtime.start(tick_s=tick_s)
    hub.extras["alarms"] = runtime
    return runtime
