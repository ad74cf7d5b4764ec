"""The Events page and a saved report in headless Chromium, on a desktop and a phone.

Screenshots go to docs/screenshots/ (events-*.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from bastion.demo import DEMO_NAMES

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def snap(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def test_search_filter_and_export_events_on_a_desktop(admin_page) -> None:
    page = admin_page
    page.goto("/console/events")
    expect(page.locator("#event-results tbody tr").first).to_be_visible()
    # The demo's cash day badges its counters into the cash room; find them by name.
    person = DEMO_NAMES[0].split()[0]
    page.fill('#event-search input[name="person"]', person)
    page.check('#event-search input[name="kind"][value="access"]')
    page.click("#event-search button[type=submit]")
    rows = page.locator("#event-results tbody tr")
    expect(rows.first).to_contain_text(DEMO_NAMES[0])
    for text in rows.all_inner_texts():
        assert DEMO_NAMES[0] in text
        assert "emp-0" not in text
    # What was typed stays in the form.
    expect(page.locator('#event-search input[name="person"]')).to_have_value(person)
    expect(page.locator('#event-search input[name="kind"][value="access"]')).to_be_checked()
    snap(page, "events-search")
    csv = page.request.get(page.locator("#export-csv").get_attribute("href"))
    assert csv.ok
    lines = csv.text().strip().splitlines()
    assert lines[0].startswith("Time,Event,What") and len(lines) > 1
    assert all(DEMO_NAMES[0] in line for line in lines[1:])
    # A bad time keeps every field and says what is wrong.
    page.fill('#event-search input[name="text"]', "vault")
    page.evaluate("document.querySelector('#event-search input[name=since]').type = 'text'")
    page.fill('#event-search input[name="since"]', "last tuesday")
    page.click("#event-search button[type=submit]")
    expect(page.locator("#search-error")).to_contain_text("is not a date and time")
    expect(page.locator('#event-search input[name="text"]')).to_have_value("vault")
    expect(page.locator('#event-search input[name="person"]')).to_have_value(person)


def test_events_and_a_saved_report_fit_a_phone(browser, live) -> None:
    from tests.web.browser.browserkit import sign_in

    phone = (PHONE["width"], PHONE["height"])
    page = sign_in(
        browser, live, live.info.operator_user, live.info.operator_password, viewport=phone
    )
    try:
        page.goto("/console/events")
        expect(page.locator("#event-results")).to_be_visible()
        # The sections fold behind Menu on a phone, so the page starts with its content.
        expect(page.locator("#nav-links")).to_be_hidden()
        page.click("#nav-toggle")
        expect(page.locator('#nav-links a[href="/console/alarms"]')).to_be_visible()
        page.click("#nav-toggle")
        expect(page.locator("#nav-links")).to_be_hidden()
        snap(page, "events-phone")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the events page scrolls sideways on a phone by {overflow}px"
        # Saved reports are for those who hold reports:read; the operator does not.
        assert page.request.get("/console/reports/denied-by-door").status == 403
    finally:
        page.context.close()


def test_a_saved_report_fits_a_phone(admin_page) -> None:
    page = admin_page
    page.set_viewport_size(PHONE)
    try:
        page.goto("/console/reports/denied-by-door")
        expect(page.locator("#report-groups")).to_be_visible()
        snap(page, "report-phone")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"a saved report scrolls sideways on a phone by {overflow}px"
    finally:
        page.set_viewport_size({"width": 1440, "height": 960})
