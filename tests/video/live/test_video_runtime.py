"""The running video domain on a cut of the real clip: camera worker → events → alarms.

The cut is the first 14 s of ``vtest.avi`` (the two men talking by the sign, the parked
van), written to a temporary file so the camera worker reads it like a short recording.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.site import service as site_service
from bastion.video import service
from bastion.video.detector import Detection, ModelError
from bastion.video.models import VideoDetection
from bastion.video.runtime import VideoRuntime
from bastion.video.schemas import CameraWrite, RuleWrite
from tests.monitoring_support import wait_until

from ..footage import CLIP, DOOR_AREA, EMPTY_LAWN, VAN_BAY

CTX = Context(actor="user:manager")
CAMERA = "cam-lot-east"


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "vtest-14s.avi"
    capture = cv2.VideoCapture(str(CLIP))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for _ in range(140):
        ok, frame = capture.read()
        assert ok
        writer.write(frame)
    writer.release()
    capture.release()
    return path


def _configure(hub, site, source: str) -> None:
    now = hub.clock.now()
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        service.put_camera(
            session=session,
            site=site,
            camera_id=CAMERA,
            data=CameraWrite(source=source, fps=5),
            context=CTX,
            now=now,
        )
        for name, kind, points, seconds in (
            ("Secure door", "loitering", DOOR_AREA, 8),
            ("Van bay", "parked", VAN_BAY, 10),
            ("Lawn", "loitering", EMPTY_LAWN, 1),
        ):
            service.add_rule(
                session=session,
                site=site,
                camera_id=CAMERA,
                data=RuleWrite(
                    name=name, kind=kind, points=list(points), seconds=seconds, zone_id="parking"
                ),
                context=CTX,
                now=now,
            )


async def test_a_recorded_clip_raises_loitering_and_parked_alarms_with_snapshots(
    hub, site, recorder, short_clip
):
    _configure(hub, site, str(short_clip))
    alarms = await start_alarms(hub, tick_s=None)
    video = VideoRuntime(hub)
    await video.start()
    try:
        worker = video.workers[(site.site.id, CAMERA)]
        await wait_until(worker.done.is_set, 120)
        await wait_until(lambda: len(recorder.of("video.detection")) >= 3, 30)
        await hub.bus.drain()
    finally:
        await video.stop()
        await alarms.stop()
    kinds = sorted(e.payload.kind for e in recorder.of("video.detection"))
    assert kinds.count("stationary_vehicle") == 1
    assert 2 <= kinds.count("loitering") <= 3
    assert worker.stats.frames == 70 and worker.stats.dropped == 0
    with hub.db.sessions() as session:
        rows = session.scalars(select(VideoDetection)).all()
        types = {a.alarm_type for a in session.scalars(select(Alarm))}
    assert types == {"loitering", "stationary_vehicle"}
    assert len(rows) == len(kinds)
    for row in rows:
        snapshot = hub.settings.data_dir / "video" / site.site.id / str(row.snapshot)
        assert snapshot.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
        assert snapshot.stat().st_mode & 0o077 == 0
    assert worker.preview is not None and worker.preview.jpeg[:2] == b"\xff\xd8"


async def test_a_camera_that_does_not_open_is_reported_offline_and_blocks_no_other(
    hub, site, recorder, short_clip
):
    _configure(hub, site, "/nonexistent/stream.avi")
    now = hub.clock.now()
    with hub.unit_of_work() as session:
        service.put_camera(
            session=session,
            site=site,
            camera_id="cam-entrance",
            data=CameraWrite(source=str(short_clip), fps=2),
            context=CTX,
            now=now,
        )
    video = VideoRuntime(hub)
    await video.start()
    try:
        good = video.workers[(site.site.id, "cam-entrance")]
        await wait_until(good.done.is_set, 120)
        await wait_until(lambda: len(recorder.of("device.status")) >= 2, 30)
    finally:
        await video.stop()
    status = {e.payload.device_id: e.payload.online for e in recorder.of("device.status")}
    assert status[CAMERA] is False
    assert good.stats.frames == 28


async def test_a_missing_detector_model_is_reported_not_raised(hub, site, recorder, short_clip):
    _configure(hub, site, str(short_clip))

    def missing():
        raise ModelError("detector model /nowhere/nanodet_int8.onnx is missing")

    video = VideoRuntime(hub, detector=missing)
    await video.start()
    try:
        worker = video.workers[(site.site.id, CAMERA)]
        await wait_until(worker.done.is_set, 30)
        await wait_until(lambda: len(recorder.of("device.status")) == 1, 30)
    finally:
        await video.stop()
    status = recorder.of("device.status")[0].payload
    assert status.online is False and "no detector" in status.detail


async def test_after_hours_presence_and_line_crossings_reach_the_ledger_and_alarms(
    hub, site, recorder, tmp_path
):
    """A fake detector walks one person across a line inside an always-after-hours zone."""
    clip = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for _ in range(40):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    calls = {"n": 0}

    def walker(frame):
        calls["n"] += 1
        x = 20 + 6 * calls["n"]
        return [Detection("person", 0.9, (x - 5, 40, x + 5, 90))]

    now = hub.clock.now()
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        service.put_camera(
            session=session,
            site=site,
            camera_id=CAMERA,
            data=CameraWrite(source=str(clip), fps=5, motion_gate=False),
            context=CTX,
            now=now,
        )
        for data in (
            RuleWrite(
                name="Night",
                kind="after_hours",
                points=[(0, 0), (1, 0), (1, 1), (0, 1)],
                starts=time(0, 0),
                ends=time(23, 59, 59),
                zone_id="parking",
            ),
            RuleWrite(name="Gate line", kind="line", points=[(0.5, 0), (0.5, 1)]),
        ):
            service.add_rule(
                session=session, site=site, camera_id=CAMERA, data=data, context=CTX, now=now
            )
    alarms = await start_alarms(hub, tick_s=None)
    video = VideoRuntime(hub, detector=lambda: walker)
    await video.start()
    try:
        await wait_until(video.workers[(site.site.id, CAMERA)].done.is_set, 60)
        await wait_until(lambda: len(recorder.of("video.rule")) == 2, 30)
        await wait_until(lambda: len(alarms.raised) == 1, 30)
    finally:
        await video.stop()
        await alarms.stop()
    kinds = sorted(e.payload.kind for e in recorder.of("video.rule"))
    assert kinds == ["after_hours", "line_cross"]
    with hub.db.sessions() as session:
        alarm = session.scalars(select(Alarm)).one()
    assert alarm.alarm_type == "after_hours_presence" and alarm.zone_id == "parking"
    assert [e.type for e in hub.ledger.query(types=["video.rule"], limit=5)] != []
