"""A video-analytics alarm shows the picture that raised it, served only to its site's staff."""

from __future__ import annotations

from bastion.auth.permissions import Role
from bastion.core.context import new_id
from bastion.core.events import EVENT_VIDEO_DETECTION, VideoDetectionPayload
from bastion.video.models import VideoDetection
from tests.web.test_web_console import SITE, app, publish, wait_for_alarm

__all__ = ["app"]

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def test_a_loitering_alarm_shows_its_snapshot(client_for, site_hub):
    client = client_for(Role.OPERATOR, site_id=SITE)
    folder = site_hub.settings.data_dir / "video" / SITE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loiter.jpg").write_bytes(JPEG)
    detection_id = new_id()
    with site_hub.unit_of_work() as session:
        session.add(
            VideoDetection(
                id=detection_id,
                site_id=SITE,
                camera_id="cam-entrance",
                kind="loitering",
                label="person",
                zone_id="lobby",
                track=7,
                score=0.81,
                box=[0.1, 0.1, 0.3, 0.6],
                snapshot="loiter.jpg",
                at=site_hub.clock.now(),
            )
        )
    publish(
        client,
        EVENT_VIDEO_DETECTION,
        VideoDetectionPayload(
            camera_id="cam-entrance",
            kind="loitering",
            label="person",
            zone_id="lobby",
            source_id=detection_id,
            score=0.81,
        ),
        actor="device:cam-entrance",
    )
    alarm = wait_for_alarm(
        site_hub,
        lambda a: (
            a.alarm_type.startswith("video")
            or a.device_id == "cam-entrance"
            or "oiter" in a.message
        ),
    )
    page = client.get(f"/console/alarms/{alarm.id}").text
    url = f"/api/sites/{SITE}/video/detections/{detection_id}/snapshot.jpg"
    assert f'src="{url}"' in page
    picture = client.get(url)
    assert picture.status_code == 200 and picture.content == JPEG
    outsider = client_for(Role.OPERATOR, site_id="cultivation-north")
    assert outsider.get(url).status_code in (403, 404)
