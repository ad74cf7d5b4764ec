"""The running transport domain: GPS ingest, the live watch of every trip on the road.

Fixes arrive from the listeners (OwnTracks over MQTT, OsmAnd / Traccar Client over
HTTP, see :mod:`bastion.transport.listeners`) and are judged in the event loop: parsed,
filtered (:class:`~bastion.transport.gps.FixFilter`), measured against the trip's
corridor in one vectorised call per trip and batch, and watched. Positions are queued
and written in batches (telemetry); findings become alarms and ledger events at once,
in a worker thread. Refused reports are counted by reason and logged (never the
payload). A tick judges silence and lateness, and writes the queued positions.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bastion.access.runtime import engine_of
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_SENSOR_STATE,
    EVENT_TRANSPORT_TRIP,
    Event,
    SensorStatePayload,
    TransportTripPayload,
)
from bastion.core.periodic import cancel, repeat
from bastion.hub import Hub, work_in_thread
from bastion.site.schemas import Site
from bastion.transport import dock, service
from bastion.transport.geometry import Corridor, offsets_many
from bastion.transport.gps import Fix, FixFilter, Parsed, Reject, Signal
from bastion.transport.models import Position, Route, Trip, Vehicle
from bastion.transport.watch import Finding, TripWatch, WatchSettings

_LOGGER = logging.getLogger(__name__)
EXTRAS_KEY = "transport"
FLUSH_AT = 250  # positions per batch: a few ms of SQLite writing, so an alarm never waits long


@dataclass(frozen=True)
class Job:
    """A database job for the runtime's writer, and the future of its result."""

    work: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class Tracker:
    """A registered tracker: the vehicle it is fitted to."""

    vehicle_id: str
    site_id: str


def build_watch(trip: Trip, route: Route, settings: WatchSettings, heard_at: datetime) -> TripWatch:
    """Return the watch of a departed trip (corridor, destination and stop fences)."""
    corridor = Corridor([(p[0], p[1]) for p in route.points], route.width_m)
    *stops, last = trip.stops
    destination = corridor.fence(last["name"], last["lon"], last["lat"], settings.fence_radius_m)
    first = route.points[0]
    fences = [corridor.fence("origin", first[0], first[1], settings.fence_radius_m)]
    fences += [
        corridor.fence(s["name"], s["lon"], s["lat"], settings.fence_radius_m) for s in stops
    ]
    return TripWatch(
        trip_id=trip.id,
        site_id=trip.site_id,
        vehicle_id=trip.vehicle_id,
        corridor=corridor,
        destination=destination,
        fences=fences,
        arrive_by=trip.arrive_by,
        heard_at=heard_at,
        settings=settings,
        found=set(trip.raised or {}),
    )


