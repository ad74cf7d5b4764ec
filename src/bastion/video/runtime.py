"""The running video domain: camera workers, evidence, alarms and the face second factor.

``start_video(hub)`` reads the analysed cameras and their rules, starts one worker thread
per camera, and turns rule hits into the same typed ``video.detection`` events Frigate's
integration publishes (so alarms, automation and bookmarks work unchanged); after-hours
presence becomes an alarm of its own. Every hit is stored with a snapshot (box drawn) in
the data directory. It also installs :class:`FaceWitness` as the access engine's second
factor, feeds it ``video.face`` events, and raises an alarm on a face mismatch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bastion.core.context import Context, new_id
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ALARM_RAISED,
    EVENT_DEVICE_STATUS,
    EVENT_FACE_SEEN,
    EVENT_VIDEO_CONFIG,
    EVENT_VIDEO_DETECTION,
    EVENT_VIDEO_RULE,
    AccessDecisionPayload,
    AlarmPayload,
    DeviceStatusPayload,
    Event,
    FaceSeenPayload,
    VideoDetectionPayload,
    VideoRulePayload,
)
from bastion.core.periodic import cancel, repeat
from bastion.hub import Hub, work_in_thread
from bastion.site.schemas import Site
from bastion.store.files import secure_dir
from bastion.video import service
from bastion.video.biometrics import FaceDoor, FaceWitness
from bastion.video.detector import NanoDet
from bastion.video.models import VideoDetection
from bastion.video.pipeline import Detector
from bastion.video.rules import RuleHit
from bastion.video.worker import CameraWorker, draw

_LOGGER = logging.getLogger(__name__)
EXTRAS_KEY = "video"
HEALTH_EVERY_S = 60.0
UNKNOWN_FACE = "(unknown face)"
"""Who a recognised but unenrolled face is: somebody, never the cardholder."""
KIND_OF_RULE = {"loitering": "loitering", "parked": "stationary_vehicle"}


@dataclass(frozen=True)
class _Hit:
    worker: CameraWorker
    hit: RuleHit
    jpeg: bytes
    at: float


class VideoRuntime:
    """Camera workers and the face second factor of one hub."""

    def __init__(
        self,
        hub: Hub,
        *,
        detector: Callable[[], Detector] = NanoDet,
        tick_s: float | None = HEALTH_EVERY_S,
    ) -> None:
        self.hub = hub
        self.tick_s = tick_s
        self._ticker: asyncio.Task[None] | None = None
        self._reported: dict[tuple[str, str], int] = {}
        self.make_detector = detector
        self.workers: dict[tuple[str, str], CameraWorker] = {}
        self.witness = FaceWitness()
        self.faces: dict[tuple[str, str], str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sites(self) -> dict[str, Site]:
        """Return the sites loaded on the hub."""
        sites: dict[str, Site] = self.hub.extras.get("sites", {})
        return sites

    def evidence_dir(self, site_id: str) -> Path:
        """Return (and make, owner-only) the folder of a site's snapshots."""
        path = self.hub.settings.data_dir / "video" / site_id
        secure_dir(path.parent, create=True)
        secure_dir(path, create=True)
        return path

    async def start(self) -> None:
        """Install the face factor, follow the bus and start the cameras. Must run in the loop."""
        self._loop = asyncio.get_running_loop()
        engine = self.hub.extras.get("access_engine")
        if engine is not None:
            engine.second_factor = self.witness
        bus = self.hub.bus
        self._unsubscribe = [
            bus.subscribe(self._face, types=[EVENT_FACE_SEEN]),
            bus.subscribe(self._decision, types=[EVENT_ACCESS_DECISION]),
            bus.subscribe(self._config, types=[EVENT_VIDEO_CONFIG]),
        ]
        await self.reload()
        if self.tick_s:
            self._ticker = asyncio.create_task(
                repeat(self.tick_s, self.tick, logger=_LOGGER, what="video health tick"),
                name="video-health",
            )

    async def tick(self) -> None:
        """Report frame drops in device health and erase biometrics past their retention."""
        for key, worker in list(self.workers.items()):
            dropped = worker.stats.dropped
            if worker.online and dropped != self._reported.get(key, 0):
                self._reported[key] = dropped
                self._status_from_thread(worker, True, "analysing")

        def expire(session: Any) -> int:
            return service.expire(
                session=session,
                now=self.hub.clock.now(),
                context=Context(actor="system:video"),
                engine=self.hub.extras.get("access_engine"),
            )

        if await work_in_thread(self.hub, expire):
            await self.reload()

    async def stop(self) -> None:
        """Stop every camera and unsubscribe."""
        await cancel(self._ticker)
        self._ticker = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        workers = list(self.workers.values())
        self.workers = {}
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
        for task in list(self._tasks):
            await task
        engine = self.hub.extras.get("access_engine")
        if engine is not None and engine.second_factor is self.witness:
            engine.second_factor = None

    async def reload(self) -> None:
        """Re-read cameras, rules, face doors and the face library; restart changed cameras."""

        def read(session: Any) -> tuple[Any, ...]:
            now = self.hub.clock.now()
            cameras = service.list_cameras(session=session)
            rules = {
                (c.site_id, c.camera_id): [
                    service.spec_of(r)
                    for r in service.list_rules(
                        session=session, site_id=c.site_id, camera_id=c.camera_id
                    )
                    if r.enabled
                ]
                for c in cameras
            }
            doors = service.face_doors(session=session)
            faces = service.face_library(session=session, now=now)
            plain = [
                (c.site_id, c.camera_id, c.source, c.fps, c.motion_gate, c.enabled) for c in cameras
            ]
            door_map = {
                f"{d.site_id}/{d.door_id}": FaceDoor(d.camera_id, d.window_s, d.min_score)
                for d in doors
            }
            return plain, rules, door_map, faces

        cameras, rules, doors, faces = await work_in_thread(self.hub, read)
        self.witness.doors = doors
        self.faces = faces
        wanted = {}
        for site_id, camera_id, source, fps, gate, enabled in cameras:
            if enabled and site_id in self.sites:
                wanted[(site_id, camera_id)] = (source, fps, gate, rules[(site_id, camera_id)])
        for key in list(self.workers):
            worker = self.workers[key]
            spec = wanted.get(key)
            if spec is None or spec != (worker.source, worker.fps, worker.gate, worker.specs):
                await asyncio.to_thread(worker.stop)
                del self.workers[key]
        for key, (source, fps, gate, specs) in wanted.items():
            if key not in self.workers:
                self._start_worker(key[0], key[1], source, fps, gate, specs)

    def _start_worker(
        self, site_id: str, camera_id: str, source: str, fps: float, gate: bool, specs: list[Any]
    ) -> None:
        site = self.sites[site_id]
        worker = CameraWorker(
            site_id=site_id,
            camera_id=camera_id,
            source=source,
            fps=fps,
            specs=specs,
            make_detector=self.make_detector,
            timezone=ZoneInfo(site.site.timezone),
            on_hits=self._hits_from_thread,
            on_status=self._status_from_thread,
            gate=gate,
        )
        self.workers[(site_id, camera_id)] = worker
        worker.start()

    # --- from the camera threads ------------------------------------------------------------

    def _submit(self, coro: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return

        def schedule() -> None:
            task = loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(schedule)

    def _hits_from_thread(
        self, worker: CameraWorker, hits: list[RuleHit], frame: np.ndarray, at: float
    ) -> None:
        for hit in hits:
            label = f"{hit.label} {hit.rule.kind}"
            jpeg = draw(frame, [(label, hit.box)]) if hit.rule.kind != "line" else b""
            self._submit(self._record(_Hit(worker, hit, jpeg, at)))

    def _status_from_thread(self, worker: CameraWorker, online: bool, detail: str) -> None:
        stats = worker.stats
        text = f"{detail}; frames {stats.frames}, dropped {stats.dropped}"
        payload = DeviceStatusPayload(
            device_id=worker.camera_id, kind="camera", online=online, detail=text[:200]
        )
        self._submit(
            self.hub.bus.publish(
                EVENT_DEVICE_STATUS,
                payload,
                context=Context(actor=f"device:{worker.camera_id}"),
                site=worker.site_id,
            )
        )

    # --- in the loop ------------------------------------------------------------------------

    async def _record(self, item: _Hit) -> None:
        """Store the hit and its snapshot, then publish its event (alarms follow)."""
        try:
            await self._record_hit(item)
        except Exception:
            _LOGGER.exception("camera %s: a detection could not be recorded", item.worker.camera_id)

    async def _record_hit(self, item: _Hit) -> None:
        worker, hit = item.worker, item.hit
        site_id, rule = worker.site_id, hit.rule
        detection_id = new_id()
        snapshot: str | None = None
        if item.jpeg:
            path = self.evidence_dir(site_id) / f"{detection_id}.jpg"
            await asyncio.to_thread(path.write_bytes, item.jpeg)
            path.chmod(0o600)
            snapshot = path.name
        kind = KIND_OF_RULE.get(rule.kind, rule.kind)
        detail = {
            "loitering": f"in the zone {hit.seconds:.0f} s",
            "stationary_vehicle": f"still {hit.seconds:.0f} s",
            "line": f"crossed {hit.direction}",
            "after_hours": "present after hours",
        }.get(kind, "")
        when = datetime.fromtimestamp(item.at, UTC)

        def store(session: Any) -> None:
            session.add(
                VideoDetection(
                    id=detection_id,
                    site_id=site_id,
                    camera_id=worker.camera_id,
                    rule_id=rule.id,
                    kind="line_cross" if kind == "line" else kind,
                    label=hit.label[:32],
                    zone_id=rule.zone_id,
                    track=hit.track_id,
                    score=round(hit.score, 3),
                    box=[round(v, 1) for v in hit.box],
                    detail=detail,
                    snapshot=snapshot,
                    at=when,
                )
            )

        await work_in_thread(self.hub, store)
        context = Context(actor=f"device:{worker.camera_id}")
        bus = self.hub.bus
        if kind in ("loitering", "stationary_vehicle"):
            await bus.publish(
                EVENT_VIDEO_DETECTION,
                VideoDetectionPayload(
                    camera_id=worker.camera_id,
                    kind=kind,
                    label=hit.label[:32],
                    zone_id=rule.zone_id,
                    source_zones=(rule.id,),
                    source_id=detection_id,
                    score=round(hit.score, 3),
                ),
                context=context,
                site=site_id,
            )
            return
        rule_kind = "line_cross" if kind == "line" else "after_hours"
        event = await bus.publish(
            EVENT_VIDEO_RULE,
            VideoRulePayload(
                camera_id=worker.camera_id,
                kind=rule_kind,
                label=hit.label[:32],
                zone_id=rule.zone_id,
                rule_id=rule.id,
                detail=detail,
            ),
            context=context,
            site=site_id,
        )
        if rule_kind == "after_hours":
            where = f" in {rule.zone_id}" if rule.zone_id else ""
            await bus.publish(
                EVENT_ALARM_RAISED,
                AlarmPayload(
                    alarm_type="after_hours_presence",
                    priority=2,
                    message=f"{hit.label} present after hours{where} ({worker.camera_id})",
                    zone_id=rule.zone_id,
                    device_id=worker.camera_id,
                    source_event_id=event.id,
                ),
                context=context.child(),
                site=site_id,
            )

    def _face(self, event: Event[Any]) -> None:
        payload = event.payload
        if not isinstance(payload, FaceSeenPayload):
            return
        person = payload.subject
        if person is None and payload.face_key is not None and event.site is not None:
            person = self.faces.get((event.site, payload.face_key), UNKNOWN_FACE)
        self.witness.observe(payload.camera_id, person, payload.score, event.time.timestamp())

    def person_for_face(self, site_id: str, name: str) -> str | None:
        """Return the person enrolled with a face-library name at a site, if any."""
        return self.faces.get((site_id, service.match_hash("face", name)))

    async def _decision(self, event: Event[Any]) -> None:
        payload = event.payload
        if not isinstance(payload, AccessDecisionPayload) or payload.reason != "face_mismatch":
            return
        await self.hub.bus.publish(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type="face_mismatch",
                priority=1,
                message=f"card and face do not match at {payload.door_id}",
                door_id=payload.door_id.split("/")[-1],
                source_event_id=event.id,
            ),
            context=event.context,
            site=event.site,
        )

    async def _config(self, event: Event[Any]) -> None:
        await self.reload()


async def start_video(hub: Hub) -> VideoRuntime:
    """Start the video domain on ``hub``; store it as ``hub.extras['video']``. Runs in the loop."""
    runtime = VideoRuntime(hub)
    hub.extras[EXTRAS_KEY] = runtime
    await runtime.start()
    return runtime


def runtime_of(hub: Hub) -> VideoRuntime | None:
    """Return the hub's running video domain, if any."""
    runtime = hub.extras.get(EXTRAS_KEY)
    return runtime if isinstance(runtime, VideoRuntime) else None
