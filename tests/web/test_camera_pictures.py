"""Camera pictures reach the console through the server's site-scoped proxy, never directly.

Every test talks to a real HTTP stand-in (tests/video/camera_standin.py) that checks the
camera's Basic credentials: the proxy must send them, the pages must never show them, a
camera that is down becomes plain words (502, never 500), and another site's staff get
nothing.
"""

from __future__ import annotations

import pytest

from bastion.auth.permissions import Role
from bastion.core.errors import ConfigError
from bastion.core.events import EVENT_VIDEO_DETECTION, VideoDetectionPayload
from bastion.core.ports import register_clip_source
from bastion.integrations.frigate.clips import FrigateClips
from bastion.site.loader import load_site
from bastion.site.schemas import Site
from bastion.video import feeds
from tests.video.camera_standin import CLIP, PASSWORD, StandIn, camera_standin
from tests.web.browser.browserkit import free_port
from tests.web.test_web_console import SITE, app, force, publish, wait_for_alarm

__all__ = ["app"]

API = f"/api/sites/{SITE}/video"
FRIGATE_EVENT = "1733212800.5-abc123"


def with_cameras(site: Site, urls: dict[str, dict[str, str]]) -> Site:
    """Return ``site`` with picture addresses on some cameras (validated like a loaded file)."""
    data = site.model_dump(mode="json")
    for device in data["devices"]:
        device.update(urls.get(device["id"], {}))
    return Site.model_validate(data)


@pytest.fixture
def standin():
    with camera_standin() as running:
        yield running


@pytest.fixture
def wired(site_hub, standin: StandIn) -> StandIn:
    """Give the lot and entrance cameras the stand-in's still and stream; one camera is down."""
    dead = f"http://127.0.0.1:{free_port()}/latest.jpg"  # nothing listens there
    site_hub.extras["sites"][SITE] = with_cameras(
        site_hub.extras["sites"][SITE],
        {
            "cam-lot-ptz": {"snapshot_url": f"{standin.base}/api/front/latest.jpg"},
            "cam-lot-east": {"snapshot_url": dead},
            "cam-entrance": {
                "snapshot_url": f"{standin.base}/api/front/latest.jpg",
                "stream_url": f"{standin.base}/mjpeg",
            },
            "cam-lobby": {"snapshot_url": f"{standin.base}/slow.jpg"},
            "cam-checkin": {"snapshot_url": f"{standin.base}/page.html"},
            "cam-sales-1": {"snapshot_url": f"http://nobody:wrong@127.0.0.1:{standin.port}/x.jpg"},
        },
    )
    return standin


def test_the_picture_comes_through_the_site_proxy_with_the_cameras_credentials(client_for, wired):
    client = client_for(Role.OPERATOR, site_id=SITE)
    reply = client.get(f"{API}/cameras/cam-lot-ptz/picture")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.content == wired.still
    assert reply.headers["cache-control"] == "no-store"
    assert wired.asked == ["/api/front/latest.jpg"]
    assert client.get(f"{API}/cameras/cam-nowhere/picture").status_code == 404
    assert client.get(f"{API}/cameras/front-entry-reader/picture").status_code == 404
    assert client.get(f"{API}/cameras/cam-dock/picture").status_code == 404  # no address
    outsider = client_for(Role.OPERATOR, site_id="cultivation-north")
    assert outsider.get(f"{API}/cameras/cam-lot-ptz/picture").status_code in (403, 404)
    assert outsider.get(f"{API}/cameras/cam-entrance/live").status_code in (403, 404)
    assert wired.asked == ["/api/front/latest.jpg"]  # the outsider never reached the camera


