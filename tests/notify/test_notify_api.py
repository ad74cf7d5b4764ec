"""The HTTP API end to end: configure, start, watch, acknowledge by the public link."""

from __future__ import annotations

import re
import time

from bastion.auth.permissions import Role

LINK = re.compile(r"/notify/ack/([0-9]+\.[0-9]+\.[0-9a-f]+\.[0-9a-f]+)")


def _wait_delivered(client, run_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        body = client.get(f"/api/notify/runs/{run_id}").json()
        if all(r["status"] != "pending" and r["status"] != "sending" for r in body["recipients"]):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_configure_start_and_acknowledge_over_http(client_for, webhook):
    admin = client_for(Role.ADMIN)
    operator = client_for(Role.OPERATOR)
    hook = webhook.url("/hook/api-s3cret")

    created = admin.post(
        "/api/notify/contacts",
        json={"name": "Kim", "role": "manager", "channels": [{"kind": "webhook", "url": hook}]},
    )
    assert created.status_code == 201, created.text
    assert "api-s3cret" not in created.text
    contact_id = created.json()["id"]
    assert created.json()["channels"][0]["hint"] == "json://•••"

    bad = admin.post(
        "/api/notify/contacts",
        json={"name": "Bad", "channels": [{"kind": "email", "url": "mailto://x?to=nope"}]},
    )
    assert bad.status_code == 422
    assert admin.post("/api/notify/trees", json={"name": "t", "tiers": []}).status_code == 422
    assert (
        operator.post("/api/notify/contacts", json={"name": "X", "channels": []}).status_code == 403
    )

    tree = admin.post(
        "/api/notify/trees",
        json={"name": "managers", "tiers": [{"contacts": ["Kim"], "ack_timeout_s": 300}]},
    )
    assert tree.status_code == 201, tree.text
    assert tree.json()["tiers"][0]["members"] == [{"contact_id": contact_id, "name": "Kim"}]
    assert admin.post("/api/notify/templates/defaults").status_code == 200
    missing = admin.post(
        "/api/notify/templates", json={"id": "x", "title": "{{ nope }}", "body": "b"}
    )
    assert missing.status_code == 422 and "nope" in missing.json()["detail"]

    started = operator.post(
        "/api/notify/runs",
        json={
            "tree": "managers",
            "template_id": "medical",
            "variables": {"site": "Main", "zone": "sales floor", "operator_note": "Aisle 3"},
        },
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    incomplete = operator.post(
        "/api/notify/runs", json={"tree": "managers", "template_id": "medical"}
    )
    assert incomplete.status_code == 422

    body = _wait_delivered(operator, run_id)
    assert body["recipients"][0]["status"] == "delivered"
    [post] = webhook.posts
    assert post["title"] == "Medical emergency at Main"
    token = LINK.search(post["message"]).group(1)

    page = operator.get(f"/notify/ack/{token}")
    assert page.status_code == 200 and "Acknowledge</button>" in page.text
    assert _wait_delivered(operator, run_id)["acknowledged_at"] is None  # GET changed nothing

    first = operator.post(f"/notify/ack/{token}")
    assert first.status_code == 200 and "Kim" in first.text
    again = operator.post(f"/notify/ack/{token}")
    assert again.status_code == 409
    forged = operator.post(f"/notify/ack/{token[:-2]}00")
    assert forged.status_code == 403

    status = operator.get(f"/api/notify/runs/{run_id}").json()
    assert status["status"] == "acknowledged"
    assert status["recipients"][0]["ack_method"] == "link"
    assert operator.get("/api/notify/contacts").status_code == 200
    assert "api-s3cret" not in operator.get("/api/notify/contacts").text
