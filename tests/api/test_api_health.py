"""Health and readiness tell whether the database answers; its outages are 503 problems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bastion.api.app import create_app
from bastion.core.bus import Bus
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_STATE, DoorPayload, make_event
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from bastion.store.outbox import OUTBOX_FILE, Outbox
from tests.store.outage_support import closed_port_url

UNREACHABLE = "The database is unreachable; try again shortly"


@pytest.fixture
def down_hub(tmp_path: Path) -> Iterator[Hub]:
    """Return a hub whose PostgreSQL server is not there (nothing listens on its port)."""
    db = Database(closed_port_url())
    ledger = Ledger(db, outbox=Outbox(tmp_path / OUTBOX_FILE), retry_s=0.05, retry_max_s=0.1)
    hub = Hub(settings=Settings(data_dir=tmp_path), db=db, ledger=ledger, bus=Bus(sink=ledger))
    yield hub
    hub.close()


def test_health_and_readiness_when_the_database_answers(hub: Hub) -> None:
    client = TestClient(create_app(hub))
    body = client.get("/api/health").json()
    assert (body["status"], body["database"], body["outbox"]) == ("ok", "up", 0)
    assert set(body) == {"status", "version", "database", "outbox"}
    assert client.get("/api/ready").status_code == 200


async def test_health_says_degraded_and_writes_get_503_while_the_database_is_down(
    down_hub: Hub,
) -> None:
    for state in ("open", "closed", "open"):
        await down_hub.bus.emit(
            make_event(
                EVENT_DOOR_STATE,
                DoorPayload(door_id="front-entry", state=state),
                context=Context(actor="device:contact"),
            )
        )
    client = TestClient(create_app(down_hub), raise_server_exceptions=False)
    health = client.get("/api/health")
    assert health.status_code == 200  # the process is alive
    body = health.json()
    assert (body["status"], body["database"], body["outbox"]) == ("degraded", "down", 3)
    assert "postgresql" not in health.text and "127.0.0.1" not in health.text
    ready = client.get("/api/ready")
    assert ready.status_code == 503 and ready.json()["database"] == "down"

    write = client.post(
        "/api/notify/contacts",
        headers={"Authorization": "Bearer bst_1_secret"},
        json={"name": "Kim", "channels": [{"kind": "webhook", "url": "json://127.0.0.1:9/x"}]},
    )
    assert write.status_code == 503
    assert write.headers["content-type"] == "application/problem+json"
    assert write.json()["detail"] == UNREACHABLE
    client.cookies.set("bastion_session", "signed-in-before-the-outage")
    read = client.get("/api/alarms")
    assert read.status_code == 503 and read.json()["detail"] == UNREACHABLE
