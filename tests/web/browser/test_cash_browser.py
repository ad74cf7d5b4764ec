"""The cash pages in headless Chromium against the demo server, on a desktop and a phone.

Screenshots of each page go to docs/screenshots/ (cash-*.png).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bastion.demo import DEMO_NAMES
from tests.web.browser.browserkit import SITE, wait_until_true

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
CASHIER = ("casey", "casey-cashier-password-1")


def snap(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def csrf(page) -> str:
    return page.evaluate("window.bastionCsrf")


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways on a phone by {overflow}px"


@pytest.fixture(scope="module")
def cashier(live):
    """An employee account linked to the demo's Register 1 cashier, with a till open today."""
    from sqlalchemy import select

    from bastion.auth import service as auth_service
    from bastion.auth.permissions import Grant, Role
    from bastion.cash import counts, movements, tills
    from bastion.cash import settings as cash_settings
    from bastion.core.context import Context
    from bastion.people.models import Person

    hub = live.hub
    ctx = Context(actor="test")
    with hub.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            username=CASHIER[0],
            password=CASHIER[1],
            grants=[Grant(Role.EMPLOYEE, SITE)],
            clock=hub.clock,
            context=ctx,
        )
        person = session.execute(select(Person).where(Person.name_key.is_not(None))).scalars()
        emp = next(p for p in session.execute(select(Person)).scalars() if p.name == DEMO_NAMES[3])
        emp.user_id = user.id
        register = next(
            r
            for r in movements.list_containers(session=session, site_id=SITE, kinds=("register",))
            if r.terminal == "T1"
        )
        safe = movements.list_containers(session=session, site_id=SITE, kinds=("vault",))[0]
        till = tills.open_till(
            session=session,
            register=register,
            source=safe,
            person_id=emp.id,
            float_cents=120_000,
            context=ctx,
            now=hub.clock.now(),
        )
        settings = cash_settings.load(session=session, site_id=SITE)
        tills.check_limit(
            session=session, register=register, settings=settings, context=ctx, now=hub.clock.now()
        )
        del person, till, counts
    return CASHIER


def test_tills_exceptions_counts_pickups_and_report_on_a_desktop(admin_page, live, cashier):
    page = admin_page
    page.goto("/console/cash")
    tills = page.locator("#cash-containers .till")
    expect(tills).to_have_count(4)
    expect(page.locator(".till.kind-register.over")).to_have_count(1)
    expect(page.locator("#variances")).to_contain_text("-$7.00")
    snap(page, "cash-tills")

    page.goto("/console/cash/exceptions")
    queue = page.locator("#exception-queue .exception")
    expect(queue).to_have_count(2)
    expect(page.locator('[data-rule="no_sale"] .bookmark')).to_contain_text("Sales counter")
    snap(page, "cash-exceptions")
    item = page.locator('[data-rule="refund_no_receipt"]')
    item.locator("summary").click()
    item.locator('input[value="training"]').check()
    item.locator('input[name="note"]').fill("cashier refunded without the manager's key")
    item.locator('button[type="submit"]').click()
    expect(page.locator("#notice")).to_have_text("Review recorded.")
    expect(queue).to_have_count(1)

    page.goto("/console/cash/counts")
    page.select_option('#start-count select[name="container"]', label="Vault")
    page.click("#start-count button")
    expect(page.locator("#notice")).to_contain_text("Count started")
    vault_count = page.locator(".count").filter(has_text="Vault")
    expect(vault_count).to_contain_text("Waiting for two counters")
    assert "$" not in vault_count.inner_text().split("Counted ($)")[0].replace("$)", "")
    vault_count.locator('input[name="amount"]').fill("8,000.00")
    vault_count.locator('button[type="submit"]').click()
    expect(page.locator("#notice")).to_contain_text("second, different person")
    snap(page, "cash-counts")
    page.goto("/console/cash")
    expect(page.locator(".till.kind-vault")).to_contain_text("Counting…")

    page.goto("/console/cash/pickups")
    page.click("#plan-form button")
    expect(page.locator("#notice")).to_contain_text("Pickup planned")
    code = page.locator("code.otp").first.inner_text()
    assert re.fullmatch(r"\d{8}", code)
    snap(page, "cash-pickups")

    page.goto("/console/cash/report")
    expect(page.locator("#report-registers tbody tr")).to_have_count(2)
    page.click("text=← previous day")
    expect(page.locator("#report-day")).to_be_visible()
    image = page.locator("#report-chart")
    expect(image).to_be_visible()
    wait_until_true(page, "document.getElementById('report-chart').naturalWidth > 0")
    pdf = page.request.get(page.locator("#report-pdf").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    snap(page, "cash-report")


def test_the_cash_pages_fit_a_phone_and_a_cashier_sees_only_her_till(
    admin_page, browser, live, cashier
):
    admin = admin_page.context.new_page()  # TOTP codes work once: reuse the admin's session
    admin.set_viewport_size(PHONE)
    for path, name in (
        ("/console/cash", "cash-tills-phone"),
        ("/console/cash/exceptions", "cash-exceptions-phone"),
        ("/console/cash/report", "cash-report-phone"),
    ):
        admin.goto(path)
        expect(admin.locator("h1")).to_be_visible()
        no_sideways_scroll(admin)
        snap(admin, name)
    admin.close()

    context = browser.new_context(base_url=live.url, viewport=PHONE)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", cashier[0])
    page.fill("#password", cashier[1])
    page.click("#sign-in")
    expect(page).to_have_url(re.compile(r"/console"))
    nav = page.locator("nav .nav-links")
    page.click("#nav-toggle")  # on a phone the sections fold behind Menu
    expect(nav.locator('a[href="/console/cash/my-till"]')).to_be_visible()
    expect(nav.locator('a[href="/console/cash"]')).to_have_count(0)
    page.goto("/console/cash/my-till")
    expect(page.locator("#drop-needed")).to_be_visible()
    assert "1,2" not in page.locator("main").inner_text()  # never the balance ($1,200.00)
    no_sideways_scroll(page)
    snap(page, "cash-my-till-phone")
    page.fill('input[name="amount"]', "700.00")
    page.click("#drop-button")
    expect(page.locator("#notice")).to_have_text("Drop recorded.")
    expect(page.locator("#drop-needed")).to_have_count(0)
    assert page.goto("/console/cash").status == 403
    context.close()
