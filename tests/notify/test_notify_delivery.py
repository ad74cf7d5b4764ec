"""Delivery through Apprise to a real local SMTP server and webhook receiver, with fallback."""

from __future__ import annotations

import email
import email.policy
import json

from bastion.notify.runtime import start_call_tree
from bastion.site import service as site_service
from tests.notify.conftest import ACTOR, BASE_URL, ledger_events


async def test_email_and_webhook_delivery_in_one_tier(
    notify_hub, runtime, smtp_server, webhook, add_contact, add_tree, load_templates
):
    alice = add_contact("Alice", ("email", smtp_server.url("alice@example.com")))
    pa = add_contact("PA system", ("pa", webhook.url()))
    tree = add_tree("robbery", [alice, pa])

    run = await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id="armed_robbery",
        variables={"site": "Dispensary", "zone": "vault", "operator_note": "Stay put."},
        context=ACTOR,
    )
    assert run.status == "active"
    await runtime.drain()

    [mail] = smtp_server.to("alice@example.com")
    assert "ROBBERY at Dispensary (vault)" in mail.content
    assert f"{BASE_URL}/notify/ack/" in mail.content
    [post] = webhook.posts
    assert post["title"] == "ROBBERY at Dispensary (vault)"
    assert "Stay put." in post["message"]
    assert "2026-03-07 15:00 UTC" in post["message"]

    status = await runtime.status(run.id)
    assert {r.contact_name: r.status for r in status.recipients} == {
        "Alice": "delivered",
        "PA system": "delivered",
    }
    for recipient in status.recipients:
        assert [d.outcome for d in recipient.deliveries] == ["delivered"]

    types = [r.type for r in ledger_events(notify_hub)]
    assert types[:2] == ["notify.run", "notify.run"]
    assert types.count("notify.sent") == 2
    assert types.count("notify.delivery") == 2
    outcomes = [
        json.loads(r.payload)["outcome"] for r in ledger_events(notify_hub, "notify.delivery")
    ]
    assert outcomes == ["delivered", "delivered"]
    notify_hub.ledger.verify_or_raise()


async def test_unreachable_channel_falls_back_to_the_next_one(
    notify_hub, runtime, smtp_server, closed_url, add_contact, add_tree
):
    bob = add_contact("Bob", ("webhook", closed_url), ("email", smtp_server.url("bob@example.com")))
    tree = add_tree("fallback", [bob])
    run = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Test"
    )
    await runtime.drain()

    assert len(smtp_server.to("bob@example.com")) == 1
    [recipient] = (await runtime.status(run.id)).recipients
    assert recipient.status == "delivered"
    failed, delivered = recipient.deliveries
    assert (failed.channel_kind, failed.outcome) == ("webhook", "failed")
    assert "Connection error" in failed.detail
    assert "127.0.0.1" not in failed.detail and "nobody-home" not in failed.detail
    assert (delivered.channel_kind, delivered.outcome) == ("email", "delivered")
    outcomes = [
        json.loads(r.payload)["outcome"] for r in ledger_events(notify_hub, "notify.delivery")
    ]
    assert outcomes == ["failed", "delivered"]


async def test_a_tier_nobody_can_be_reached_in_escalates_at_once(
    notify_hub, runtime, smtp_server, closed_url, add_contact, add_tree
):
    dead = add_contact("Dead end", ("webhook", closed_url))
    carol = add_contact("Carol", ("email", smtp_server.url("carol@example.com")))
    tree = add_tree("two tiers", [dead], [carol], timeout_s=600)
    run = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Fire"
    )
    await runtime.drain()

    status = await runtime.status(run.id)
    assert status.current_tier == 1
    assert [(r.contact_name, r.status) for r in status.recipients] == [
        ("Dead end", "unreachable"),
        ("Carol", "delivered"),
    ]
    assert len(smtp_server.to("carol@example.com")) == 1
    [escalation] = ledger_events(notify_hub, "notify.escalated")
    assert json.loads(escalation.payload)["reason"] == "unreachable"


async def test_drill_mode_sends_nothing_but_records_every_step(
    notify_hub, runtime, smtp_server, webhook, add_contact, add_tree, load_templates, clock
):
    alice = add_contact("Alice", ("email", smtp_server.url("alice@example.com")))
    pa = add_contact("PA", ("pa", webhook.url()))
    later = add_contact("Later", ("email", smtp_server.url("later@example.com")))
    tree = add_tree("fire drill", [alice, pa], [later], timeout_s=120)
    run = await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id="fire",
        variables={"site": "Main", "zone": "lobby", "operator_note": "Drill"},
        context=ACTOR,
        drill=True,
    )
    await runtime.drain()
    clock.advance(121)
    assert await runtime.tick() == 1
    await runtime.drain()

    assert smtp_server.messages == []
    assert webhook.posts == []
    status = await runtime.status(run.id)
    assert status.drill
    assert [r.status for r in status.recipients] == ["drill", "drill", "drill"]
    assert all(d.outcome == "drill" for r in status.recipients for d in r.deliveries)
    rows = ledger_events(notify_hub)
    assert all(json.loads(r.payload)["drill"] for r in rows)
    types = [r.type for r in rows]
    assert types.count("notify.sent") == 3
    assert types.count("notify.escalated") == 1


