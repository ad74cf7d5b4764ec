"""Expiring training warns the person and their manager 30 days ahead (frozen clock, real SMTP)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bastion.core.events import EVENT_EMPLOYEE_CHANGED, EVENT_PEOPLE_NOTICE
from bastion.people import employees
from bastion.people.runtime import PeopleWorker
from tests.notify.conftest import smtp_server  # noqa: F401  (fixture)
from tests.people.conftest import CTX, ledger_payloads


async def test_expiring_training_warns_person_and_manager_once(
    database,
    site_hub,
    clock,
    smtp_server,  # noqa: F811
    make_contact,
    caplog,
):
    caplog.set_level(logging.DEBUG)
    now = clock.now()
    boss_contact = make_contact("Boss", smtp_server.url("boss@example.org"))
    worker_contact = make_contact("Worker", smtp_server.url("wes@example.org"))
    with database.unit_of_work() as session:
        boss = employees.hire(session=session, name="Bo Boss", context=CTX, now=now)
        wes = employees.hire(
            session=session, name="Wes Worker", manager_id=boss.id, context=CTX, now=now
        )
        employees.link(
            session=session, person_id=boss.id, contact_id=boss_contact, context=CTX, now=now
        )
        employees.link(
            session=session, person_id=wes.id, contact_id=worker_contact, context=CTX, now=now
        )
        employees.add_training(
            session=session,
            person_id=wes.id,
            course="phishing_awareness",
            completed_at=now - timedelta(days=300),
            expires_at=now + timedelta(days=45),
            evidence="lms://certs/991",
            context=CTX,
            now=now,
        )
        wes_id = wes.id
    worker = PeopleWorker(site_hub)
    first = await worker.tick()
    assert first.warned == 0 and smtp_server.messages == []
    clock.advance(16 * 86400)  # now 29 days before expiry
    second = await worker.tick()
    assert (second.warned, second.notices_sent) == (1, 2)
    [to_wes] = smtp_server.to("wes@example.org")
    [to_boss] = smtp_server.to("boss@example.org")
    for mail in (to_wes, to_boss):
        assert "phishing awareness" in mail.content and "Wes Worker" in mail.content
    assert (await worker.tick()).warned == 0
    assert len(smtp_server.messages) == 2
    notices = ledger_payloads(site_hub, EVENT_PEOPLE_NOTICE.name)
    assert sorted(n["outcome"] for n in notices) == ["delivered", "delivered"]
    assert all(n["subject"] == wes_id and "@" not in str(n) for n in notices)
    warned = [
        p
        for p in ledger_payloads(site_hub, EVENT_EMPLOYEE_CHANGED.name)
        if p["action"] == "training_warned"
    ]
    assert warned == [
        {"subject": wes_id, "action": "training_warned", "detail": {"course": "phishing_awareness"}}
    ]
    ours = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "Wes Worker" not in ours and "wes@example.org" not in ours


async def test_a_person_without_a_contact_is_recorded_not_lost(database, site_hub, clock):
    now = clock.now()
    with database.unit_of_work() as session:
        p = employees.hire(session=session, name="No Mail", context=CTX, now=now)
        employees.add_training(
            session=session,
            person_id=p.id,
            course="emergency_procedures",
            completed_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=10),
            evidence=None,
            context=CTX,
            now=now,
        )
    result = await PeopleWorker(site_hub).tick()
    assert (result.warned, result.notices_sent) == (1, 0)
    assert [n["outcome"] for n in ledger_payloads(site_hub, EVENT_PEOPLE_NOTICE.name)] == [
        "no_contact"
    ]