class TransportRuntime:
    """Ingest GPS reports and watch the trips on the road for one hub."""

    def __init__(self, hub: Hub, settings: WatchSettings | None = None) -> None:
        self.hub = hub
        self.settings = settings or WatchSettings()
        self.filter = FixFilter()
        self.rejects: Counter[str] = Counter()
        self.accepted = 0
        self.trackers: dict[str, Tracker] = {}
        self.compartments: dict[str, str] = {}  # compartment sensor → vehicle id
        self.watches: dict[str, TripWatch] = {}
        self.on_road: dict[str, str] = {}  # vehicle id → trip id
        self.pending: list[dict[str, Any]] = []
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._jobs: asyncio.PriorityQueue[tuple[int, int, Job]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._seq = 0

    @property
    def sites(self) -> dict[str, Site]:
        """Return the sites loaded on the hub."""
        loaded: dict[str, Site] = self.hub.extras.get("sites", {})
        return loaded

    async def start(self, *, tick_s: float | None = 5.0) -> None:
        """Load trackers and trips on the road, follow trip milestones, start the tick."""
        await self.reload()
        self._unsubscribe = self.hub.bus.subscribe(
            self.handle, types=[EVENT_TRANSPORT_TRIP, EVENT_SENSOR_STATE]
        )
        if tick_s:
            self._ticker = asyncio.create_task(
                repeat(tick_s, self.tick, logger=_LOGGER, what="transport tick"),
                name="transport-tick",
            )

    async def stop(self) -> None:
        """Stop the tick and the subscription; write the queued positions."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel(self._ticker)
        self._ticker = None
        for task in list(self._tasks):
            await cancel(task)
        await self.drain()
        await cancel(self._writer)
        self._writer = None
        await self.flush()

    # --- the writer: alarms first, then position batches, one at a time --------------------------

    def submit(self, work: Callable[[], Awaitable[Any]], *, urgent: bool) -> asyncio.Future[Any]:
        """Queue a database job for the writer; alarms (urgent) go before position batches."""
        if self._jobs is None:
            self._jobs = asyncio.PriorityQueue()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="transport-writer")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._jobs.put_nowait((0 if urgent else 1, self._seq, Job(work, future)))
        return future

    async def _write_loop(self) -> None:
        assert self._jobs is not None
        while True:
            _, _, job = await self._jobs.get()
            try:
                job.future.set_result(await job.work())
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("a transport database job failed")
                job.future.set_result(None)
            finally:
                self._jobs.task_done()

    async def drain(self) -> None:
        """Wait until every queued alarm and position batch is written."""
        if self._jobs is not None and self._writer is not None and not self._writer.done():
            await self._jobs.join()

    def flush_soon(self) -> asyncio.Future[Any]:
        """Queue the pending positions as one batch for the writer."""
        rows, self.pending = self.pending, []
        return self.submit(lambda: self._write_positions(rows), urgent=False)

    # --- state ---------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Reload the trackers and the watches of every trip on the road."""
        now = self.hub.clock.now()

        def load(session: Session) -> tuple[dict[str, Tracker], list[tuple[Trip, Route]]]:
            vehicles = list(session.scalars(select(Vehicle).where(Vehicle.active.is_(True))))
            self.compartments = {
                v.compartment_sensor: v.id for v in vehicles if v.compartment_sensor
            }
            trackers = {v.tracker_id: Tracker(v.id, v.site_id) for v in vehicles}
            trips = list(session.scalars(select(Trip).where(Trip.status == "departed")))
            routes = {r.id: r for r in session.scalars(select(Route))}
            return trackers, [(t, routes[t.route_id]) for t in trips if t.route_id in routes]

        trackers, trips = await work_in_thread(self.hub, load)
        self.trackers = trackers
        watches: dict[str, TripWatch] = {}
        for trip, route in trips:
            old = self.watches.get(trip.id)
            watches[trip.id] = old or build_watch(
                trip, route, self.settings, trip.departed_at or now
            )
        self.watches = watches
        self.on_road = {w.vehicle_id: w.trip_id for w in watches.values()}

    async def handle(self, event: Event[Any]) -> None:
        """Follow departures, arrivals and cancellations; judge compartment openings."""
        payload = event.payload
        if isinstance(payload, SensorStatePayload):
            if payload.state == "active" and payload.device_id in self.compartments:
                trip_id = self.on_road.get(self.compartments[payload.device_id])
                watch = self.watches.get(trip_id) if trip_id else None
                if watch is not None:
                    findings = watch.compartment_opened(event.time)
                    if findings:
                        await self.submit(lambda: self.record(findings), urgent=True)
            return
        if isinstance(payload, TransportTripPayload) and payload.action in (
            "departed",
            "arrived",
            "cancelled",
        ):
            await self.reload()

    # --- ingest --------------------------------------------------------------------------------

    def _reject(self, reject: Reject) -> Reject:
        self.rejects[reject.reason] += 1
        _LOGGER.info(
            "GPS report refused (%s) from %s: %s",
            reject.reason,
            reject.device or "?",
            reject.detail,
        )
        return reject

    def judge(self, reports: Sequence[Parsed], received: datetime | None = None) -> list[Finding]:
        """Judge a batch of parsed reports in the loop; return what the watches found.

        Accepted fixes are queued for the batched write. Refusals are counted.
        """
        now = self.hub.clock.now()
        received = received or now
        findings: list[Finding] = []
        by_trip: dict[str | None, list[tuple[Fix, Tracker]]] = {}
        for report in reports:
            if isinstance(report, Reject):
                self._reject(report)
                continue
            tracker = self.trackers.get(report.device)
            if tracker is None:
                self._reject(Reject("unknown_device", "no vehicle has this tracker", report.device))
                continue
            trip_id = self.on_road.get(tracker.vehicle_id)
            if isinstance(report, Signal):
                watch = self.watches.get(trip_id) if trip_id else None
                if watch is not None:
                    findings += watch.signal(report)
                continue
            checked = self.filter.check(report, now)
            if isinstance(checked, Reject):
                self._reject(checked)
                continue
            self.accepted += 1
            by_trip.setdefault(trip_id, []).append((checked, tracker))
        watched: dict[int, list[tuple[Fix, Tracker, TripWatch]]] = {}
        for trip_id, fixes in by_trip.items():
            watch = self.watches.get(trip_id) if trip_id else None
            if watch is None:
                for fix, tracker in fixes:
                    self._queue(fix, tracker, None, None)
                continue
            group = watched.setdefault(id(watch.corridor.transformer), [])
            group.extend((fix, tracker, watch) for fix, tracker in fixes)
        for group in watched.values():
            xs, ys, distances = offsets_many(
                group[0][2].corridor.transformer,
                [w.corridor.line for _, _, w in group],
                [f.lon for f, _, _ in group],
                [f.lat for f, _, _ in group],
            )
            for i, (fix, tracker, watch) in enumerate(group):
                offset = float(distances[i])
                findings += watch.observe(fix, float(xs[i]), float(ys[i]), offset, received)
                self._queue(fix, tracker, watch.trip_id, offset)
        return findings

    def _queue(self, fix: Fix, tracker: Tracker, trip_id: str | None, offset: float | None) -> None:
        self.pending.append(
            {
                "vehicle_id": tracker.vehicle_id,
                "trip_id": trip_id,
                "at": fix.at,
                "lat": fix.lat,
                "lon": fix.lon,
                "speed_kmh": fix.speed_kmh,
                "accuracy_m": fix.accuracy_m,
                "offset_m": offset,
                "source": fix.source,
            }
        )

    async def ingest(self, reports: Sequence[Parsed]) -> list[Finding]:
        """Judge reports, raise what they lead to, write positions when enough are queued."""
        received = self.hub.clock.now()
        findings = self.judge(reports, received)
        alarms = [f for f in findings if f.kind != "arrived"]
        if alarms:
            self.submit(lambda: self.record(alarms), urgent=True)
        if len(alarms) < len(findings):
            arrivals = [f for f in findings if f.kind == "arrived"]
            self.submit(lambda: self.record(arrivals), urgent=False)
        if len(self.pending) >= FLUSH_AT:
            self.flush_soon()
        return findings

    async def record(self, findings: Sequence[Finding]) -> None:
        """Turn findings into alarms (and arrivals into milestones) in one unit of work."""
        context = Context(actor="transport")
        now = self.hub.clock.now()
        sites = self.sites

        def write(session: Session) -> None:
            for finding in findings:
                # Locked: the API may raise an alarm on the same trip at the same moment.
                trip = session.get(Trip, finding.trip_id, with_for_update=True)
                if trip is None:
                    continue
                if finding.kind == "arrived":
                    service.arrive(session=session, trip=trip, context=context, now=now)
                    continue
                service.raise_trip_alarm(
                    session=session,
                    site=sites.get(trip.site_id),
                    trip=trip,
                    kind=finding.kind,
                    message=finding.message,
                    context=context,
                    now=now,
                )

        await work_in_thread(self.hub, write)

    async def flush(self) -> int:
        """Write the queued positions in one batch; return how many."""
        rows, self.pending = self.pending, []
        return await self._write_positions(rows)

    async def _write_positions(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0

        def write(session: Session) -> None:
            session.connection().execute(insert(Position), rows)

        await work_in_thread(self.hub, write)
        return len(rows)

    async def tick(self) -> None:
        """Judge silence and lateness of every trip on the road; write queued positions."""
        now = self.hub.clock.now()
        await self.drain()
        findings = [f for w in list(self.watches.values()) for f in w.check(now)]
        if findings:
            await self.submit(lambda: self.record(findings), urgent=True)
        await self.flush()
        engine = engine_of(self.hub)
        context = Context(actor="transport")

        def close(session: Session) -> int:
            return dock.close_expired(session=session, context=context, now=now, engine=engine)

        await work_in_thread(self.hub, close)

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a listener task until the runtime stops."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def runtime_of(hub: Hub) -> TransportRuntime | None:
    """Return the transport runtime started on the hub, if any."""
    found = hub.extras.get(EXTRAS_KEY)
    return found if isinstance(found, TransportRuntime) else None


async def start_transport(
    hub: Hub, *, tick_s: float | None = 5.0, settings: WatchSettings | None = None
) -> TransportRuntime:
    """Start the transport domain on ``hub`` (``hub.extras['transport']``). Must run in the loop.

    The GPS listeners start when configured (``BASTION_TRANSPORT_OWNTRACKS_MQTT``
    host:port, ``BASTION_TRANSPORT_OSMAND_PORT``); see :mod:`bastion.transport.listeners`.
    """
    from bastion.transport import listeners

    runtime = TransportRuntime(hub, settings)
    hub.extras[EXTRAS_KEY] = runtime
    await runtime.start(tick_s=tick_s)
    listeners.start_configured(runtime)
    return runtime
