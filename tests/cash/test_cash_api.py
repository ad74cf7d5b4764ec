"""The cash routes: who sees and does what, blind counts over HTTP, POS ingest, kept refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Role
from bastion.cash import movements, pos
from bastion.cash.models import PosRejection
from bastion.core.context import Context
from bastion.integrations.pos.formats import write_bastion_csv
from bastion.people.models import Person
from tests.pdf_support import pdf_text

from .conftest import CTX, SITE, record

BASE = f"/api/sites/{SITE}/cash"


@pytest.fixture
def api(store, site_hub, client_for, clock):
    """The managers' and auditors' clients, and Alice the cashier with her till open."""
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    alice = client_for(Role.EMPLOYEE, site_id=SITE)
    bob = client_for(Role.EMPLOYEE, site_id=SITE)
    with site_hub.unit_of_work() as session:
        users = {u.username: u.id for u in session.execute(select(User)).scalars()}
        session.get(Person, store.alice).user_id = users["employee-1"]
        session.get(Person, store.bob).user_id = users["employee-2"]
        movements.post(
            session=session,
            site_id=SITE,
            kind="funding",
            amount_cents=5_000_000,
            container_id=store.vault,
            legs=[(store.vault, 5_000_000)],
            context=CTX,
            now=clock.now(),
        )
        pos.set_cashier_code(
            session=session,
            site_id=SITE,
            code="0042",
            person_id=store.alice,
            context=CTX,
            now=clock.now(),
        )
    funding = manager.post(
        f"{BASE}/funding", json={"container_id": store.safe, "amount_cents": 100_000}
    )
    assert funding.status_code == 204, funding.text
    opened = manager.post(
        f"{BASE}/tills/{store.register1}/open",
        json={"person_id": store.alice, "float_cents": 20_000, "source_id": store.safe},
    )
    assert opened.status_code == 201, opened.text
    return {"manager": manager, "alice": alice, "bob": bob, "opening": opened.json()["count_id"]}


def test_a_cashier_sees_and_acts_on_only_her_own_till_and_counts_blind(api, store, client_for):
    alice, bob, manager = api["alice"], api["bob"], api["manager"]
    (mine,) = alice.get(f"{BASE}/my-till").json()
    assert mine["register_name"] == "Register 1" and "balance_cents" not in mine
    assert bob.get(f"{BASE}/my-till").json() == []
    assert alice.get(f"{BASE}/containers").status_code == 403  # cash:read is not hers
    opening = api["opening"]
    (todo,) = alice.get(f"{BASE}/counts").json()
    assert todo["id"] == opening and todo.get("book_cents") is None
    assert bob.get(f"{BASE}/counts").json() == []
    submitted = alice.post(f"{BASE}/counts/{opening}/submissions", json={"amount_cents": 20_000})
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["status"] == "completed" and body["count"]["variance_cents"] == 0
    denied = bob.post(f"{BASE}/tills/{store.register1}/drops", json={"amount_cents": 1_000})
    assert denied.status_code == 403 and "your own till" in denied.json()["detail"]
    ok = alice.post(f"{BASE}/tills/{store.register1}/drops", json={"amount_cents": 5_000})
    assert ok.status_code == 204
    safe_count = alice.post(f"{BASE}/counts", json={"container_id": store.safe})
    assert safe_count.status_code == 403
    started = manager.post(f"{BASE}/counts", json={"container_id": store.safe})
    assert started.status_code == 201 and "book_cents" not in {
        k for k, v in started.json().items() if v is not None
    }
    auditor = client_for(Role.AUDITOR, site_id=SITE)
    shown = {c["id"]: c for c in auditor.get(f"{BASE}/containers").json()}
    assert shown[store.safe]["being_counted"] and shown[store.safe]["balance_cents"] is None
    assert shown[store.register1]["balance_cents"] == 15_000
    assert shown[store.register1]["cashier"] == "Alice Cashier"
    assert (
        auditor.post(
            f"{BASE}/funding", json={"container_id": store.safe, "amount_cents": 1}
        ).status_code
        == 403
    )
    assert auditor.get(f"{BASE}/pickups").status_code == 403
    assert client_for(Role.OPERATOR, site_id=SITE).get(f"{BASE}/pickups").status_code == 403
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="other-site")
    assert elsewhere.get(f"{BASE}/containers").status_code == 403


def test_the_pos_token_ingests_json_and_csv_and_refusals_are_listed_and_kept(
    api, store, site_hub, clock, database
):
    with site_hub.unit_of_work() as session:
        owner = session.execute(select(User).where(User.username.like("security%"))).scalar_one()
        token = auth_service.create_api_token(
            session=session,
            owner=owner,
            name="till system",
            role=Role.POS,
            site_id=SITE,
            clock=clock,
            context=Context(actor="test"),
        ).token
    headers = {"Authorization": f"Bearer {token}"}
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    body = {
        "transactions": [
            {
                "id": "W1",
                "terminal": "T1",
                "cashier": "0042",
                "time": at,
                "kind": "sale",
                "total_cents": 4500,
                "tenders": [{"kind": "cash", "amount_cents": 4500}],
            },
            {
                "id": "W2",
                "terminal": "T1",
                "cashier": "0042",
                "time": at,
                "kind": "sale",
                "total_cents": 12.5,
            },
            {"id": "W3", "terminal": "T7", "cashier": "0042", "time": at, "kind": "no_sale"},
        ]
    }
    with TestClient(api["manager"].app, base_url="https://testserver") as pos_client:
        first = pos_client.post(f"{BASE}/pos/transactions", json=body, headers=headers)
        assert first.status_code == 200, first.text
        got = first.json()
        assert (got["accepted"], got["duplicates"], got["rejected"]) == (1, 0, 2)
        assert sorted(r["line"] for r in got["rejections"]) == ["#1", "#2"]
        again = pos_client.post(f"{BASE}/pos/transactions", json=body, headers=headers).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        csv_text = write_bastion_csv(
            [record("C1", clock.now() - timedelta(minutes=1), total=1000, kind="sale")]
        )
        upload = pos_client.post(
            f"{BASE}/pos/import",
            content=csv_text.encode(),
            headers={**headers, "content-type": "text/csv"},
        )
        assert upload.json()["accepted"] == 1
        bad = pos_client.post(
            f"{BASE}/pos/transactions",
            content=b"{not json",
            headers={**headers, "content-type": "application/json"},
        )
        assert bad.status_code == 422 and "not JSON" in bad.json()["detail"]
        other_site = pos_client.post(
            "/api/sites/elsewhere/cash/pos/transactions", json=body, headers=headers
        )
        assert other_site.status_code == 403
        assert pos_client.get(f"{BASE}/containers", headers=headers).status_code == 403
    with site_hub.db.sessions() as session:
        assert session.query(PosRejection).count() == 4
    assert api["manager"].get(f"{BASE}/pos/rejections").json()[0]["reason"]


def test_refusals_at_the_pickup_door_and_a_reused_seal_are_kept_and_alarmed(api, store, site_hub):
    manager = api["manager"]
    carrier = manager.post(
        f"{BASE}/carriers", json={"company": "Brink Armored", "code_word": "bluebird-42"}
    ).json()
    bag = manager.post(
        f"{BASE}/deposits",
        json={"amount_cents": 1_000_000, "bag_number": "B-1", "seal_number": "S-1"},
    )
    assert bag.status_code == 201 and bag.json()["balance_cents"] == 1_000_000
    reused = manager.post(
        f"{BASE}/deposits", json={"amount_cents": 1_000, "bag_number": "B-2", "seal_number": "S-1"}
    )
    assert reused.status_code == 409 and reused.json()["alarm_id"]
    planned = manager.post(f"{BASE}/pickups", json={"carrier_id": carrier["id"]})
    assert planned.status_code == 201
    pickup = planned.json()
    assert len(pickup["one_time_code"]) == 8 and pickup["slot"]
    wrong = manager.post(
        f"{BASE}/pickups/{pickup['id']}/verify",
        json={
            "company": "Brink Armored",
            "guard_name": "Sam",
            "one_time_code": pickup["one_time_code"],
            "code_word": "nope-nope",
        },
    )
    assert wrong.status_code == 409 and wrong.json()["detail"] == "wrong code word"
    with site_hub.db.sessions() as session:
        kinds = sorted(a.alarm_type for a in session.execute(select(Alarm)).scalars())
    assert kinds == ["pickup_verification_failed", "seal_reused"]
    ok = manager.post(
        f"{BASE}/pickups/{pickup['id']}/verify",
        json={
            "company": "Brink Armored",
            "guard_name": "Sam",
            "one_time_code": pickup["one_time_code"],
            "code_word": "bluebird-42",
        },
    )
    assert ok.status_code == 200 and ok.json()["one_time_code"] is None
    done = manager.post(f"{BASE}/pickups/{pickup['id']}/hand-over", json={"seals": {"B-1": "S-1"}})
    assert done.json()["status"] == "completed" and done.json()["bags"] == ["B-1"]
    confirmed = manager.post(
        f"{BASE}/deposits/{bag.json()['id']}/confirmation",
        json={"amount_cents": 1_000_000, "reference": "DEP-1"},
    )
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["balance_cents"] == 0


def test_settings_reports_and_bad_input_answer_in_plain_words(api, store):
    manager = api["manager"]
    bad = manager.put(f"{BASE}/settings", json={"changes": {"register_limit_cents": -5}})
    assert bad.status_code == 422 and "register_limit_cents" in bad.json()["detail"]
    unknown = manager.put(f"{BASE}/settings", json={"changes": {"colour": "red"}})
    assert (
        unknown.status_code == 422 and "unknown cash setting 'colour'" in unknown.json()["detail"]
    )
    ladder = manager.put(f"{BASE}/settings", json={"changes": {"manager_review_hours": 0.5}})
    assert ladder.status_code == 422 and "longer than" in ladder.json()["detail"]
    ok = manager.put(f"{BASE}/settings", json={"changes": {"register_limit_cents": 150_000}})
    assert ok.json()["settings"]["register_limit_cents"] == 150_000
    assert manager.get(f"{BASE}/settings").json()["changed"] == ["register_limit_cents"]
    report = manager.get(f"{BASE}/report").json()
    assert [r["register"] for r in report["registers"]] == ["Register 1", "Register 2"]
    csv_text = manager.get(f"{BASE}/report?format=csv").text
    assert csv_text.startswith("Cash reconciliation,")
    pdf = manager.get(f"{BASE}/report?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    printed = pdf_text(pdf.content)  # the frozen clock's 15:00 UTC is 09:00 in Chicago
    assert "(America/Chicago time); prepared 2026-03-07 09:00 CST" in printed
    png = manager.get(f"{BASE}/report?format=png")
    assert png.content.startswith(b"\x89PNG")
    assert manager.get(f"{BASE}/report?day=yesterday").status_code == 422
    big = manager.post(f"{BASE}/funding", json={"container_id": store.safe, "amount_cents": 10**12})
    assert big.status_code == 422 and "not plausible" in big.json()["detail"]
    missing = manager.post(f"{BASE}/tills/nope/drops", json={"amount_cents": 100})
    assert missing.status_code == 404
    assert json.loads(manager.get(f"{BASE}/reviews").text) == []