def test_a_camera_that_does_not_answer_is_said_in_plain_words_never_a_500(
    client_for, wired, monkeypatch
):
    monkeypatch.setattr(feeds, "SNAPSHOT_TIMEOUT", feeds.httpx.Timeout(0.5, connect=0.5))
    client = client_for(Role.OPERATOR, site_id=SITE)
    cases = {
        "cam-lot-east": "no connection",
        "cam-lobby": "no answer in time",
        "cam-checkin": "not a picture",
        "cam-sales-1": "answered 401",
    }
    for camera, why in cases.items():
        reply = client.get(f"{API}/cameras/{camera}/picture")
        assert reply.status_code == 502, (camera, reply.status_code, reply.text)
        assert "is not answering" in reply.text and why in reply.text, reply.text
        assert PASSWORD not in reply.text and str(wired.port) not in reply.text


def test_the_live_mjpeg_stream_is_relayed_frame_by_frame(client_for, wired):
    client = client_for(Role.OPERATOR, site_id=SITE)
    with client.stream("GET", f"{API}/cameras/cam-entrance/live") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        body = b"".join(reply.iter_bytes())
    for frame in wired.frames:
        assert frame in body
    assert body.count(b"--frame\r\n") == len(wired.frames)
    assert client.get(f"{API}/cameras/cam-lot-ptz/live").status_code == 404  # still only


def test_a_frigate_event_clip_is_relayed_and_seekable(client_for, site_hub, standin):
    register_clip_source(site_hub.extras, SITE, FrigateClips(standin.plain, {}))
    client = client_for(Role.OPERATOR, site_id=SITE)
    whole = client.get(f"{API}/events/{FRIGATE_EVENT}/clip.mp4")
    assert whole.status_code == 200 and whole.content == CLIP
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get(f"{API}/events/{FRIGATE_EVENT}/clip.mp4", headers={"Range": "bytes=100-"})
    assert part.status_code == 206 and part.content == CLIP[100:]
    assert part.headers["content-range"] == f"bytes 100-{len(CLIP) - 1}/{len(CLIP)}"
    missing = client.get(f"{API}/events/1733212800.9-gone/clip.mp4")
    assert missing.status_code == 404 and "no such recording" in missing.text
    assert client.get(f"{API}/events/bad%20id!/clip.mp4").status_code == 404
    outsider = client_for(Role.OPERATOR, site_id="cultivation-north")
    assert outsider.get(f"{API}/events/{FRIGATE_EVENT}/clip.mp4").status_code in (403, 404)


def test_without_a_frigate_recorder_there_is_no_clip(client_for, standin):
    client = client_for(Role.OPERATOR, site_id=SITE)
    reply = client.get(f"{API}/events/{FRIGATE_EVENT}/clip.mp4")
    assert reply.status_code == 404 and "no recorder" in reply.text
    assert standin.asked == []


def test_alarm_map_and_events_show_pictures_but_never_the_camera_address(
    client_for, site_hub, wired
):
    register_clip_source(site_hub.extras, SITE, FrigateClips(wired.plain, {}))
    client = client_for(Role.OPERATOR, site_id=SITE)
    forced = force(client, site_hub)  # lot gate: the parking cameras are bookmarked
    page = client.get(f"/console/alarms/{forced.id}").text
    assert f'<img src="{API}/cameras/cam-lot-ptz/picture"' in page
    assert 'id="bookmark-camera-cam-lot-ptz"' in page
    assert '<p class="camera-down" hidden>Camera not answering</p>' in page
    assert 'id="alarm-clip"' not in page  # a forced door has no detection clip
    publish(
        client,
        EVENT_VIDEO_DETECTION,
        VideoDetectionPayload(
            camera_id="cam-entrance",
            kind="loitering",
            label="person",
            zone_id="parking",
            source_id=FRIGATE_EVENT,
            score=0.9,
        ),
        actor="device:frigate",
    )
    loiter = wait_for_alarm(site_hub, lambda a: a.id != forced.id)
    page = client.get(f"/console/alarms/{loiter.id}").text
    clip = f"{API}/events/{FRIGATE_EVENT}/clip.mp4"
    assert f'id="alarm-clip"><video controls preload="metadata" width="320" src="{clip}">' in page
    assert f'<a href="{clip}">Recorded clip of this detection</a>' in page
    assert f'src="{API}/cameras/cam-entrance/picture"' in page
    assert f'href="{API}/cameras/cam-entrance/live"' in page
    the_map = client.get("/console/map").text
    assert f'data-picture="{API}/cameras/cam-lot-ptz/picture"' in the_map
    assert 'id="sensor-legend"' in the_map and "glass-break sensor" in the_map
    events = client.get(f"/console/events?site={SITE}&kind=video").text
    assert f'data-picture="{API}/cameras/cam-entrance/picture"' in events
    assert f'class="event-clip" href="{API}/events/{FRIGATE_EVENT}/clip.mp4"' in events
    for text in (page, the_map, events, client.get("/console").text):
        assert PASSWORD not in text and f":{wired.port}" not in text
    assert wired.asked == []  # rendering pages fetched nothing: the browser asks the proxy


