"""Commands down to the edges through the real NATS: a revocation reaches a connected edge fast."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from sqlalchemy import select

from bastion.access import service as access_service
from bastion.access.models import Credential
from bastion.access.runtime import start_access, stop_access
from bastion.cluster.central import CentralNode
from bastion.cluster.edge import EdgeNode
from bastion.cluster.models import ClusterEvent
from bastion.cluster.names import Names
from bastion.cluster.runtime import CentralRuntime
from bastion.cluster.wire import Command, decode, epoch_now
from bastion.core.bus import Bus
from bastion.core.context import Context, new_id
from bastion.core.events import EVENT_CREDENTIAL_CHANGED, EVENT_LOCKDOWN
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store.db import Database
from tests.cluster.conftest import EdgeStore, close, wait_for

CTX = Context(actor="test")


@pytest.fixture
def edge_hub(tmp_path: Path, edge_store: EdgeStore, dispensary: Site) -> Hub:
    """An edge node's hub: its own SQLite database with the dispensary stored."""
    hub = Hub(
        settings=Settings(data_dir=tmp_path / "edge"),
        db=edge_store.db,
        ledger=edge_store.ledger,
        bus=Bus(sink=edge_store.ledger),
    )
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=dispensary, context=CTX, now=datetime.now(UTC)
        )
    hub.extras["sites"] = {dispensary.site.id: dispensary}
    return hub


def _pin_holder(hub: Hub, site_id: str) -> str:
    now = datetime.now(UTC)
    with hub.unit_of_work() as session:
        person = access_service.create_person(
            session=session, name="Dana Lee", kind="employee", site_id=site_id, context=CTX, now=now
        )
        credential = access_service.issue_credential(
            session=session,
            person_id=person.id,
            kind="pin",
            pin="482913",
            hasher=hub.hash_credential,
            context=CTX,
            now=now,
        )
        return credential.id


async def test_a_revocation_reaches_a_connected_edge_and_its_record_comes_back_up(
    nats_url: str, names: Names, database: Database, edge_hub: Hub, dispensary: Site
) -> None:
    site_id = dispensary.site.id
    credential_id = _pin_holder(edge_hub, site_id)
    engine = start_access(edge_hub)
    assert not engine.snapshot.creds[credential_id].revoked
    edge = EdgeNode(edge_hub, url=nats_url, node_id="edge-a", site_id=site_id, names=names)
    edge.start()
    central = CentralNode(database, url=nats_url, node_id="central-1", names=names)
    central.start()
    await asyncio.wait_for(asyncio.gather(edge.ready.wait(), central.ready.wait()), 60)
    command = Command(
        id=new_id(),
        kind="revoke_credential",
        site_id=site_id,
        issued_at=epoch_now(),
        credential_id=credential_id,
        reason="lost badge",
    )
    await central.send(command)
    await wait_for(lambda: asyncio.sleep(0, engine.snapshot.creds[credential_id].revoked))
    assert edge.stats.commands_applied == 1
    assert edge.stats.last_command_ms is not None
    # The edge records the revocation in its own ledger and database, which replicate up.

    def recorded() -> bool:
        with database.sessions() as session:
            found = session.execute(
                select(ClusterEvent).where(ClusterEvent.type == EVENT_CREDENTIAL_CHANGED.name)
            ).scalars()
            return any(
                credential_id in row.payload and "lost badge" in row.payload for row in found
            )

    await wait_for(lambda: asyncio.to_thread(recorded))
    with edge_hub.db.sessions() as session:
        assert session.get_one(Credential, credential_id).revoked
    await edge.stop()
    await central.stop()
    await stop_access(edge_hub)


async def test_a_command_sent_while_the_edge_is_away_is_applied_when_it_returns(
    nats_url: str, names: Names, database: Database, edge_hub: Hub, dispensary: Site
) -> None:
    site_id = dispensary.site.id
    credential_id = _pin_holder(edge_hub, site_id)
    engine = start_access(edge_hub)
    edge = EdgeNode(edge_hub, url=nats_url, node_id="edge-a", site_id=site_id, names=names)
    edge.start()
    await asyncio.wait_for(edge.ready.wait(), 60)
    await asyncio.wait_for(edge.stop(), 60)  # the edge goes away (its durable consumer stays)
    central = CentralNode(database, url=nats_url, node_id="central-1", names=names)
    central.start()
    await asyncio.wait_for(central.ready.wait(), 60)
    await central.send(
        Command(
            id=new_id(),
            kind="revoke_credential",
            site_id=site_id,
            issued_at=epoch_now(),
            credential_id=credential_id,
        )
    )
    edge = EdgeNode(edge_hub, url=nats_url, node_id="edge-a", site_id=site_id, names=names)
    edge.start()
    await wait_for(lambda: asyncio.sleep(0, engine.snapshot.creds[credential_id].revoked))
    await edge.stop()
    await central.stop()
    await stop_access(edge_hub)


