"""The cash console pages: who sees what, blind counts and reviews through the forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.auth.models import User
from bastion.auth.permissions import Role
from bastion.cash import exceptions, movements, pos, tills
from bastion.cash import settings as cash_settings
from bastion.cash.models import PosException
from bastion.people.models import Person
from tests.cash.conftest import CTX, SITE, ingest, record


@pytest.fixture
def shop(store, site_hub, client_for, clock):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    alice = client_for(Role.EMPLOYEE, site_id=SITE)
    now = clock.now()
    with site_hub.unit_of_work() as session:
        users = {u.username: u.id for u in session.execute(select(User)).scalars()}
        session.get(Person, store.alice).user_id = users["employee-1"]
        movements.post(
            session=session,
            site_id=SITE,
            kind="funding",
            amount_cents=100_000,
            container_id=store.safe,
            legs=[(store.safe, 100_000)],
            context=CTX,
            now=now,
        )
        tills.open_till(
            session=session,
            register=movements.get_container(session=session, container_id=store.register1),
            source=movements.get_container(session=session, container_id=store.safe),
            person_id=store.alice,
            float_cents=20_000,
            context=CTX,
            now=now,
        )
        pos.set_cashier_code(
            session=session, site_id=SITE, code="0042", person_id=store.alice, context=CTX, now=now
        )
    ingest(
        site_hub,
        store.site,
        [
            record("S1", now - timedelta(minutes=30), total=95_000),
            record("N1", now - timedelta(minutes=20), kind="no_sale"),
        ],
    )
    return {"manager": manager, "alice": alice}


def csrf(client):
    return client.headers["X-CSRF-Token"]


def test_pages_render_for_their_roles_and_hide_what_they_must(shop, client_for, store):
    manager, alice = shop["manager"], shop["alice"]
    overview = manager.get(f"/console/cash?site={SITE}")
    assert overview.status_code == 200
    assert "Register 1" in overview.text
    assert "$1,150.00" in overview.text and "Over the $1,000.00 limit" in overview.text
    assert (
        'href="/console/cash"' in overview.text
        and "My till"
        not in re.findall(r'<ul class="nav-links"[^>]*>.*?</ul>', overview.text, re.S)[0]
    )
    mine = alice.get("/console/cash/my-till")
    assert mine.status_code == 200 and 'id="drop-needed"' in mine.text
    assert "$1,150.00" not in mine.text and "$1,150" not in mine.text
    assert alice.get("/console/cash").status_code == 403
    assert alice.get("/console/cash/pickups").status_code == 403
    queue = manager.get("/console/cash/exceptions")
    assert queue.status_code == 200 and "No-sale drawer open" in queue.text
    assert "Camera bookmark: Sales counter (POS overlay)" in queue.text
    assert "Alice Cashier" in queue.text
    auditor = client_for(Role.AUDITOR, site_id=SITE)
    assert "Review</summary>" not in auditor.get("/console/cash/exceptions").text
    assert auditor.get("/console/cash/pickups").status_code == 403
    report = manager.get("/console/cash/report")
    assert report.status_code == 200 and "Register 1" in report.text
    assert 'id="report-chart"' in report.text
    assert manager.get("/console/cash/pickups").status_code == 200
    assert manager.get("/console/cash/report?day=soon").status_code == 422


def test_a_cashier_counts_blind_and_drops_through_the_forms(shop, site_hub, store, clock):
    manager, alice = shop["manager"], shop["alice"]
    dropped = alice.post(
        f"/console/cash/tills/{store.register1}/drop",
        data={"csrf_token": csrf(alice), "site": SITE, "amount": "600.00"},
        follow_redirects=False,
    )
    assert dropped.status_code == 303 and dropped.headers["location"].endswith("done=dropped")
    bad = alice.post(
        f"/console/cash/tills/{store.register1}/drop",
        data={"csrf_token": csrf(alice), "site": SITE, "amount": "12.345"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "dollars and cents" in bad.text
    closing = alice.post(
        f"/console/cash/tills/{store.register1}/close",
        data={"csrf_token": csrf(alice), "site": SITE},
        follow_redirects=False,
    )
    assert closing.status_code == 303, re.findall(r'id="error">(.*?)<', closing.text)
    page = alice.get("/console/cash/counts")
    (count_id,) = re.findall(r'data-count="([0-9A-Z]{26})"', page.text)
    assert "$550.00" not in page.text  # the book (1,150 - 600) is never shown before counting
    first = alice.post(
        f"/console/cash/counts/{count_id}/submit",
        data={"csrf_token": csrf(alice), "site": SITE, "amount": "550.00"},
        follow_redirects=False,
    )
    assert first.headers["location"].endswith("done=waiting")
    twice = alice.post(
        f"/console/cash/counts/{count_id}/submit",
        data={"csrf_token": csrf(alice), "site": SITE, "amount": "550.00"},
        follow_redirects=False,
    )
    assert twice.status_code == 409 and "second, different person" in twice.text
    second = manager.post(
        f"/console/cash/counts/{count_id}/submit",
        data={
            "csrf_token": csrf(manager),
            "site": SITE,
            "amount": "550.00",
            "n10000": "5",
            "n5000": "1",
        },
        follow_redirects=False,
    )
    assert second.headers["location"].endswith("done=completed")
    results = manager.get("/console/cash/counts").text
    assert "had not badged into the count room" in results
    with site_hub.db.sessions() as session:
        assert movements.balance(session=session, container_id=store.register1) == 0


def test_a_manager_reviews_an_exception_as_theft_which_opens_the_notice(shop, site_hub):
    manager = shop["manager"]
    with site_hub.db.sessions() as session:
        item = session.execute(
            select(PosException).where(PosException.rule == "no_sale")
        ).scalar_one()
    missing_note = manager.post(
        f"/console/cash/exceptions/{item.id}/review",
        data={"csrf_token": csrf(manager), "site": SITE, "outcome": "theft"},
        follow_redirects=False,
    )
    assert missing_note.status_code == 422 and "a note is needed" in missing_note.text
    done = manager.post(
        f"/console/cash/exceptions/{item.id}/review",
        data={
            "csrf_token": csrf(manager),
            "site": SITE,
            "outcome": "theft",
            "note": "took two twenties on camera",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    overview = manager.get("/console/cash").text
    assert "Regulator notice: theft of money (IL)" in overview
    assert "no deadline known" in overview
    with site_hub.db.sessions() as session:
        assert exceptions.get_item(session=session, item_id=item.id).status == "theft"
        assert cash_settings.load(session=session, site_id=SITE).register_limit_cents == 100_000
