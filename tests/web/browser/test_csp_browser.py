"""The console works under its Content-Security-Policy (no inline script, no eval)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.browser.browserkit import AUDITOR, SITE, sign_in

pytestmark = pytest.mark.slow

PAGES = ["/console", "/console/map", "/console/alarms", "/console/analysis", "/console/people"]


def test_console_pages_run_without_a_single_policy_violation(browser, live):
    page = sign_in(browser, live, *AUDITOR)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in PAGES:
        response = page.goto(path)
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("#feed-status")).to_have_text("live")
    # The analysis page reloads when another site is chosen (a handler in live.js).
    page.goto(f"/console/analysis?site={SITE}&target=vault")
    page.locator("select[data-submit-on-change]").dispatch_event("change")
    expect(page).to_have_url(re.compile(rf"/console/analysis\?site={SITE}&target="))
    expect(page.locator("#analysis-whatif table, #analysis-whatif p").first).to_be_visible()
    assert violations == []
    page.context.close()


def test_the_sign_in_page_signs_in_under_the_policy(browser, live):
    # sign_in() fills the form and waits for the live feed: login.js and live.js ran.
    page = sign_in(browser, live, *AUDITOR)
    assert page.url.endswith("/console")
    page.context.close()
