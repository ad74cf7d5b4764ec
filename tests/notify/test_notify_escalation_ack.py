"""Acknowledgement (signed one-time link, console) and escalation on the frozen clock."""

from __future__ import annotations

import json
import re

import pytest

from bastion.core.context import Context
from bastion.core.errors import Conflict, Forbidden
from bastion.notify import ack as ack_links
from bastion.notify import service
from bastion.notify.runtime import start_call_tree
from tests.notify.conftest import ACTOR, ledger_events

LINK = re.compile(r"/notify/ack/([0-9]+\.[0-9]+\.[0-9a-f]+\.[0-9a-f]+)")


def _token(text: str) -> str:
    found = LINK.search(text.replace("=\r\n", "").replace("=\n", ""))
    assert found, text
    return found.group(1)


async def test_unacknowledged_tier_escalates_after_its_timeout(
    notify_hub, runtime, smtp_server, add_contact, add_tree, clock
):
    first = add_contact("First", ("email", smtp_server.url("first@example.com")))
    second = add_contact("Second", ("email", smtp_server.url("second@example.com")))
    tree = add_tree("escalate", [first], [second], timeout_s=60)
    run = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Alarm"
    )
    await runtime.drain()
    assert len(smtp_server.to("first@example.com")) == 1

    clock.advance(59)
    assert await runtime.tick() == 0
    assert smtp_server.to("second@example.com") == []

    clock.advance(2)
    assert await runtime.tick() == 1
    await runtime.drain()
    assert len(smtp_server.to("second@example.com")) == 1
    status = await runtime.status(run.id)
    assert status.current_tier == 1 and status.status == "active"

    clock.advance(61)
    assert await runtime.tick() == 1
    status = await runtime.status(run.id)
    assert status.status == "exhausted"
    escalations = [json.loads(r.payload) for r in ledger_events(notify_hub, "notify.escalated")]
    assert [(e["from_tier"], e["to_tier"], e["reason"]) for e in escalations] == [
        (0, 1, "timeout"),
        (1, None, "timeout"),
    ]
    assert await runtime.tick() == 0


async def test_acknowledgement_by_link_is_single_use_and_stops_escalation(
    notify_hub, runtime, smtp_server, add_contact, add_tree, clock
):
    first = add_contact("First", ("email", smtp_server.url("first@example.com")))
    second = add_contact("Second", ("email", smtp_server.url("second@example.com")))
    tree = add_tree("ack", [first], [second], timeout_s=60)
    run = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Alarm"
    )
    await runtime.drain()
    token = _token(smtp_server.to("first@example.com")[0].content)

    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    with notify_hub.unit_of_work() as session, pytest.raises(Forbidden):
        service.acknowledge_link(session=session, token=tampered, now=clock.now())
    other_recipient = token.replace(token.split(".")[0], "999", 1)
    with notify_hub.unit_of_work() as session, pytest.raises(Forbidden):
        service.acknowledge_link(session=session, token=other_recipient, now=clock.now())

    clock.advance(30)
    with notify_hub.unit_of_work() as session:
        recipient = service.acknowledge_link(session=session, token=token, now=clock.now())
        assert recipient.ack_method == "link"
    with notify_hub.unit_of_work() as session, pytest.raises(Conflict):
        service.acknowledge_link(session=session, token=token, now=clock.now())

    clock.advance(120)
    assert await runtime.tick() == 0
    await runtime.drain()
    assert smtp_server.to("second@example.com") == []
    status = await runtime.status(run.id)
    assert status.status == "acknowledged"
    assert status.acknowledged_by == ["First"]
    acks = ledger_events(notify_hub, "notify.acknowledged")
    assert [json.loads(r.payload)["method"] for r in acks] == ["link"]
    # The ledger is append-only: it names the contact by id, never by name.
    assert all("First" not in r.payload for r in ledger_events(notify_hub))
    assert any(f"notify_contact:{first}" in r.payload for r in ledger_events(notify_hub))


async def test_expired_link_is_refused(notify_hub, runtime, webhook, add_contact, add_tree, clock):
    first = add_contact("First", ("webhook", webhook.url()))
    tree = add_tree("expiry", [first], timeout_s=60)
    await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Alarm"
    )
    await runtime.drain()
    token = _token(webhook.posts[0]["message"])
    clock.advance(ack_links.ACK_TTL_S + 1)
    with notify_hub.unit_of_work() as session, pytest.raises(Forbidden, match="expired"):
        service.acknowledge_link(session=session, token=token, now=clock.now())


async def test_console_acknowledgement_of_a_later_tier_shows_who_acknowledged(
    notify_hub, runtime, webhook, add_contact, add_tree, clock
):
    first = add_contact("First", ("webhook", webhook.url("/a")))
    second = add_contact("Second", ("webhook", webhook.url("/b")))
    third = add_contact("Third", ("webhook", webhook.url("/c")))
    tree = add_tree("console", [first], [second, third], timeout_s=60)
    run = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Alarm"
    )
    await runtime.drain()
    clock.advance(61)
    await runtime.tick()
    await runtime.drain()
    assert sorted(webhook.paths) == ["/a", "/b", "/c"]

    status = await runtime.status(run.id)
    third_id = next(r.id for r in status.recipients if r.contact_name == "Third")
    with notify_hub.unit_of_work() as session:
        service.acknowledge(
            session=session,
            run_id=run.id,
            recipient_id=third_id,
            method="console",
            actor="user:7",
            context=Context(actor="user:7"),
            now=clock.now(),
        )
    status = await runtime.status(run.id)
    assert status.status == "acknowledged"
    assert status.acknowledged_by == ["Third"]
    assert {r.contact_name: r.status for r in status.recipients} == {
        "First": "delivered",
        "Second": "delivered",
        "Third": "acknowledged",
    }
    clock.advance(3600)
    assert await runtime.tick() == 0
