"""Cardholders in the console, in headless Chromium: add a person, badge them, give a level.

Screenshots go to docs/screenshots/ (person-*.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

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
    snap(page, "person")

    page.set_viewport_size(PHONE)
    try:
        page.reload()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the person page scrolls sideways on a phone by {overflow}px"
        snap(page, "person-phone")
    finally:
        page.set_viewport_size({"width": 1440, "height": 960})
