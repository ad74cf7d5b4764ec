"""Camera pictures, the map's names, legend and zoom, and the phone layout in headless Chromium.

The demo site's cameras get addresses on a real HTTP stand-in (JPEG stills with Basic
credentials, tests/video/camera_standin.py); one camera points where nothing listens.
Screenshots: docs/screenshots/camera-*.png and map-*.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bastion.alarms.models import Alarm
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DOOR_FORCED,
    EVENT_VIDEO_DETECTION,
    DoorPayload,
    VideoDetectionPayload,
)
from tests.video.camera_standin import PASSWORD, camera_standin
from tests.web.browser.browserkit import SITE, free_port, sign_in, wait_until_true
from tests.web.test_camera_pictures import with_cameras

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = (390, 844)
DESKTOP = (1440, 960)
DEAD = "cam-lot-east"


def snap(page, name: str, *, full_page: bool = False) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full_page)


@pytest.fixture(scope="module")
def cameras(live):
    """Point every demo camera with a field of view at the stand-in (one at a dead port)."""
    with camera_standin() as standin:
        site = live.hub.extras["sites"][SITE]
        before = site
        urls = {
            d.id: {"snapshot_url": f"{standin.base}/api/front/latest.jpg"}
            for d in site.devices
            if d.type.value == "camera"
        }
        urls[DEAD] = {"snapshot_url": f"http://127.0.0.1:{free_port()}/latest.jpg"}
        live.hub.extras["sites"][SITE] = with_cameras(site, urls)
        try:
            yield standin
        finally:
            live.hub.extras["sites"][SITE] = before


def forced_lot_gate(live) -> str:
    """Force the vehicle gate (the parking cameras bookmark it); return its alarm's id."""
    live.run(
        live.hub.bus.publish(
            EVENT_DOOR_FORCED,
            DoorPayload(door_id="lot-gate", state="forced", zone_id="parking"),
            context=Context(actor="device:lot-gate-panel"),
            site=SITE,
        )
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with live.hub.db.sessions() as session:
            alarm = session.query(Alarm).filter(Alarm.door_id == "lot-gate").first()
            if alarm is not None:
                return str(alarm.id)
        time.sleep(0.1)
    pytest.fail("forcing the gate raised no alarm")


def operator(browser, live, viewport):
    return sign_in(
        browser, live, live.info.operator_user, live.info.operator_password, viewport=viewport
    )


def loaded(selector: str) -> str:
    """A page expression: the picture under ``selector`` has been drawn."""
    return f"(() => {{ const i = document.querySelector('{selector}'); return !!i && i.complete && i.naturalWidth > 0; }})()"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_alarm_shows_its_cameras_pictures_and_says_when_one_is_down(
    browser, live, cameras, viewport
) -> None:
    alarm_id = forced_lot_gate(live)
    page = operator(browser, live, viewport)
    try:
        name = "desktop" if viewport == DESKTOP else "phone"
        page.goto(f"/console/alarms/{alarm_id}")
        wait_until_true(page, loaded("#bookmark-camera-cam-lot-ptz img"))
        down = page.locator(f"#bookmark-camera-{DEAD} .camera-down")
        expect(down).to_be_visible()
        expect(down).to_have_text("Camera not answering")
        expect(page.locator(f"#bookmark-camera-{DEAD} img")).to_be_hidden()
        sources = page.evaluate("[...document.images].map((i) => i.src)")
        assert sources and all(s.startswith(live.url) for s in sources), sources
        assert PASSWORD not in page.content()
        page.locator("#bookmark-camera-cam-lot-ptz").scroll_into_view_if_needed()
        snap(page, f"camera-alarm-{name}")
        if viewport == PHONE:
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
    finally:
        page.context.close()


ICONS_UNDER_LABELS = """(() => {
  const svg = document.getElementById("site-map");
  const icons = [...svg.querySelectorAll("g.door circle, g.device rect, rect.camera-body")]
    .map((e) => e.getBBox());
  const hit = [];
  for (const t of svg.querySelectorAll("text.zone-label")) {
    const b = t.getBBox();
    for (const i of icons) {
      if (b.x < i.x + i.width && i.x < b.x + b.width && b.y < i.y + i.height && i.y < b.y + b.height)
        hit.push(t.textContent);
    }
  }
  return hit;
})()"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_map_names_zones_clearly_explains_badges_zooms_and_opens_camera_pictures(
    browser, live, cameras, viewport
) -> None:
    page = operator(browser, live, viewport)
    try:
        name = "desktop" if viewport == DESKTOP else "phone"
        page.goto("/console/map")
        expect(page.locator("#site-map")).to_be_visible()
        assert page.evaluate(ICONS_UNDER_LABELS) == []  # as Chromium lays out the text
        legend = page.locator("#sensor-legend")
        expect(legend).to_contain_text("motion sensor")
        expect(legend).to_contain_text("glass-break sensor")
        expect(legend).to_contain_text("camera (select it for its picture)")
        snap(page, f"map-legend-{name}", full_page=True)

        page.locator('g.camera[data-device="cam-lot-ptz"] rect.camera-body').click()
        dialog = page.locator("#camera-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("h2")).to_have_text("Lot PTZ")
        wait_until_true(page, loaded("#camera-dialog img"))
        snap(page, f"map-camera-{name}")
        page.click("#camera-close")
        expect(dialog).to_be_hidden()
        page.locator(f'g.camera[data-device="{DEAD}"]').focus()
        page.keyboard.press("Enter")
        expect(dialog.locator(".camera-down")).to_be_visible()
        page.click("#camera-close")

        svg = page.locator("#site-map")
        expect(svg).to_have_attribute("data-zoom", "1.00")
        expect(page.locator("#zoom-out")).to_be_disabled()
        page.click("#zoom-in")
        page.click("#zoom-in")
        expect(svg).to_have_attribute("data-zoom", "2.04")
        box = svg.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
        page.mouse.wheel(0, -200)
        wait_until_true(page, "Number(document.getElementById('site-map').dataset.zoom) > 2.04")
        # The live refresh swaps the SVG: the view stays where the operator put it.
        zoom = svg.get_attribute("data-zoom")
        page.evaluate("window.bastion.fire('refresh-map')")
        page.wait_for_timeout(500)
        expect(svg).to_have_attribute("data-zoom", zoom or "")
        assert page.evaluate(ICONS_UNDER_LABELS) == []
        snap(page, f"map-zoomed-{name}")
        page.click("#zoom-reset")
        expect(svg).to_have_attribute("data-zoom", "1.00")
    finally:
        page.context.close()


def test_on_a_phone_the_alarm_queue_comes_first(browser, live, cameras) -> None:
    forced_lot_gate(live)
    page = operator(browser, live, PHONE)
    try:
        page.goto("/console")
        expect(page.locator("#alarm-queue .alarm-row").first).to_be_visible()
        queue = page.locator(".queue-card").bounding_box()
        status = page.locator("#status").bounding_box()
        assert queue and status and queue["y"] < status["y"], (queue, status)
        assert queue["y"] < 844, "the queue starts below the first screen"
        expect(page.locator(".nav-links")).to_be_hidden()
        snap(page, "camera-phone-dashboard-queue-first")
        page.click("#nav-toggle")
        page.click(".nav-links a[href='/console/alarms']")
        expect(page.locator("#alarm-table")).to_be_visible()
        table = page.locator("#alarm-table").bounding_box()
        filters = page.locator("#alarm-filters").bounding_box()
        assert table and filters and table["y"] < filters["y"], (table, filters)
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        page.goto("/console")
        queue = page.locator(".queue-card").bounding_box()
        status = page.locator("#status").bounding_box()
        assert queue and status and status["y"] < queue["y"]
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_event_row_with_a_camera_opens_its_picture(browser, live, cameras, viewport) -> None:
    live.run(
        live.hub.bus.publish(
            EVENT_VIDEO_DETECTION,
            VideoDetectionPayload(
                camera_id="cam-entrance",
                kind="loitering",
                label="person",
                zone_id="parking",
                source_id=f"1733212800.5-{viewport[0]}",
                score=0.9,
            ),
            context=Context(actor="device:frigate"),
            site=SITE,
        )
    )
    page = operator(browser, live, viewport)
    try:
        name = "desktop" if viewport == DESKTOP else "phone"
        page.goto(f"/console/events?site={SITE}&kind=video")
        button = page.locator(".event-camera-open").first
        expect(button).to_have_text("Picture from Front entrance exterior")
        button.click()
        expect(page.locator("#camera-dialog h2")).to_have_text("Front entrance exterior")
        wait_until_true(page, loaded("#camera-dialog img"))
        snap(page, f"camera-events-{name}")
    finally:
        page.context.close()
