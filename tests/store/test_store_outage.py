"""A PostgreSQL outage loses no ledger record, and the API says the database is down.

A private PostgreSQL server (never the shared one) is stopped while access decisions,
door events and a forced door keep coming, then started again. Every record reaches
the ledger exactly once, in order, after those made before the outage and before
those made after it; the chain verifies; the forced-door alarm is raised once the
database answers. Set ``BASTION_OUTAGE_SECONDS`` to hold the outage that long (about
20 decisions a second), e.g. 45 to reproduce the review's figure.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bastion.access.engine import AccessEngine
from bastion.access.runtime import flush_decisions, start_access, stop_access
from bastion.alarms.models import Alarm
from bastion.alarms.runtime import AlarmsRuntime, start_alarms
from bastion.api.app import create_app
from bastion.auth import service as auth_service
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.core.errors import StorageUnavailable
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ALARM_RAISED,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_STATE,
    DoorPayload,
    Event,
    make_event,
)
from bastion.core.ports import Presentation, PresentationKind
from bastion.hub import Hub, open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store import crypto
from bastion.store.db import Database
from bastion.store.ledger import LedgerRow, append_events
from tests.store.outage_support import PrivatePostgres, wait_until_async

pytestmark = pytest.mark.slow

OUTAGE_S = float(os.environ.get("BASTION_OUTAGE_SECONDS", "0"))
DOOR, READER = "front-entry", "front-entry-rdr-in"
PHASES = ("before", "during", "after")


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@dataclass
class Node:
    """The running node under test and what it produced, per phase."""

    hub: Hub
    engine: AccessEngine
    alarms: AlarmsRuntime
    api: httpx.AsyncClient
    token: str
    site_id: str
    decisions: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PHASES})
    doors: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PHASES})
    seen: list[str] = field(default_factory=list)

    def decide(self, phase: str) -> None:
        """Present an unknown card; its ledger subject names the phase and the count."""
        tag = f"{phase}{len(self.decisions[phase]):08d}"[:16]
        self.engine.decide(
            Presentation(
                door_id=DOOR,
                reader_id=READER,
                kind=PresentationKind.CARD,
                card_hash=tag,
                context=Context(actor=f"device:{READER}"),
            )
        )
        self.decisions[phase].append(f"unknown:{tag}")

    async def door(self, phase: str, *, forced: bool = False) -> Event[Any]:
        event = await self.hub.bus.publish(
            EVENT_DOOR_FORCED if forced else EVENT_DOOR_STATE,
            DoorPayload(door_id=DOOR, state="open"),
            context=Context(actor="device:front-entry-contact"),
            site=self.site_id,
        )
        self.doors[phase].append(event.id)
        return event

    async def settle(self) -> None:
        await flush_decisions(self.hub)
        await self.hub.bus.drain()

    async def health(self) -> dict[str, Any]:
        reply = await self.api.get("/api/health")
        assert reply.status_code == 200
        body: dict[str, Any] = reply.json()
        return body


@pytest.fixture
async def node(
    private_pg: PrivatePostgres, tmp_path: Path, dispensary: Site
) -> AsyncIterator[Node]:
    db = Database(private_pg.url)
    db.migrate()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=private_pg.url,
        secret_keys=crypto.new_master_key(),
    )
    hub = open_hub(settings, database=db)
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=dispensary, context=Context(actor="test"), now=hub.clock.now()
        )
        admin = auth_service.create_user(
            session=session,
            username="admin",
            password="correct horse battery staple",
            grants=[Grant(Role.ADMIN)],
            clock=hub.clock,
            context=Context(actor="test"),
        )
        token = auth_service.create_api_token(
            session=session,
            owner=admin,
            name="outage",
            role=Role.ADMIN,
            clock=hub.clock,
            context=Context(actor="test"),
        ).token
    hub.extras["sites"] = {dispensary.site.id: dispensary}
    engine = start_access(hub)
    alarms = await start_alarms(hub, tick_s=0.05)
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(hub)), base_url="http://bastion.test"
    )
    node = Node(hub, engine, alarms, api, token, dispensary.site.id)
    hub.bus.subscribe(lambda event: node.seen.append(event.id))
    try:
        yield node
    finally:
        await api.aclose()
        await alarms.stop()
        await stop_access(hub)
        await hub.bus.close()
        hub.close()


def _seq_of(rows: list[LedgerRow], ids: list[str]) -> list[int]:
    by_id = {r.id: r.seq for r in rows}
    return [by_id[i] for i in ids]


async def test_a_database_outage_loses_no_ledger_record(node: Node, private_pg: PrivatePostgres):
    hub = node.hub
    for _ in range(20):
        node.decide("before")
    for _ in range(3):
        await node.door("before")
    await node.settle()
    health = await node.health()
    assert (health["status"], health["database"], health["outbox"]) == ("ok", "up", 0)
    in_flight = hub.db.write_engine.connect()  # a transaction open when the server goes away
    in_flight.begin()

    await asyncio.to_thread(private_pg.stop)

    rounds, per_round = (int(OUTAGE_S / 0.05), 1) if OUTAGE_S else (10, 30)
    forced: Event[Any] | None = None
    for i in range(rounds):
        for _ in range(per_round):
            node.decide("during")
        if i % 5 == 0:
            await node.door("during")
        if forced is None and i == rounds // 2:
            forced = await node.door("during", forced=True)
        await asyncio.sleep(0.05)
    await node.settle()
    assert forced is not None
    during = node.decisions["during"]
    # Reactions went on: subscribers saw every event of the outage.
    assert set(node.doors["during"]) <= set(node.seen)
    health = await node.health()
    assert health["status"] == "degraded" and health["database"] == "down"
    assert health["outbox"] == len(during) + len(node.doors["during"])
    ready = await node.api.get("/api/ready")
    assert ready.status_code == 503 and ready.json()["database"] == "down"
    write = await node.api.post(
        "/api/notify/contacts",
        headers={"Authorization": f"Bearer {node.token}"},
        json={"name": "Kim", "channels": [{"kind": "webhook", "url": "json://127.0.0.1:9/x"}]},
    )
    assert write.status_code == 503
    assert write.headers["content-type"] == "application/problem+json"
    assert write.json()["detail"] == "The database is unreachable; try again shortly"
    assert node.alarms.deferred == 1
    stray = make_event(EVENT_DOOR_STATE, DoorPayload(door_id=DOOR, state="closed"))
    with pytest.raises(StorageUnavailable):
        append_events(in_flight, [stray])
    in_flight.invalidate()
    in_flight.close()

    await asyncio.to_thread(private_pg.start)

    deadline = asyncio.get_running_loop().time() + 180
    while (await node.health())["status"] != "ok":  # polls the real endpoint
        assert asyncio.get_running_loop().time() < deadline, "the node did not recover"
        await asyncio.sleep(0.05)
    await wait_until_async(lambda: node.alarms.deferred == 0, what="the kept alarm")
    assert (await node.api.get("/api/ready")).status_code == 200
    for _ in range(20):
        node.decide("after")
    for _ in range(3):
        await node.door("after")
    await node.settle()

    rows = list(hub.ledger.iter_rows())
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)), "an event was written twice"
    decision_rows = {
        json.loads(r.payload)["credential_ref"]: r
        for r in rows
        if r.type == EVENT_ACCESS_DECISION.name
    }
    decided = list(decision_rows)
    print(
        f"\noutage: {len(during)} decisions made during the outage, "
        f"{len(set(during) - set(decided))} missing from the ledger"
    )
    assert decided == [s for p in PHASES for s in node.decisions[p]]  # all, once, in order
    door_ids = [r.id for r in rows if r.type in (EVENT_DOOR_STATE.name, EVENT_DOOR_FORCED.name)]
    assert door_ids == [i for p in PHASES for i in node.doors[p]]
    decision_seq = {ref: r.seq for ref, r in decision_rows.items()}
    span = {
        p: sorted([decision_seq[s] for s in node.decisions[p]] + _seq_of(rows, node.doors[p]))
        for p in PHASES
    }
    assert span["before"][-1] < span["during"][0] and span["during"][-1] < span["after"][0]
    assert hub.ledger.verify().ok
    assert (await node.health())["outbox"] == 0

    with hub.db.sessions() as session:
        alarm = session.scalars(select(Alarm).where(Alarm.source_event_id == forced.id)).one()
    assert alarm.alarm_type == "door_forced"
    raised = next(r for r in rows if r.id == alarm.raised_event_id)
    assert raised.type == EVENT_ALARM_RAISED.name
    assert raised.seq > _seq_of(rows, [forced.id])[0]
