"""Tills and blind, dual counts: the float, the close, badges, mismatches and the variance ladder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm, AlarmEvidence
from bastion.auth.permissions import Role
from bastion.cash import counts, exceptions, movements, tasks, tills
from bastion.cash import settings as cash_settings
from bastion.cash.models import TillSession
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.people.models import Person

from .conftest import CTX, balance_of, ingest, ledger_payloads, record


@pytest.fixture
def counters(store, site_hub, make_account):
    """Two managers with accounts linked to cardholders (Alice and Bob)."""
    a = make_account("ann", Role.SECURITY_MANAGER, totp=False)
    b = make_account("ben", Role.SECURITY_MANAGER, totp=False)
    with site_hub.unit_of_work() as session:
        session.get(Person, store.alice).user_id = a.id
        session.get(Person, store.bob).user_id = b.id
    return a.id, b.id


def badge_in(hub, person_id, at, door="cash-door", granted=True):
    hub.ledger.append_sync(
        [
            make_event(
                EVENT_ACCESS_DECISION,
                AccessDecisionPayload(
                    door_id=door,
                    subject=person_id,
                    granted=granted,
                    reason="granted" if granted else "no_level_for_door",
                ),
                context=Context(actor="device:cash-door-rdr-in"),
                time=at,
                site="dispensary-main",
            )
        ]
    )


def settings_of(session, store):
    return cash_settings.load(session=session, site_id=store.site.site.id)


def fund(hub, store, amount, now):
    with hub.unit_of_work() as session:
        safe = movements.get_container(session=session, container_id=store.safe)
        movements.post(
            session=session,
            site_id=store.site.site.id,
            kind="funding",
            amount_cents=amount,
            container_id=safe.id,
            legs=[(safe.id, amount)],
            context=CTX,
            now=now,
        )


def open_register1(hub, store, now, float_cents=20_000):
    with hub.unit_of_work() as session:
        till = tills.open_till(
            session=session,
            register=movements.get_container(session=session, container_id=store.register1),
            source=movements.get_container(session=session, container_id=store.safe),
            person_id=store.alice,
            float_cents=float_cents,
            context=CTX,
            now=now,
        )
        return till.id


def submit(hub, store, count_id, user, amount, now, **kw):
    with hub.unit_of_work() as session:
        count = counts.get_count(session=session, count_id=count_id)
        return counts.submit(
            session=session,
            site=store.site,
            count=count,
            user_id=user,
            amount_cents=amount,
            settings=settings_of(session, store),
            context=Context(actor=f"user:{user}"),
            now=now,
            **kw,
        ).status


def test_a_dual_blind_close_moves_the_count_to_the_safe_and_books_the_shortage(
    store, site_hub, clock, counters
):
    ann, ben = counters
    now = clock.now()
    fund(site_hub, store, 50_000, now)
    till_id = open_register1(site_hub, store, now)
    ingest(site_hub, store.site, [record("S1", now + timedelta(minutes=5), total=12_345)])
    for person in (store.alice, store.bob):
        badge_in(site_hub, person, now + timedelta(hours=1))
    with site_hub.unit_of_work() as session:
        count = tills.start_close(
            session=session,
            register=movements.get_container(session=session, container_id=store.register1),
            settings=settings_of(session, store),
            context=CTX,
            now=now + timedelta(hours=1),
        )
        count_id, book = count.id, count.book_cents
    assert book == 32_345
    later = now + timedelta(hours=1, minutes=5)
    assert submit(site_hub, store, count_id, ann, 32_000, later) == "waiting"
    with pytest.raises(Conflict, match="already counted"):
        submit(site_hub, store, count_id, ann, 32_000, later)
    assert submit(site_hub, store, count_id, ben, 31_000, later) == "mismatch"
    (payload,) = [p for p in ledger_payloads(site_hub, "cash.count") if p["action"] == "mismatch"]
    assert payload["counted_cents"] is None  # a submission never reveals a figure
    assert submit(site_hub, store, count_id, ben, 32_000, later) == "waiting"
    assert submit(site_hub, store, count_id, ann, 32_000, later) == "completed"
    with site_hub.db.sessions() as session:
        count = counts.get_count(session=session, count_id=count_id)
        assert (count.counted_cents, count.variance_cents, count.flags) == (32_000, -345, [])
        assert session.get(TillSession, till_id).status == "closed"
        assert count.threshold_cents == 500  # unknown yearly sales: the $5 tier
        assert counts.list_reviews(session=session, site_id=store.site.site.id) == []
    assert balance_of(site_hub, store.register1) == 0
    assert balance_of(site_hub, store.safe) == 50_000 - 20_000 + 32_000
    kinds = [p["kind"] for p in ledger_payloads(site_hub, "cash.movement")]
    assert kinds[-2:] == ["till_close", "over_short"]
    done = [p for p in ledger_payloads(site_hub, "cash.count") if p["action"] == "completed"]
    assert (done[-1]["book_cents"], done[-1]["variance_cents"]) == (32_345, -345)


def test_unbadged_counters_flag_the_count_and_bad_breakdowns_are_refused(
    store, site_hub, clock, counters
):
    ann, ben = counters
    now = clock.now()
    fund(site_hub, store, 10_000, now)
    badge_in(site_hub, store.alice, now - timedelta(minutes=30))
    badge_in(site_hub, store.bob, now - timedelta(minutes=30), door="vault-door")
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session,
            container=movements.get_container(session=session, container_id=store.safe),
            kind="spot",
            settings=settings_of(session, store),
            context=CTX,
            now=now,
        )
        count_id = count.id
    with pytest.raises(InvalidInput, match=r"add up to \$50.00, not \$100.00"):
        submit(site_hub, store, count_id, ann, 10_000, now, denominations={"2000": 2, "1000": 1})
    with pytest.raises(InvalidInput, match="not a US note"):
        submit(site_hub, store, count_id, ann, 10_000, now, denominations={"300": 1})
    submit(site_hub, store, count_id, ann, 10_000, now, denominations={"5000": 2})
    submit(site_hub, store, count_id, ben, 10_000, now)
    with site_hub.db.sessions() as session:
        count = counts.get_count(session=session, count_id=count_id)
        assert count.flags == [f"not_badged:user:{ben}"]
        assert counts.list_reviews(session=session, site_id=store.site.site.id) == []


def test_a_variance_climbs_bookkeeper_then_manager_then_an_incident_with_the_count_clip(
    store, site_hub, clock, counters
):
    ann, ben = counters
    now = clock.now()
    fund(site_hub, store, 100_000, now)
    with site_hub.unit_of_work() as session:
        count_id = counts.start(
            session=session,
            container=movements.get_container(session=session, container_id=store.safe),
            kind="spot",
            settings=settings_of(session, store),
            context=CTX,
            now=now,
        ).id
    submit(site_hub, store, count_id, ann, 98_000, now + timedelta(minutes=10))
    submit(site_hub, store, count_id, ben, 98_000, now + timedelta(minutes=10))
    notes = [
        json.loads(r.payload)["message"]
        for r in site_hub.ledger.query(types=["notify.requested"], newest_first=False)
    ]
    assert "variance of -$20.00" in notes[-1] and "within 1 h" in notes[-1]

    def tick(at):
        with site_hub.unit_of_work() as session:
            return counts.escalate_due(
                session=session,
                site=store.site,
                site_id=store.site.site.id,
                settings=settings_of(session, store),
                context=Context(actor="cash"),
                now=at,
            )

    assert tick(now + timedelta(minutes=59)) == 0
    assert tick(now + timedelta(hours=1, minutes=11)) == 1
    with site_hub.db.sessions() as session:
        (review,) = counts.list_reviews(session=session, site_id=store.site.site.id)
        assert review.level == "manager"
        assert review.due_at == now + timedelta(hours=25, minutes=11)
    assert tick(now + timedelta(hours=25, minutes=10)) == 0
    assert tick(now + timedelta(hours=25, minutes=12)) == 1
    with site_hub.db.sessions() as session:
        (review,) = counts.list_reviews(session=session, site_id=store.site.site.id)
        assert review.level == "incident" and review.alarm_id
        alarm = session.get(Alarm, review.alarm_id)
        assert alarm.alarm_type == "cash_discrepancy" and alarm.incident_id
        clip = (
            session.execute(
                select(AlarmEvidence).where(
                    AlarmEvidence.alarm_id == alarm.id, AlarmEvidence.kind == "bookmark"
                )
            )
            .scalars()
            .all()
        )
        assert [(c.ref, c.detail["from"], c.detail["to"]) for c in clip if "to" in c.detail] == [
            (
                "cam-cash",
                (now - timedelta(seconds=30)).isoformat(),
                (now + timedelta(minutes=10, seconds=60)).isoformat(),
            )
        ]
    assert tick(now + timedelta(days=10)) == 0
    with site_hub.unit_of_work() as session:
        review = counts.get_review(session=session, review_id=review.id)
        counts.close_review(
            session=session,
            site=store.site,
            review=review,
            outcome="theft",
            note="shortage seen on the count-table video",
            settings=settings_of(session, store),
            context=CTX,
            now=now + timedelta(days=2),
        )
    with site_hub.db.sessions() as session:
        (task,) = tasks.list_tasks(session=session, site_id=store.site.site.id)
        assert task.kind == "regulator_notice" and task.state == "IL" and task.due_at is None
        assert "No deadline is known for IL" in task.detail


def test_a_state_with_a_known_deadline_dates_the_notice(store, site_hub, clock):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        settings = cash_settings.update(
            session=session,
            site_id=store.site.site.id,
            changes={"state": "OR"},
            context=CTX,
            now=now,
        )
        task = tasks.open_regulator_notice(
            session=session,
            site=store.site,
            site_id=store.site.site.id,
            settings=settings,
            source="test:1",
            what="$40.00 missing",
            discovered_at=now,
            context=CTX,
            now=now,
        )
        assert task.due_at == now + timedelta(hours=24) and task.state == "OR"
        assert "OLCC" in task.detail


def test_three_short_closings_make_an_over_short_trend_item(store, site_hub, clock, counters):
    ann, _ = counters
    now = clock.now()
    fund(site_hub, store, 500_000, now)
    with site_hub.unit_of_work() as session:
        cash_settings.update(
            session=session,
            site_id=store.site.site.id,
            changes={"dual_counts": []},
            context=CTX,
            now=now,
        )
    for day in range(3):
        start = now + timedelta(days=day)
        open_register1(site_hub, store, start)
        with site_hub.unit_of_work() as session:
            count_id = tills.start_close(
                session=session,
                register=movements.get_container(session=session, container_id=store.register1),
                settings=settings_of(session, store),
                context=CTX,
                now=start + timedelta(hours=8),
            ).id
        submit(site_hub, store, count_id, ann, 20_000 - 1_000, start + timedelta(hours=8))
    with site_hub.db.sessions() as session:
        (item,) = exceptions.list_items(session=session, site_id=store.site.site.id)
    assert item.rule == "over_short_trend" and item.person_id == store.alice
    assert item.amount_cents == 3_000 and "3 of the last 3 closings short" in item.summary
