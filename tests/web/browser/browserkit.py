"""Helpers for the browser tests: the live server handle, sign-in and screenshots."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SITE = "dispensary-main"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
AUDITOR = ("auditor", "auditor-password-for-tests")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("BASTION_REQUIRE_SERVICES", "") == "1":
        pytest.fail(f"required service missing: Chromium at {CHROMIUM}")
    pytest.skip(f"Chromium is not installed at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The running server: its address, hub, loop and the demo credentials."""

    url: str
    hub: Any
    info: Any
    keyring: Any
    server: uvicorn.Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop | None = None
    started: threading.Event = field(default_factory=threading.Event)

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 20) -> Any:
        """Run ``coroutine`` in the server's event loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open_alarm_ids(self) -> set[str]:
        """Return the ids of the alarms in the database."""
        from bastion.alarms.models import Alarm

        with self.hub.db.sessions() as session:
            return {a.id for a in session.query(Alarm).all()}

    def force_a_door(self) -> str:
        """Run the simulator from 01:55 simulated until it forces a door; return the new alarm."""
        from bastion.integrations.simulator import SimulatorConfig, SimulatorIntegration

        before = self.open_alarm_ids()
        simulator = SimulatorIntegration()
        config = SimulatorConfig(site_id=SITE, start=clock_time(1, 55), step_s=0.2, seed=8)
        self.run(simulator.setup(self.hub, config))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                new = self._new_forced(before)
                if new is not None:
                    return new
                time.sleep(0.05)
            pytest.fail("the simulator forced no door")
        finally:
            self.run(simulator.unload())
            # Let the domains finish writing (rule traces flush every second): SQLite answers
            # "database is locked" at once to a transaction that read before another's commit.
            time.sleep(1.5)

    def _new_forced(self, before: set[str]) -> str | None:
        from bastion.alarms.models import Alarm

        with self.hub.db.sessions() as session:
            for alarm in session.query(Alarm).filter(Alarm.alarm_type == "door_forced"):
                if alarm.id not in before:
                    return alarm.id
        return None


def sign_in(
    browser: Any,
    live: LiveServer,
    username: str,
    password: str,
    totp_secret: str | None = None,
    *,
    viewport: tuple[int, int] = (1440, 960),
) -> Any:
    """Open a fresh browser context, sign in through the login page and return the page."""
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=live.url, viewport={"width": viewport[0], "height": viewport[1]}
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/console")
    expect(page).to_have_url(f"{live.url}/login?next=/console")
    page.fill("#username", username)
    page.fill("#password", password)
    if totp_secret is not None:
        page.fill("#totp", pyotp.TOTP(totp_secret).now())
    page.click("#sign-in")
    expect(page).to_have_url(f"{live.url}/console")
    expect(page.locator("#feed-status")).to_have_text("live")
    return page


def shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_until_true(page: Any, expression: str, *, within_s: float = 30.0) -> None:
    """Poll ``expression`` in the page until it is truthy.

    Playwright's ``wait_for_function`` compiles its predicate with ``eval``, which the
    console's Content-Security-Policy forbids; ``evaluate`` runs through the debugger
    protocol and is unaffected.
    """
    deadline = time.monotonic() + within_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {within_s:.0f} s: {expression}")
        time.sleep(0.1)