async def test_a_central_revocation_is_sent_to_the_site_and_an_edge_echo_is_not(
    nats_url: str, names: Names, site_hub: Hub, dispensary: Site
) -> None:
    site_id = dispensary.site.id
    with site_hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=dispensary, context=CTX, now=site_hub.clock.now()
        )
    credential_id = _pin_holder(site_hub, site_id)
    node = CentralNode(site_hub.db, url=nats_url, node_id="central-1", names=names, hub=site_hub)
    node.start()
    await asyncio.wait_for(node.ready.wait(), 60)
    runtime = CentralRuntime(site_hub, node)
    listener = await nats.connect(nats_url)
    received: list[Command] = []

    async def keep(msg: Msg) -> None:
        received.append(decode(Command, msg.data))

    try:
        await listener.subscribe(names.commands(site_id), cb=keep)
        # The server must hold the subscription before the command is published (another
        # connection), or a busy machine lets the command pass before anyone listens.
        await listener.flush()
        with site_hub.unit_of_work() as session:
            access_service.revoke_credential(
                session=session,
                credential_id=credential_id,
                reason="left the company",
                context=Context(actor="user:ana"),
                now=site_hub.clock.now(),
            )
        await wait_for(lambda: asyncio.sleep(0, len(received) == 1))
        (command,) = received
        assert (command.kind, command.credential_id, command.reason, command.actor) == (
            "revoke_credential",
            credential_id,
            "left the company",
            "user:ana",
        )
        await site_hub.bus.drain()
        assert len(received) == 1
    finally:
        await close(listener)
        await runtime.stop()


async def test_a_lockdown_command_is_applied_and_recorded_in_the_edge_ledger(
    nats_url: str, names: Names, database: Database, edge_hub: Hub, dispensary: Site
) -> None:
    site_id = dispensary.site.id
    engine = start_access(edge_hub)
    edge = EdgeNode(edge_hub, url=nats_url, node_id="edge-a", site_id=site_id, names=names)
    edge.start()
    central = CentralNode(database, url=nats_url, node_id="central-1", names=names)
    central.start()
    await asyncio.wait_for(asyncio.gather(edge.ready.wait(), central.ready.wait()), 60)

    def lockdown(zones: tuple[str, ...], *, active: bool, reason: str) -> Command:
        return Command(
            id=new_id(),
            kind="lockdown",
            site_id=site_id,
            issued_at=epoch_now(),
            actor="user:ana",
            zone_ids=zones,
            active=active,
            reason=reason,
        )

    def recorded() -> list[tuple[str, dict[str, object]]]:
        rows = edge_hub.ledger.query(types=[EVENT_LOCKDOWN.name], limit=100)
        return [(row.actor, json.loads(row.payload)) for row in reversed(rows)]

    try:
        # A zone the edge does not know is refused there and leaves no record.
        await central.send(lockdown(("no-such-zone",), active=True, reason="typo"))
        await central.send(lockdown(("vault",), active=True, reason="robbery next door"))
        await wait_for(lambda: asyncio.sleep(0, "vault" in engine.lockdown_zones(site_id)))
        await wait_for(lambda: asyncio.to_thread(lambda: len(recorded()) == 1))
        await central.send(lockdown(("vault",), active=False, reason="all clear"))
        await wait_for(lambda: asyncio.sleep(0, not engine.lockdown_zones(site_id)))
        await wait_for(lambda: asyncio.to_thread(lambda: len(recorded()) == 2))
        assert recorded() == [
            (
                "central:user:ana",
                {"zone_ids": ["vault"], "active": True, "reason": "robbery next door"},
            ),
            ("central:user:ana", {"zone_ids": ["vault"], "active": False, "reason": "all clear"}),
        ]
        assert edge.stats.commands_applied == 3
        assert edge_hub.ledger.verify().ok

        # The records replicate up like every other row of the edge's ledger.
        def central_has() -> bool:
            with database.sessions() as session:
                found = session.execute(
                    select(ClusterEvent.payload).where(ClusterEvent.type == EVENT_LOCKDOWN.name)
                ).scalars()
                return len(list(found)) == 2

        await wait_for(lambda: asyncio.to_thread(central_has))
    finally:
        await edge.stop()
        await central.stop()
        await stop_access(edge_hub)
