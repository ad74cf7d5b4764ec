"""The upkeep page in headless Chromium against the demo server: health board, walk test.

A screenshot goes to docs/screenshots/upkeep.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def test_the_health_board_and_a_walk_test_from_start_to_finish(admin_page):
    page = admin_page
    page.goto("/console/upkeep")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Upkeep")
    rows = page.locator("#health-board tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 20
    expect(page.locator('#health-board tr[data-device="vault-pir-1"]')).to_contain_text("sensor")
    page.fill('#walk-tests input[name="minutes"]', "ten")
    page.select_option('#walk-tests select[name="zone"]', label="Vault")
    page.click("#walk-tests button[type=submit]")
    expect(page.locator("#error")).to_contain_text("not a number of minutes")
    expect(page.locator('#walk-tests input[name="minutes"]')).to_have_value("ten")
    page.fill('#walk-tests input[name="minutes"]', "10")
    page.click("#walk-tests form button[type=submit] >> text=Start walk test")
    expect(page.locator("#notice")).to_contain_text("on hold")
    running = page.locator('.walk-test[data-state="running"]')
    expect(running).to_have_count(1)
    expect(running).to_contain_text("pending")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "upkeep.png"), full_page=True)
    running.locator("button", has_text="Finish now").click()
    expect(page.locator("#notice")).to_contain_text("hold is released")
    expect(page.locator('.walk-test[data-state="failed"]')).to_have_count(1)