def test_pages_offer_no_pictures_to_a_role_without_video(client_for, site_hub, wired):
    client = client_for(Role.OPERATOR, site_id=SITE)
    forced = force(client, site_hub)
    reader = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)  # alarms and map, no video
    assert reader.get(f"{API}/cameras/cam-lot-ptz/picture").status_code == 403
    assert "/picture" not in reader.get(f"/console/alarms/{forced.id}").text
    assert "data-picture" not in reader.get("/console/map").text


SITE_YAML = """
version: 1
site: {{id: s1, name: Shop, timezone: UTC}}
zones:
  - {{id: shop, name: Shop, layer: 1}}
doors:
  - {{id: front, name: Front, from: outside, to: shop}}
devices:
  - id: {device}
    type: {kind}
    zone: shop
    covers: [shop]
    {field}: "{url}"
"""


@pytest.mark.parametrize(
    ("kind", "field", "url", "said"),
    [
        ("camera", "snapshot_url", "ftp://cam/latest.jpg", "http:// or https://"),
        ("camera", "stream_url", "rtsp://cam:554/live", "http:// or https://"),
        ("camera", "snapshot_url", "http:///latest.jpg", "with a host name"),
        ("camera", "snapshot_url", "http://cam/latest.jpg#x", "#fragment"),
        ("motion", "snapshot_url", "http://cam/latest.jpg", "only a camera"),
    ],
)
def test_a_bad_camera_address_is_refused_in_plain_words(kind, field, url, said):
    text = SITE_YAML.format(device="d1", kind=kind, field=field, url=url)
    with pytest.raises(ConfigError) as caught:
        load_site(text, source="shop.yaml")
    assert said in str(caught.value) and field in str(caught.value)


def test_good_camera_addresses_load_and_hls_is_not_relayed_as_mjpeg():
    text = SITE_YAML.format(
        device="cam", kind="camera", field="stream_url", url="https://nvr/cam/index.m3u8"
    )
    site = load_site(text + '    snapshot_url: "http://u:p@cam/api/cam/latest.jpg"\n')
    feed = feeds.camera_feeds(site)["cam"]
    assert feed.picture_url == "/api/sites/s1/video/cameras/cam/picture"
    assert feed.live_url is None  # HLS needs a player the console does not ship


def test_reading_a_site_model_never_shows_a_camera_password(client_for):
    text = SITE_YAML.format(
        device="cam",
        kind="camera",
        field="snapshot_url",
        url=f"http://viewer:{PASSWORD}@10.0.0.5/api/cam/latest.jpg",
    )
    admin = client_for(Role.ADMIN)
    stored = admin.put("/api/sites", content=text, headers={"Content-Type": "application/yaml"})
    assert stored.status_code == 200, stored.text
    reply = admin.get("/api/sites/s1")
    assert reply.status_code == 200
    assert PASSWORD not in reply.text
    (camera,) = reply.json()["devices"]
    assert camera["snapshot_url"] == "http://viewer:***@10.0.0.5/api/cam/latest.jpg"
