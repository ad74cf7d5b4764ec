"""Done-when: pressing the demo's panic button runs the robbery playbook end to end.

The demo's data directory, its call trees and its local mail catcher are the real
ones; the messages cross SMTP on 127.0.0.1.
"""

from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient

from bastion.api.app import create_app
from bastion.demo import attach_demo_services, demo_smtp_port, prepare_demo
from bastion.server import prepare_hub
from bastion.settings import Settings
from tests.notify.conftest import free_port


def test_demo_panic_button_runs_the_robbery_playbook_and_mail_is_caught(tmp_path):
    port = free_port()
    while True:  # the catcher listens on port + 25: both must be free
        smtp = port + 25
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", smtp))
            break
        except OSError:
            port = free_port()
    settings = Settings(
        data_dir=tmp_path / "demo", host="127.0.0.1", port=port, cookie_secure=False
    )
    prepare_demo(settings)
    info = prepare_demo(settings)  # a second start reuses the demo contacts and trees
    assert info.smtp_port == demo_smtp_port(settings) == smtp

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
            page = client.get("/console/emergency")
            assert 'id="demo-panic"' in page.text

            assert client.post("/console/emergency/panic").status_code == 204
            deadline = time.monotonic() + 30
            while len(catcher.messages) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            runs = client.get("/api/playbooks/runs").json()
            assert [(r["playbook_id"], r["drill"]) for r in runs] == [("armed_robbery", False)]
            steps = {s["step_id"]: s["status"] for s in runs[0]["steps"]}
            assert steps["call-tree"] == steps["lock-vault"] == steps["bookmark"] == "done"
            assert 'id="mailbox"' in client.get("/console/emergency").text
    finally:
        hub.close()
    assert sorted(m["to"] for m in catcher.messages) == [
        "manager@demo.invalid",
        "police@demo.invalid",
    ]
    assert all(m["subject"].startswith("ROBBERY at Greenleaf") for m in catcher.messages)
    assert len(list((tmp_path / "demo" / "mail").glob("*.eml"))) == 2
