"""Cardholders in the console, in headless Chromium: add a person, badge them, give a level.

Screenshots go to docs/screenshots/ (person-*.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.browser.browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SITE,
    shoot,
    wait_until_true,
)

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def snap(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def test_add_a_person_issue_and_revoke_a_badge_and_assign_a_level(admin_page, live) -> None:
    page = admin_page
    page.goto("/console/people")
    page.click("#add-person summary")
    page.fill('#add-person-form input[name="name"]', "Rosa Delgado")
    page.fill('#add-person-form input[name="role"]', "budtender")
    page.click("#add-person-form button[type=submit]")
    expect(page.locator("#person-name")).to_contain_text("Rosa Delgado")
    expect(page.locator("#notice")).to_have_text("Person added.")
    person_url = page.url.split("?")[0]

    # A card number that does not fit the format is refused, and what was typed stays.
    page.select_option('#issue-form select[name="kind"]', "card")
    page.fill('#issue-form input[name="facility_code"]', "12")
    page.fill('#issue-form input[name="card_number"]', "99999999")
    page.click("#issue-form button[type=submit]")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator('#issue-form input[name="card_number"]')).to_have_value("99999999")
    page.fill('#issue-form input[name="card_number"]', "4242")
    page.click("#issue-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Credential issued.")
    expect(page.locator("#credentials tr.credential")).to_have_count(1)

    # The demo's levels open restricted zones: the hiring gate refuses them, in words.
    page.select_option('#level-form select[name="level_id"]', label="Demo staff")
    page.click("#level-form button[type=submit]")
    expect(page.locator("#error")).to_contain_text("Demo staff is restricted")
    expect(page.locator("#error")).to_contain_text("Rosa Delgado")
    snap(page, "person-refused-level")

    # Once HR records a cleared check, the level is granted.
    page.goto("/console/people")
    action = f"{person_url.removeprefix(live.url)}/background-check"
    page.locator(f'details:has(form[action="{action}"]) > summary').click()
    form = page.locator(f'form[action="{action}"]')
    form.locator('select[name="status"]').select_option("cleared")
    form.locator('input[name="checked_on"]').fill("2026-11-20")
    form.locator('input[name="reference"]').fill("BG-2026-1184")
    form.locator('input[name="expires_on"]').fill("2028-11-20")
    form.locator("button[type=submit]").click()
    expect(page.locator("#notice")).to_have_text("Background check recorded.")
    page.goto(person_url)
    page.select_option('#level-form select[name="level_id"]', label="Demo staff")
    page.click("#level-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Level assigned.")
    expect(page.locator("#levels li.level")).to_contain_text("Demo staff")

    page.fill("#credentials form.revoke input[name=reason]", "lost")
    page.click("#credentials form.revoke button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("Credential revoked")
    expect(page.locator("#credentials tr.credential.revoked")).to_have_count(1)
    page.click("#photo-section summary")
    page.set_input_files(
        "#photo-file", files=[{"name": "rosa.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.click("#photo-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Photo saved.")
    wait_until_true(page, "document.getElementById('person-photo').naturalWidth > 0")
    snap(page, "person")

    page.set_viewport_size(PHONE)
    try:
        page.reload()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the person page scrolls sideways on a phone by {overflow}px"
        snap(page, "person-phone")
    finally:
        page.set_viewport_size({"width": 1440, "height": 960})


def _jpeg(width: int = 480, height: int = 360) -> bytes:
    """Return a small JPEG made here (a gradient with a block), as a camera would give."""
    import cv2
    import numpy as np

    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    image = cv2.merge([ramp, np.full_like(ramp, 120), ramp[::-1]])
    image[90:270, 160:320] = (40, 180, 220)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def _edit_and_photograph(page, live, name: str, *, phone: bool) -> str:
    """Add ``name``, correct their details (once refused), give them a photo; return the URL."""
    page.goto("/console/people")
    page.click("#add-person summary")
    page.fill('#add-person-form input[name="name"]', name)
    page.fill('#add-person-form input[name="role"]', "driver")
    page.click("#add-person-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Person added.")
    url = page.url.split("?")[0]

    # An emptied name is refused in words, and the other fields keep what was typed.
    page.click("#edit-person summary")
    page.fill('#edit-form input[name="name"]', "")
    page.fill('#edit-form input[name="role"]', "lead driver")
    page.select_option('#edit-form select[name="kind"]', "contractor")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#error")).to_have_text("a person needs a name of 1–200 characters")
    expect(page.locator('#edit-form input[name="role"]')).to_have_value("lead driver")
    expect(page.locator('#edit-form select[name="kind"]')).to_have_value("contractor")
    page.fill('#edit-form input[name="name"]', f"{name} Jr.")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Details saved.")
    expect(page.locator("#person-name")).to_contain_text(f"{name} Jr.")
    expect(page.locator("main")).to_contain_text("contractor · lead driver")

    # A file that is not a picture is refused; a JPEG is kept and shown.
    page.click("#photo-section summary")
    page.set_input_files(
        "#photo-file", files=[{"name": "list.txt", "mimeType": "image/jpeg", "buffer": b"hi"}]
    )
    page.click("#photo-form button[type=submit]")
    expect(page.locator("#error")).to_have_text(
        "that file is not a picture; use a JPEG or PNG photo"
    )
    expect(page.locator("#photo-section")).to_have_attribute("open", "")
    page.set_input_files(
        "#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    expect(page.locator("#photo-preview")).to_be_visible()
    page.click("#photo-form button[type=submit]")
    expect(page.locator("#notice")).to_have_text("Photo saved.")
    wait_until_true(page, "document.getElementById('person-photo').naturalWidth === 480")
    if phone:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the person page scrolls sideways on a phone by {overflow}px"
    person_id = url.rsplit("/", 1)[1]
    page.goto("/console/people")
    thumb = page.locator(f'tr[data-person="{person_id}"] img.thumb')
    thumb.scroll_into_view_if_needed()  # loaded lazily, when it comes into view
    expect(thumb).to_be_visible()
    wait_until_true(
        page,
        f"document.querySelector('tr[data-person=\"{person_id}\"] img.thumb').naturalWidth > 0",
    )
    return url


def test_edit_a_person_and_give_them_a_photo_on_the_desktop(admin_page, live) -> None:
    url = _edit_and_photograph(admin_page, live, "Marcus Lee", phone=False)
    admin_page.goto(url)
    admin_page.click("#edit-person summary")
    admin_page.click("#photo-section summary")
    expect(admin_page.locator("#photo-preview")).to_be_hidden()
    shoot(admin_page, "person-photo", full_page=True)


def test_edit_a_person_and_give_them_a_photo_on_a_phone(admin_page, live) -> None:
    admin_page.set_viewport_size(PHONE)
    try:
        url = _edit_and_photograph(admin_page, live, "Ana Souza", phone=True)
        admin_page.goto(url)
        shoot(admin_page, "person-photo-phone", full_page=True)
    finally:
        admin_page.set_viewport_size({"width": 1440, "height": 960})


def test_checkboxes_sit_beside_their_words(admin_page, live) -> None:
    page = admin_page
    for width in (1440, PHONE["width"]):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/console/visitors")
        box = page.locator('#register-form input[name="walk_in"]').bounding_box()
        label = page.locator('#register-form label:has(input[name="walk_in"])').bounding_box()
        assert box is not None and label is not None
        assert box["width"] < 30, f"the checkbox is {box['width']}px wide at {width}px"
        # One line: the box and its words share the label's only row.
        assert label["height"] < 2 * box["height"] + 12, (label, box)
        assert box["x"] - label["x"] < 4
    page.set_viewport_size({"width": 1440, "height": 960})


CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def test_take_a_photo_with_the_camera(browser, live) -> None:
    """Chromium's fake camera stands in for a webcam; the shot goes through the same upload."""
    from bastion.auth import service as auth_service
    from bastion.auth.permissions import Grant, Role
    from bastion.core.context import Context

    with live.hub.unit_of_work() as session:
        auth_service.create_user(
            session=session,
            username="hr-camera",
            password="hr-camera-password-for-tests",
            grants=[Grant(Role.HR, site_id=SITE)],
            clock=live.hub.clock,
            context=Context(actor="test"),
        )
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *CAMERA_ARGS], headless=True
    )
    try:
        context = chromium.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera"], origin=live.url)
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", "hr-camera")
        page.fill("#password", "hr-camera-password-for-tests")
        page.click("#sign-in")
        expect(page).to_have_url(f"{live.url}/console/safety")  # HR's first page
        page.goto("/console/people")
        page.click("#add-person summary")
        page.fill('#add-person-form input[name="name"]', "Lena Park")
        page.click("#add-person-form button[type=submit]")
        expect(page.locator("#notice")).to_have_text("Person added.")
        page.click("#photo-section summary")
        page.click("#camera-start")
        expect(page.locator("#camera")).to_be_visible()
        wait_until_true(page, "document.getElementById('camera-view').videoWidth > 0")
        page.click("#camera-take")
        expect(page.locator("#photo-preview")).to_be_visible()
        expect(page.locator("#camera")).to_be_hidden()
        assert page.evaluate("document.getElementById('photo-file').files[0].type") == (
            "image/jpeg"
        )
        page.click("#photo-form button[type=submit]")
        expect(page.locator("#notice")).to_have_text("Photo saved.")
        wait_until_true(page, "document.getElementById('person-photo').naturalWidth > 0")
    finally:
        chromium.close()
