"""Proof of recording: the Frigate stand-in with a planted gap, a folder of real segments,
and every kind of bad input ending as "unknown" with a warning, never as "recording OK"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.maintenance import checks
from bastion.maintenance.recordings import folder_segments, segment_start
from bastion.maintenance.settings import SiteUpkeep
from tests.maintenance.standin import cut_segments, frigate

__all__ = ["frigate"]
CTX = Context(actor="user:tech")
START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
CAMERA = "cam-dock-apron"


def _record(hub, site, clock, gathered, settings, start=START, end=None):
    with hub.unit_of_work() as session:
        row = checks.record_recording_check(
            session=session,
            site=site,
            camera_id=CAMERA,
            start=start,
            end=end or start + timedelta(hours=1),
            gathered=gathered,
            settings=settings,
            context=CTX,
            now=clock.now(),
        )
        session.expunge(row)
    return row


async def test_the_frigate_recordings_with_a_planted_gap_are_a_gap_finding_and_an_alarm(
    hub, site, clock, frigate
):
    alarms = await start_alarms(hub, tick_s=None)
    frigate.gap = (START.timestamp() + 600, START.timestamp() + 900)
    settings = SiteUpkeep(frigate_url=frigate.url, cameras={CAMERA: "dock_apron"})
    gathered = checks.gather(settings, CAMERA, START, START + timedelta(hours=1))
    row = _record(hub, site, clock, gathered, settings)
    await hub.bus.drain()
    await alarms.stop()
    assert frigate.paths[0].startswith("/api/dock_apron/recordings?after=")
    assert (row.state, row.source, row.segments) == ("gaps", "frigate", 330)
    assert row.gaps == [[START.timestamp() + 600, START.timestamp() + 900]]
    assert row.coverage_pct == pytest.approx(100 * 3300 / 3600, abs=1e-3)
    ledgered = hub.ledger.query(types=["maintenance.recording_check"])
    assert '"state":"gaps"' in ledgered[0].payload
    with hub.db.sessions() as session:
        (alarm,) = session.execute(select(Alarm)).scalars()
    assert (alarm.alarm_type, alarm.device_id) == ("device_trouble", CAMERA)
    assert "recording gaps: 1 (longest 300 s)" in alarm.message


def test_full_frigate_recordings_are_ok(hub, site, clock, frigate):
    settings = SiteUpkeep(frigate_url=frigate.url)
    row = _record(
        hub,
        site,
        clock,
        checks.gather(settings, CAMERA, START, START + timedelta(hours=1)),
        settings,
    )
    assert (row.state, row.coverage_pct, row.gaps) == ("ok", 100.0, [])


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("garbage", "not JSON"),
        ("error", "answered 500"),
        ("slow", "did not answer within"),
    ],
)
def test_a_recorder_that_misbehaves_is_unknown_with_one_warning(
    hub, site, clock, frigate, mode, words, caplog
):
    frigate.mode = mode
    settings = SiteUpkeep(frigate_url=frigate.url, timeout_s=0.5)
    row = _record(
        hub,
        site,
        clock,
        checks.gather(settings, CAMERA, START, START + timedelta(hours=1)),
        settings,
    )
    assert row.state == "unknown" and row.coverage_pct is None
    assert len(row.warnings) == 1 and words in row.warnings[0]
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_junk_entries_never_make_recording_look_fine(hub, site, clock, frigate):
    frigate.mode = "junk"
    settings = SiteUpkeep(frigate_url=frigate.url)
    row = _record(
        hub,
        site,
        clock,
        checks.gather(settings, CAMERA, START, START + timedelta(hours=1)),
        settings,
    )
    assert row.state == "gaps" and row.coverage_pct == 0
    assert row.warnings == ["3 recording entries without usable start and end times were ignored"]


def test_nothing_configured_is_unknown(hub, site, clock):
    settings = SiteUpkeep()
    row = _record(
        hub,
        site,
        clock,
        checks.gather(settings, CAMERA, START, START + timedelta(hours=1)),
        settings,
    )
    assert row.state == "unknown" and "no recorder" in row.warnings[0]


def test_a_folder_of_real_segments_with_a_missing_one_a_corrupt_one_and_an_overlap(
    hub, site, clock, tmp_path
):
    root = tmp_path / "nvr"
    cut_segments(root, CAMERA, START, count=6, skip=3)  # six 2-s clips, seconds 6-8 missing
    # In the missing slot: a file the recorder broke off (unreadable, so not recorded).
    (root / CAMERA / f"{START + timedelta(seconds=6):%Y%m%dT%H%M%S}.avi").write_bytes(b"\x00" * 512)
    cut_segments(root / "again", CAMERA, START + timedelta(seconds=1), count=1)  # overlaps
    (root / CAMERA / "notes.mp4").write_bytes(b"not dated")
    settings = SiteUpkeep(segment_folder=root, min_gap_s=0.5)
    end = START + timedelta(seconds=12)
    found = folder_segments(root, CAMERA, START, end)
    assert len(found.starts) == 6  # five of the camera's folder, one overlapping
    row = _record(hub, site, clock, checks.gather(settings, CAMERA, START, end), settings, end=end)
    assert (row.state, row.source) == ("gaps", "folder")
    assert row.gaps == [[START.timestamp() + 6, START.timestamp() + 8]]
    assert row.coverage_pct == pytest.approx(100 * 10 / 12)
    text = " ".join(row.warnings)
    assert "1 segment file(s) could not be read" in text
    assert "1 file(s) have no timestamp" in text
    assert "overlap by 2 s" in text


def test_a_missing_folder_is_unknown_and_frigate_layout_is_dated(hub, site, clock, tmp_path):
    settings = SiteUpkeep(segment_folder=tmp_path / "absent")
    row = _record(
        hub,
        site,
        clock,
        checks.gather(settings, CAMERA, START, START + timedelta(hours=1)),
        settings,
    )
    assert row.state == "unknown" and "does not exist" in row.warnings[0]
    path = tmp_path / "2026-03-07" / "14" / "dock_apron" / "05.30.mp4"
    assert segment_start(path, tmp_path) == datetime(2026, 3, 7, 14, 5, 30, tzinfo=UTC)
