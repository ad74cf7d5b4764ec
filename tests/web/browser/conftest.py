"""A real Bastion server (uvicorn in a thread, demo data directory) and headless Chromium.

The server runs the app exactly as ``bastion demo`` does, minus the simulator, which the
tests start on demand (with a simulated clock just before 02:00, so it forces a door).
Without /usr/bin/chromium the tests are skipped, unless BASTION_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tests.web.browser.browserkit import (
    AUDITOR,
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    free_port,
    require_chromium,
    sign_in,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Start the demo's server on a free loopback port with a fresh data directory."""
    require_chromium()
    from bastion.api.app import create_app
    from bastion.auth import service as auth_service
    from bastion.auth.permissions import Grant, Role
    from bastion.core.context import Context
    from bastion.demo import prepare_demo
    from bastion.hub import open_hub
    from bastion.server import prepare_hub
    from bastion.settings import Settings
    from bastion.store import crypto

    data_dir = tmp_path_factory.mktemp("live-data")
    port = free_port()
    settings = Settings(data_dir=data_dir, host="127.0.0.1", port=port, cookie_secure=False)
    info = prepare_demo(settings)
    setup = open_hub(settings)
    with setup.unit_of_work() as session:
        auth_service.create_user(
            session=session,
            username=AUDITOR[0],
            password=AUDITOR[1],
            grants=[Grant(Role.AUDITOR)],
            clock=setup.clock,
            context=Context(actor="test"),
        )
    setup.close()
    hub = prepare_hub(settings)
    keyring = crypto.keyring()
    app = create_app(hub)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await server.serve()
        finally:
            await hub.bus.close()

    live = LiveServer(
        url=f"http://127.0.0.1:{port}",
        hub=hub,
        info=info,
        keyring=keyring,
        server=server,
        thread=threading.Thread(target=lambda: asyncio.run(serve()), daemon=True),
    )

    async def remember_loop() -> None:
        live.loop = asyncio.get_running_loop()
        live.started.set()

    hub.extras.setdefault("on_start", []).append(remember_loop)
    live.thread.start()
    assert live.started.wait(30), "the server did not start"
    for _ in range(200):
        try:
            if httpx.get(f"{live.url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    yield live
    server.should_exit = True
    live.thread.join(30)
    hub.close()


@pytest.fixture(autouse=True)
def keyring(live: LiveServer) -> Any:
    """Keep the live server's key ring installed (the suite's default would replace it)."""
    from bastion.store import crypto

    crypto.configure(live.keyring)
    return live.keyring


@pytest.fixture(scope="module")
def browser(live: LiveServer) -> Iterator[Any]:
    """Launch Debian's Chromium headless, without sandbox or background networking."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def admin_page(browser: Any, live: LiveServer) -> Iterator[Any]:
    """Return the admin's page, signed in once with password and TOTP (codes work once)."""
    page = sign_in(
        browser, live, live.info.admin_user, live.info.admin_password, live.info.admin_totp_secret
    )
    yield page
    page.context.close()