async def test_quiet_hours_hold_back_a_routine_message_but_not_an_emergency(
    notify_hub, runtime, smtp_server, add_contact, add_tree
):
    # The frozen clock says 15:00 UTC; Dana is off between 14:00 and 16:00 UTC.
    dana = add_contact(
        "Dana",
        ("email", smtp_server.url("dana@example.com")),
        quiet_start="14:00",
        quiet_end="16:00",
    )
    tree = add_tree("managers", [dana])

    routine = await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="FYI"
    )
    await runtime.drain()
    assert smtp_server.messages == []
    status = await runtime.status(routine.id)
    assert status.recipients[0].status == "quiet_hours"
    assert status.status == "exhausted"  # nobody else to try

    urgent = await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id=None,
        variables={},
        context=ACTOR,
        message="Robbery",
        emergency=True,
    )
    await runtime.drain()
    assert len(smtp_server.to("dana@example.com")) == 1
    assert (await runtime.status(urgent.id)).recipients[0].status == "delivered"


async def test_quiet_hours_follow_the_contact_time_zone_across_midnight(
    notify_hub, runtime, smtp_server, add_contact, add_tree
):
    # 15:00 UTC is 10:00 in New York: outside 22:00-07:00 local quiet hours.
    erin = add_contact(
        "Erin",
        ("email", smtp_server.url("erin@example.com")),
        quiet_start="22:00",
        quiet_end="07:00",
        timezone="America/New_York",
    )
    tree = add_tree("night", [erin])
    await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Hi"
    )
    await runtime.drain()
    assert len(smtp_server.to("erin@example.com")) == 1


async def test_rate_limit_per_channel_falls_back_then_gives_up(
    notify_hub, runtime, smtp_server, webhook, add_contact, add_tree
):
    frank = add_contact(
        "Frank",
        ("email", smtp_server.url("frank@example.com")),
        ("webhook", webhook.url()),
        rate_limit=1,
    )
    tree = add_tree("frank", [frank])
    statuses = []
    for text in ("one", "two", "three"):
        run = await start_call_tree(
            notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message=text
        )
        await runtime.drain()
        statuses.append(await runtime.status(run.id))

    assert len(smtp_server.messages) == 1
    assert len(webhook.posts) == 1
    assert [d.outcome for d in statuses[1].recipients[0].deliveries] == [
        "rate_limited",
        "delivered",
    ]
    assert statuses[2].recipients[0].status == "unreachable"
    assert [d.outcome for d in statuses[2].recipients[0].deliveries] == [
        "rate_limited",
        "rate_limited",
        "unreachable",
    ]

    # An emergency is never held back by the rate limit.
    await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id=None,
        variables={},
        context=ACTOR,
        message="four",
        emergency=True,
    )
    await runtime.drain()
    assert len(smtp_server.messages) == 2


async def test_notify_requested_on_the_bus_starts_the_named_call_tree(
    notify_hub, runtime, webhook, add_contact, add_tree
):
    from bastion.core.context import Context
    from bastion.core.events import EVENT_NOTIFY, NotifyPayload

    sup = add_contact("Supervisor", ("webhook", webhook.url()), role="supervisor")
    add_tree("supervisor", [sup])
    await notify_hub.bus.publish(
        EVENT_NOTIFY,
        NotifyPayload(roles=("supervisor",), message="Step skipped on alarm 42", priority=2),
        context=Context(actor="rule:test"),
    )
    await notify_hub.bus.drain()
    await runtime.drain()
    assert [p["message"].splitlines()[0] for p in webhook.posts] == ["Step skipped on alarm 42"]


async def test_times_in_messages_are_the_sites_local_time_with_its_name_and_address(
    notify_hub, runtime, webhook, add_contact, add_tree, load_templates, dispensary, clock
):
    with notify_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=ACTOR, now=clock.now())
    police = add_contact("Dispatch", ("webhook", webhook.url()))
    tree = add_tree("police-dispatch", [police])

    await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id="armed_robbery_police",
        variables={"zone": "Sales floor", "operator_note": ""},
        context=ACTOR,
    )
    await runtime.drain()

    [post] = webhook.posts
    # The frozen clock says 15:00 UTC: 09:00 standard time in Chicago.
    assert "at 2026-03-07 09:00 CST" in post["message"]
    assert "UTC" not in post["message"]
    assert post["title"] == "Armed robbery in progress: Greenleaf Dispensary — West Loop"
    assert "1200 W Example St, Chicago, IL 60607, zone Sales floor" in post["message"]


async def test_emails_name_the_time_in_the_sites_zone(
    notify_hub, runtime, smtp_server, add_contact, add_tree, load_templates, dispensary, clock
):
    """A site on the west coast: the mail body says 07:00 PST, for a template or a plain text."""
    west = dispensary.model_copy(
        update={"site": dispensary.site.model_copy(update={"timezone": "America/Los_Angeles"})}
    )
    with notify_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=west, context=ACTOR, now=clock.now())
    manager = add_contact("Manager", ("email", smtp_server.url("manager@example.com")))
    tree = add_tree("management", [manager])

    await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id="fire",
        variables={"zone": "Vault", "operator_note": ""},
        context=ACTOR,
    )
    await start_call_tree(
        notify_hub,
        tree_id=tree,
        template_id=None,
        variables={},
        context=ACTOR,
        message="Vault door forced open",
    )
    await runtime.drain()

    bodies = [_plain_text(m.content) for m in smtp_server.to("manager@example.com")]
    assert len(bodies) == 2  # the two runs are delivered concurrently: tell them apart by text
    [fire] = [b for b in bodies if "Fire reported" in b]
    [plain] = [b for b in bodies if "Vault door forced open" in b]
    # The frozen clock says 15:00 UTC on 7 March: 07:00 Pacific standard time.
    assert "at 2026-03-07 07:00 PST" in fire and "UTC" not in fire
    assert "Sent 2026-03-07 07:00 PST." in plain


def _plain_text(content: str) -> str:
    """Return the decoded text/plain part of a received mail (as a mail reader shows it)."""
    mail = email.message_from_string(content, policy=email.policy.default)
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
