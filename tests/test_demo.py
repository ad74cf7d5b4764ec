"""Done-when: the demo's panic button and its nightly intrusion reach people through its mail catcher.

The demo's data directory, its rules, its call trees and its local mail catcher are the
real ones; the messages cross SMTP on 127.0.0.1.
"""

from __future__ import annotations

import functools
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bastion.api.app import create_app
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_FORCED, DoorPayload
from bastion.demo import (
    DemoInfo,
    MailCatcher,
    attach_demo_services,
    demo_settings,
    demo_smtp_port,
    prepare_demo,
)
from bastion.hub import Hub
from bastion.server import prepare_hub
from bastion.settings import Settings
from tests.notify.conftest import free_port

SITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T")  # America/Chicago, never UTC


@dataclass
class Demo:
    """A prepared demo served in-process, signed in as its operator."""

    settings: Settings
    info: DemoInfo
    hub: Hub
    catcher: MailCatcher
    client: TestClient

    def wait_for_mail(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.catcher.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def mail(self) -> dict[str, EmailMessage]:
        """Return the caught messages by recipient, parsed from the saved .eml files."""
        found: dict[str, EmailMessage] = {}
        for path in sorted((Path(self.settings.data_dir) / "mail").glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=default_policy)
            assert isinstance(message, EmailMessage)
            found[str(message["To"])] = message
        return found


def _settings(tmp_path: Path) -> Settings:
    port = free_port()
    while True:  # the catcher listens on port + 25: both must be free
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 25))
            break
        except OSError:
            port = free_port()
    return demo_settings(Settings(data_dir=tmp_path / "demo", host="127.0.0.1"), port=port)


def test_the_demo_serves_plain_http_unless_told_otherwise(tmp_path: Path):
    plain = demo_settings(Settings(data_dir=tmp_path), port=8600)
    assert plain.cookie_secure is False and plain.database_url is None
    told = demo_settings(Settings(data_dir=tmp_path, cookie_secure=True), port=8600)
    assert told.cookie_secure is True
    assert Settings(data_dir=tmp_path).cookie_secure is not False  # bastion serve: Secure


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    settings = _settings(tmp_path)
    prepare_demo(settings)
    info = prepare_demo(settings)  # a second start reuses the demo contacts and trees
    assert info.smtp_port == demo_smtp_port(settings) == settings.port + 25
    hub = prepare_hub(settings)
    catcher = attach_demo_services(hub)
    try:
        with TestClient(create_app(hub), base_url="http://127.0.0.1") as client:
            login = client.post(
                "/api/auth/login",
                json={"username": info.operator_user, "password": info.operator_password},
            )
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            yield Demo(settings, info, hub, catcher, client)
    finally:
        hub.close()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is not None
    return str(part.get_content())


def test_demo_panic_button_alerts_police_and_management_each_with_their_own_message(
    demo: Demo,
):
    page = demo.client.get("/console/emergency")
    assert 'id="demo-panic"' in page.text

    assert demo.client.post("/console/emergency/panic").status_code == 204
    demo.wait_for_mail(2)
    runs = demo.client.get("/api/playbooks/runs").json()
    assert [(r["playbook_id"], r["drill"]) for r in runs] == [("armed_robbery", False)]
    steps = {s["step_id"]: s["status"] for s in runs[0]["steps"]}
    for step in ("alert-police", "alert-management", "lock-vault", "bookmark"):
        assert steps[step] == "done", step
    assert 'id="mailbox"' in demo.client.get("/console/emergency").text

    mail = demo.mail()
    assert sorted(mail) == ["manager@demo.invalid", "police@demo.invalid"]
    police, manager = mail["police@demo.invalid"], mail["manager@demo.invalid"]
    assert str(police["Subject"]).startswith("Armed robbery in progress: Greenleaf")
    police_text = _body(police)
    assert "1200 W Example St" in police_text  # the address dispatch needs
    assert "Police have been called" not in police_text
    assert "Do not come to the site" not in police_text
    assert str(manager["Subject"]).startswith("ROBBERY at Greenleaf")
    manager_text = _body(manager)
    assert "Police have been called" in manager_text
    for text in (police_text, manager_text):
        assert SITE_TIME.search(text), text
        assert "UTC" not in text


def test_demo_forced_door_in_an_armed_zone_mails_the_intrusion_call_tree(demo: Demo):
    site = next(iter(demo.hub.extras["sites"].values()))
    armed = demo.client.put(
        f"/api/sites/{site.site.id}/zones/parking/arming",
        json={"armed": True, "reason": "closing"},
    )
    assert armed.status_code == 200, armed.text
    # The simulator's nightly intrusion: an exterior gate opened without a grant.
    send = functools.partial(
        demo.hub.bus.publish,
        EVENT_DOOR_FORCED,
        DoorPayload(door_id="lot-gate", state="forced", zone_id="parking"),
        context=Context(actor="device:sim-contact"),
        site=site.site.id,
    )
    demo.client.portal.call(send)  # type: ignore[union-attr]
    demo.wait_for_mail(1)

    mail = demo.mail()
    assert list(mail) == ["manager@demo.invalid"], [m["to"] for m in demo.catcher.messages]
    text = _body(mail["manager@demo.invalid"])
    # Names people read, and the site's local time.
    assert "Forced door: Vehicle gate, armed zone Parking lot and apron, Greenleaf" in text, text
    assert SITE_TIME.search(text), text
    assert "lot-gate" not in text and "UTC" not in text
