"""View checks end to end: reference approved, Frigate's latest.jpg compared, tamper alarmed."""

from __future__ import annotations

import cv2
import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.core.errors import InvalidInput, NotFound
from bastion.maintenance import checks
from bastion.maintenance.recordings import SourceProblem
from bastion.maintenance.settings import SiteUpkeep
from tests.maintenance import frames as footage
from tests.maintenance.standin import frigate

__all__ = ["frigate"]
CTX = Context(actor="user:tech")
CAMERA = "cam-dock-apron"


def _jpeg(image) -> bytes:
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def _check(hub, site, clock, snapshot, problem=None):
    with hub.unit_of_work() as session:
        row = checks.run_view_check(
            session=session,
            site=site,
            camera_id=CAMERA,
            snapshot=snapshot,
            problem=problem,
            data_dir=hub.settings.data_dir,
            context=CTX,
            now=clock.now(),
        )
        session.expunge(row)
    return row


async def test_a_blocked_view_from_frigate_is_a_tamper_alarm_with_both_images_kept(
    hub, site, clock, frigate
):
    alarms = await start_alarms(hub, tick_s=None)
    checks.approve_reference(
        data_dir=hub.settings.data_dir,
        site=site,
        camera_id=CAMERA,
        image=_jpeg(footage.frames()[0]),
    )
    settings = SiteUpkeep(frigate_url=frigate.url, cameras={CAMERA: "dock_apron"})
    fine = _check(hub, site, clock, checks.fetch_snapshot(settings, CAMERA))
    assert fine.verdict == "ok" and frigate.paths == ["/api/dock_apron/latest.jpg"]
    frigate.snapshot = _jpeg(footage.blocked(footage.frames()[2]))
    row = _check(hub, site, clock, checks.fetch_snapshot(settings, CAMERA))
    await hub.bus.drain()
    await alarms.stop()
    assert row.verdict == "blocked" and row.scores["blocked_cells"]
    folder = checks.image_dir(hub.settings.data_dir, site.site.id)
    assert (folder / row.snapshot_file).read_bytes() == frigate.snapshot
    assert (folder / row.reference_file).exists()
    assert oct((folder / row.snapshot_file).stat().st_mode & 0o777) == "0o600"
    with hub.db.sessions() as session:
        (alarm,) = session.execute(select(Alarm)).scalars()
    assert (alarm.alarm_type, alarm.device_id) == ("tamper", CAMERA)
    assert row.id in alarm.message
    verdicts = [r.payload for r in hub.ledger.query(types=["maintenance.view_check"])]
    assert '"verdict":"blocked"' in verdicts[0] and '"verdict":"ok"' in verdicts[1]


def test_an_unreadable_snapshot_or_missing_reference_is_unknown_never_ok(
    hub, site, clock, tmp_path
):
    assert _check(hub, site, clock, b"junk").verdict == "unknown"  # no reference yet
    checks.approve_reference(
        data_dir=hub.settings.data_dir,
        site=site,
        camera_id=CAMERA,
        image=_jpeg(footage.frames()[0]),
    )
    row = _check(hub, site, clock, b"\xff\xd8 broken jpeg")
    assert row.verdict == "unknown" and "could not be checked" in row.detail
    with pytest.raises(SourceProblem, match="could not be read"):
        checks.fetch_snapshot(SiteUpkeep(snapshots={CAMERA: str(tmp_path / "none.jpg")}), CAMERA)
    row = _check(hub, site, clock, None, "the snapshot file could not be read")
    assert row.verdict == "unknown" and row.snapshot_file is None


def test_references_must_be_usable_views_of_real_cameras(hub, site):
    with pytest.raises(InvalidInput, match="usable reference"):
        checks.approve_reference(
            data_dir=hub.settings.data_dir, site=site, camera_id=CAMERA, image=b"x"
        )
    with pytest.raises(InvalidInput, match="not a camera"):
        checks.approve_reference(
            data_dir=hub.settings.data_dir, site=site, camera_id="cash-pir", image=b"x"
        )
    with pytest.raises(NotFound):
        checks.approve_reference(
            data_dir=hub.settings.data_dir, site=site, camera_id="nope", image=b"x"
        )
