"""Addresses and names are encrypted at rest and never reach the logs or the ledger."""

from __future__ import annotations

import logging

from sqlalchemy import text

from bastion.notify import service
from bastion.notify.runtime import start_call_tree
from tests.notify.conftest import ACTOR, ledger_events

PHONE = "15557654321"


async def test_addresses_are_encrypted_at_rest_and_absent_from_logs_and_ledger(
    notify_hub, runtime, smtp_server, webhook, closed_url, add_contact, add_tree, caplog
):
    caplog.set_level(logging.DEBUG)
    email = "ivy.private@example.com"
    hook = webhook.url("/hook/T0P-s3cret-w3bhook")
    ivy = add_contact(
        "Ivy Quinn-Private",
        ("webhook", closed_url),
        ("sms", f"twilio://AC1234567890123456789012345678901234:token@15551234567/{PHONE}"),
        ("email", smtp_server.url(email)),
    )
    jay = add_contact("Jay", ("chat", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"))
    pa = add_contact("PA", ("pa", hook))
    tree = add_tree("privacy", [ivy, jay, pa])
    await start_call_tree(
        notify_hub, tree_id=tree, template_id=None, variables={}, context=ACTOR, message="Hello"
    )
    await runtime.drain()
    assert len(smtp_server.to(email)) == 1
    assert webhook.paths == ["/hook/T0P-s3cret-w3bhook"]

    # aiosmtpd (the peer standing in for a mail server) logs what it receives; that is
    # the far end, not us.
    ours = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.name != "mail.log"
    )
    secrets = [
        email,
        "T0P-s3cret-w3bhook",
        PHONE,
        "TIiajkdnlazkcOXrIdevi7FQ",
        "nobody-home",
        "Quinn-Private",
    ]
    with notify_hub.db.engine.connect() as conn:
        raw = [row[0] for row in conn.execute(text("SELECT url FROM notify_channels"))]
        dump = " ".join(
            str(value)
            for table in (
                "notify_contacts",
                "notify_deliveries",
                "notify_runs",
                "notify_recipients",
            )
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    assert len(raw) == 5
    for secret in secrets:
        assert all(secret not in value for value in raw), secret
        assert secret not in dump, secret
        assert secret not in ours, secret
        assert all(secret not in row.payload for row in ledger_events(notify_hub, "")), secret
    with notify_hub.db.sessions() as session:
        contact = service.get_contact(session=session, contact_id=ivy)
        assert contact.channels[2].url == smtp_server.url(email)
    assert any(r.name.startswith("apprise") for r in caplog.records)
