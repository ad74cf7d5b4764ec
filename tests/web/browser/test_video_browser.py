"""The video page in headless Chromium against the demo server, on a cut of the real clip.

A camera is set up through the API from the signed-in page (as a manager would script
it), the server's own video runtime analyses the clip, and the page shows the frame with
its zones and the loitering and parked-vehicle detections. Screenshot:
docs/screenshots/video-cameras.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest
from playwright.sync_api import expect

from tests.video.footage import CLIP, DOOR_AREA, PATH_LINE, VAN_BAY
from tests.web.browser.browserkit import SITE, wait_until_true

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
API = f"/api/sites/{SITE}/video"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "lot-east.avi"
    capture = cv2.VideoCapture(str(CLIP))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for _ in range(140):
        ok, frame = capture.read()
        assert ok
        writer.write(frame)
    writer.release()
    capture.release()
    return path


def call(page, method: str, path: str, body: dict) -> int:
    return page.evaluate(
        """async ([method, path, body]) => {
            const reply = await fetch(path, {method, body: JSON.stringify(body),
              headers: {"Content-Type": "application/json", "X-CSRF-Token": window.bastionCsrf}});
            return reply.status;
        }""",
        [method, path, body],
    )


def test_a_camera_analysed_live_shows_its_zones_and_detections(admin_page, live, clip):
    page = admin_page
    page.goto("/console/video")
    expect(page.locator("h1")).to_contain_text("Video analytics")
    assert call(page, "PUT", f"{API}/cameras/cam-lot-east", {"source": str(clip), "fps": 5}) == 200
    rules = [
        ("Side door area", "loitering", DOOR_AREA, 8),
        ("Van bay (restricted)", "parked", VAN_BAY, 10),
        ("Path count", "line", PATH_LINE, 0),
    ]
    for name, kind, points, seconds in rules:
        body = {
            "name": name,
            "kind": kind,
            "points": [list(p) for p in points],
            "seconds": seconds,
            "zone_id": "parking",
        }
        assert call(page, "POST", f"{API}/cameras/cam-lot-east/rules", body) == 201
    deadline = time.monotonic() + 120
    table = page.locator("#detections")
    while True:
        page.goto("/console/video")
        text = table.inner_text()
        if "loitering" in text and "stationary vehicle" in text:
            break
        assert time.monotonic() < deadline, text
        page.wait_for_timeout(1000)
    camera = page.locator("#camera-cam-lot-east")
    expect(camera.locator("polygon")).to_have_count(2)
    expect(camera.locator("polyline")).to_have_count(1)
    wait_until_true(page, "document.querySelector('#camera-cam-lot-east img').naturalWidth > 0")
    snapshot = page.locator("#detections a").first.get_attribute("href")
    assert page.request.get(snapshot).body()[:2] == b"\xff\xd8"

    people = page.locator('#enrol-form select[name="person_id"] option')
    assert people.count() > 0
    page.fill('#enrol-form input[name="reference"]', "frigate-face-emp-001")
    page.fill('#enrol-form input[name="retain_days"]', "180")
    page.click("#enrol-form button")
    expect(page.locator("#error")).to_contain_text("consent")
    expect(page.locator('#enrol-form input[name="retain_days"]')).to_have_value("180")
    page.fill('#enrol-form input[name="reference"]', "frigate-face-emp-001")
    page.check('#enrol-form input[name="consent"]')
    page.click("#enrol-form button")
    expect(page.locator("#notice")).to_contain_text("Enrolled")
    expect(page.locator("#enrolments tbody tr")).to_have_count(1)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.goto("/console/video")
    page.screenshot(path=str(DOCS / "video-cameras.png"), full_page=True)
