"""The inventory pages in headless Chromium against the demo server, on a desktop and a phone.

Stock by zone, the findings queue (evidence in words, flagged movements with their clip),
today's blind count sheet and the reconciliation report. Screenshots go to
docs/screenshots/ (inventory-*.png).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.browser.browserkit import SITE, wait_until_true

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
STAFF = ("dana", "dana-inventory-password-1")
RECORDER = "http://recorder.example/clips"
ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


def snap(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways on a phone by {overflow}px"


class StandInRecorder:
    """A recorder that offers a clip of every camera (the URL is never opened)."""

    def clip_url(self, camera_id: str, start: datetime, end: datetime) -> str | None:
        return f"{RECORDER}/{camera_id}?start={int(start.timestamp())}&end={int(end.timestamp())}"


@pytest.fixture(scope="module")
def inventory(live):
    """The admin carries the sales-floor package into the vault unbadged; today's count starts.

    The admin is the count's only counter; an inventory staff account (who counts
    nothing today) is made too. Returns the book quantities the counter must not see.
    """
    from sqlalchemy import select

    from bastion.auth import service as auth_service
    from bastion.auth.models import User
    from bastion.auth.permissions import Grant, Role
    from bastion.core.context import Context
    from bastion.core.ports import register_clip_source
    from bastion.inventory import catalog, counts, movements, units

    hub = live.hub
    register_clip_source(hub.extras, SITE, StandInRecorder())
    site = hub.extras["sites"][SITE]
    with hub.unit_of_work() as session:
        admin = session.execute(
            select(User).where(User.username == live.info.admin_user)
        ).scalar_one()
        auth_service.create_user(
            session=session,
            username=STAFF[0],
            password=STAFF[1],
            grants=[Grant(Role.INVENTORY_STAFF, SITE)],
            clock=hub.clock,
            context=Context(actor="test"),
        )
        vault = next(p for p in catalog.locations(session, SITE) if p.name == "Vault")
        package = movements.by_tag(session, SITE, "1A4FF0300000029000000002")
        movements.move(
            session=session,
            site=site,
            package=package,
            location=vault,
            actor=movements.Actor(Context(actor=f"user:{admin.id}"), admin.id, None),
            now=hub.clock.now(),
            clips=StandInRecorder(),
        )
        count = counts.start(
            session=session,
            site=site,
            counters=[admin.id],
            context=Context(actor="test"),
            now=hub.clock.now(),
            size=3,
        )
        books = [units.text(line.system_qty, "g") for line in counts.lines(session, count)]
        tags = [line.tag for line in counts.lines(session, count)]
    return {"books": books, "tags": tags}


def test_stock_findings_count_and_report_on_a_desktop(admin_page, live, inventory):
    page = admin_page
    page.goto("/console/inventory")
    expect(page.locator("#inventory-zone")).to_contain_text("America/Chicago")
    stock = page.locator("#inventory-stock")
    expect(stock).to_contain_text("Back of house")
    expect(stock).to_contain_text("Back room")
    expect(stock).to_contain_text("OG Kush 1 g pre-roll")

    short = page.locator('[data-check="physical"]').filter(has_text="counted 446.5 g")
    expect(short).to_have_count(1)
    short.locator("summary").click()
    expect(short.locator(".evidence")).to_contain_text("Value: $15.00")
    expect(short.locator(".evidence")).to_contain_text("Books: 448 g")
    threshold = page.locator('[data-check="physical"]').filter(has_text="reach 3 %")
    expect(threshold).to_contain_text("Regulator notice due")
    expect(page.locator('[data-check="pos_vs_tracking"]')).to_contain_text("the POS sold 21 g")

    flagged = page.locator("#inventory-flagged .flagged-movement")
    expect(flagged).to_have_count(2)
    mine = flagged.filter(has=page.locator("a.clip-link"))
    expect(mine).to_contain_text("from Sales floor to Vault")
    expect(mine).to_contain_text(re.compile("nobody badged in at the Vault door", re.I))
    link = mine.locator("a.clip-link")
    assert link.get_attribute("href").startswith(f"{RECORDER}/cam-vault-1?")
    expect(link).not_to_contain_text("cam-vault-1")  # the camera's name, not its id
    demo = flagged.filter(has_text="from Back room to Vault")
    expect(demo.locator(".bookmark")).to_contain_text("Camera bookmark")
    main = page.locator("main").inner_text()
    assert "user:" not in main and "demo:" not in main, "an account id shows instead of a name"
    assert not ULID.search(main), f"an internal id shows: {ULID.search(main)}"
    snap(page, "inventory-stock-findings")

    page.click("#inventory-count-link")
    expect(page).to_have_url(re.compile(r"/console/inventory/count"))
    sheet = page.locator("#count-sheet tbody tr")
    expect(sheet).to_have_count(3)
    expect(page.locator("#count-started")).to_contain_text("3 packages")
    text = page.locator("main").inner_text()
    for book in inventory["books"]:
        assert book not in text, f"the count sheet shows a book quantity ({book})"
    tag = inventory["tags"][0]
    page.fill('#count-form input[name="tag"]', tag)
    page.fill('#count-form input[name="quantity"]', "four hundred")
    page.click('#count-form button[type="submit"]')
    expect(page.locator("#count-error")).to_contain_text("is not a number")
    expect(page.locator('#count-form input[name="tag"]')).to_have_value(tag)
    expect(page.locator('#count-form input[name="quantity"]')).to_have_value("four hundred")
    page.fill('#count-form input[name="tag"]', "1A4FF0300000029000999999")
    page.fill('#count-form input[name="quantity"]', "5")
    page.click('#count-form button[type="submit"]')
    expect(page.locator("#count-error")).to_contain_text("not in this count's sample")
    page.fill('#count-form input[name="tag"]', tag)
    page.fill('#count-form input[name="quantity"]', "447")
    page.click('#count-form button[type="submit"]')
    expect(page.locator("p.notice")).to_have_text("Figure recorded.")
    expect(sheet.filter(has_text=tag)).to_contain_text("✓ entered")
    expect(sheet.filter(has_text="✓ entered")).to_have_count(1)
    snap(page, "inventory-count")

    page.goto("/console/inventory")
    page.click("#inventory-report-link")
    expect(page.locator("#report-produced")).to_contain_text("(America/Chicago)")
    expect(page.locator("#inventory-by-location")).to_contain_text("Back room")
    expect(page.locator("#inventory-by-location .loss")).to_contain_text("-$15.00")
    expect(page.locator("#inventory-open-findings")).to_contain_text("Physical vs system")
    reasons = page.locator("#inventory-reasons tbody tr").filter(has_text="Drying")
    expect(reasons).to_have_count(1)
    assert "demo" not in reasons.inner_text().lower()  # the budtender's name, not the actor code
    wait_until_true(page, "document.getElementById('inventory-report-chart').naturalWidth > 0")
    pdf = page.request.get(page.locator("#inventory-report-pdf").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    csv = page.request.get(page.locator("#inventory-report-csv").get_attribute("href"))
    assert csv.ok and "Back room" in csv.text()
    snap(page, "inventory-report")


def test_the_inventory_pages_fit_a_phone_and_staff_see_only_the_count(
    admin_page, browser, live, inventory
):
    admin = admin_page.context.new_page()  # TOTP codes work once: reuse the admin's session
    admin.set_viewport_size(PHONE)
    admin.goto("/console")
    admin.click("#nav-toggle")  # on a phone the sections fold behind Menu
    admin.locator('nav .nav-links a[href="/console/inventory"]').click()
    expect(admin).to_have_url(re.compile(r"/console/inventory$"))
    for path, name in (
        ("/console/inventory", "inventory-stock-findings-phone"),
        ("/console/inventory/count", "inventory-count-phone"),
        ("/console/inventory/report", "inventory-report-phone"),
    ):
        admin.goto(path)
        expect(admin.locator("h1")).to_be_visible()
        no_sideways_scroll(admin)
        snap(admin, name)
    admin.close()

    context = browser.new_context(base_url=live.url, viewport=PHONE)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", STAFF[0])
    page.fill("#password", STAFF[1])
    page.click("#sign-in")
    expect(page).to_have_url(re.compile(r"/console"))
    page.click("#nav-toggle")
    nav = page.locator("nav .nav-links")
    expect(nav.locator('a[href="/console/inventory/count"]')).to_be_visible()
    expect(nav.locator('a[href="/console/inventory"]')).to_have_count(0)
    nav.locator('a[href="/console/inventory/count"]').click()
    expect(page.locator("#no-count")).to_be_visible()  # not a counter today: no sheet
    expect(page.locator("#count-sheet")).to_have_count(0)
    no_sideways_scroll(page)
    assert page.goto("/console/inventory").status == 403
    assert page.goto("/console/inventory/report").status == 403
    context.close()
