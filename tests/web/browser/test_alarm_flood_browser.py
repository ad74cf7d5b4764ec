"""Alarm-flood control in headless Chromium: a storm folded into one counted alarm, bulk
acknowledged from the queue, and the lockdown banner on every page, on a desktop and a phone.

Screenshots go to docs/screenshots/ (alarm-flood-*.png, lockdown-banner-*.png).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bastion.alarms.models import Alarm
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_FORCED, DoorPayload
from tests.web.browser.browserkit import SITE, sign_in, wait_until_true

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE = (390, 844)
DOORS = {"desktop": ("dock-door", "loading-dock"), "phone": ("sales-exit", "sales-floor")}


def snap(page, name: str, *, full_page: bool = True) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full_page)


def _storm(live, count: int, door: str, zone: str) -> Alarm:
    """Force ``door`` ``count`` times on the live bus; return the one alarm raised."""
    with live.hub.db.sessions() as session:
        assert not session.query(Alarm).filter(Alarm.door_id == door).count()
    for _ in range(count):
        live.run(
            live.hub.bus.publish(
                EVENT_DOOR_FORCED,
                DoorPayload(door_id=door, state="forced", zone_id=zone),
                context=Context(actor="device:dock-panel"),
                site=SITE,
            )
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with live.hub.db.sessions() as session:
            found = (
                session.query(Alarm).filter(Alarm.door_id == door, Alarm.state == "raised").all()
            )
        if found and sum(a.occurrences for a in found) >= count:
            assert len(found) == 1, "the storm raised more than one alarm"
            return found[0]
        time.sleep(0.1)
    pytest.fail("the storm was not counted")


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("viewport", [(1440, 960), PHONE], ids=["desktop", "phone"])
def test_a_storm_is_one_counted_alarm_acknowledged_in_bulk(browser, live, viewport) -> None:
    page = sign_in(
        browser, live, live.info.operator_user, live.info.operator_password, viewport=viewport
    )
    try:
        name = "desktop" if viewport[0] > 800 else "phone"
        alarm = _storm(live, 50, *DOORS[name])
        alarm_id, priority = alarm.id, str(alarm.priority)
        page.goto(f"/console/alarms?priority={priority}")
        row = page.locator(f'#alarm-table tr[data-alarm-id="{alarm_id}"]')
        expect(row).to_contain_text("×50")
        expect(page.locator("#filter-priority")).to_have_value(priority)
        snap(page, f"alarm-flood-{name}")
        if viewport == PHONE:
            _no_sideways_scroll(page)
        page.check(f"#pick-{alarm_id}")
        page.fill("#bulk-reason", "dock panel fault, technician called")
        page.click("#bulk-ack button[type=submit]")
        expect(page.locator("#bulk-done")).to_contain_text("acknowledged")
        expect(page.locator("#filter-priority")).to_have_value(priority)
        expect(page.locator(f'#alarm-table tr[data-alarm-id="{alarm_id}"]')).to_contain_text(
            "acknowledged"
        )
        page.goto(f"/console/alarms/{alarm_id}")
        expect(page.locator("#alarm-count")).to_have_text("×50")
        # More repeats while it is worked: the dashboard's queue counts them live.
        page.goto("/console")
        expect(page.locator("#feed-status")).to_have_text("live")
        door, zone = DOORS[name]
        for _ in range(3):
            live.run(
                live.hub.bus.publish(
                    EVENT_DOOR_FORCED,
                    DoorPayload(door_id=door, state="forced", zone_id=zone),
                    context=Context(actor="device:dock-panel"),
                    site=SITE,
                )
            )
        expect(page.locator(f'#alarm-queue [data-alarm-id="{alarm_id}"]')).to_contain_text("×53")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [(1440, 960), PHONE], ids=["desktop", "phone"])
def test_the_lockdown_banner_appears_live_and_on_every_page(browser, live, viewport) -> None:
    page = sign_in(
        browser, live, live.info.operator_user, live.info.operator_password, viewport=viewport
    )
    lockdown = f"/api/sites/{SITE}/zones/vault/lockdown"
    try:
        page.goto("/console/alarms")
        expect(page.locator("#standing .standing")).to_have_count(0)
        # Alerts are off until asked for; the browser is never asked on its own.
        assert page.evaluate("Notification.permission") == "default"
        expect(page.locator("#alarm-alerts")).to_have_text("Turn on alarm alerts")
        started = page.evaluate(
            "(url) => window.bastion.post(url, {active: true, reason: 'drill'})", lockdown
        )
        assert started["ok"], started
        # The live feed brings the banner without a reload.
        banner = page.locator("#standing .standing.lockdown")
        expect(banner).to_contain_text("Lockdown of Vault")
        expect(banner).to_contain_text(f"set by {live.info.operator_user}")
        expect(banner).to_contain_text("drill")
        for url in ("/console/events", "/console/map", "/console"):
            page.goto(url)
            expect(page.locator("#standing .standing.lockdown")).to_contain_text(
                "Lockdown of Vault"
            )
        name = "desktop" if viewport[0] > 800 else "phone"
        snap(page, f"lockdown-banner-{name}", full_page=False)
        if viewport == PHONE:
            _no_sideways_scroll(page)
    finally:
        page.evaluate("(url) => window.bastion.post(url, {active: false})", lockdown)
        page.goto("/console/alarms")
        expect(page.locator("#standing .standing")).to_have_count(0)
        page.context.close()


NOTIFICATION_STUB = """
window.__asked = 0;
window.__notes = [];
class StubNotification {
  constructor(title, options) { window.__notes.push({ title: title, body: options.body }); }
  static requestPermission() {
    window.__asked += 1;
    StubNotification.permission = "granted";
    return Promise.resolve("granted");
  }
}
StubNotification.permission = "default";
window.Notification = StubNotification;
"""


def test_alerts_ask_permission_only_from_the_button_and_fire_for_p1_p2(browser, live) -> None:
    from bastion.core.events import EVENT_ALARM_RAISED, AlarmPayload

    page = sign_in(browser, live, live.info.operator_user, live.info.operator_password)
    try:
        page.add_init_script(NOTIFICATION_STUB)
        page.goto("/console/alarms")
        expect(page.locator("#feed-status")).to_have_text("live")
        assert page.evaluate("window.__asked") == 0

        def raise_(priority: int, message: str) -> None:
            payload = AlarmPayload(alarm_type="panic", priority=priority, message=message)
            context = Context(actor="device:counter-panic")
            live.run(live.hub.bus.publish(EVENT_ALARM_RAISED, payload, context=context, site=SITE))

        raise_(1, "Panic before alerts were on")
        page.wait_for_timeout(500)
        assert page.evaluate("window.__notes.length") == 0
        page.click("#alarm-alerts")
        expect(page.locator("#alarm-alerts")).to_have_text("Alarm alerts on")
        assert page.evaluate("window.__asked") == 1
        raise_(5, "A low-priority trouble")
        raise_(1, "Panic at the counter")
        wait_until_true(page, "window.__notes.length >= 1")
        notes = page.evaluate("window.__notes")
        assert notes == [{"title": "P1 alarm", "body": "Panic at the counter"}]
    finally:
        page.evaluate("window.localStorage.removeItem('bastion.alarmAlerts')")
        page.context.close()
