"""A whole cash day through the running app: float, POS sales, a late drop that alarms, a dual
blind close with a shortfall that climbs to an incident, and a pickup reconciled with the bank.

Runs on SQLite, and on PostgreSQL with BASTION_TEST_DATABASE_URL set.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.alarms.models import Alarm, AlarmEvidence
from bastion.api.app import create_app
from bastion.api.deps import COOKIE_NAME
from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Grant, Role
from bastion.cash import movements
from bastion.cash.models import CashContainer
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.people import employees

from .conftest import SITE, ledger_payloads

BASE = f"/api/sites/{SITE}/cash"
T = Context(actor="test")


def account(hub, name, role, person_id=None):
    """Create an account; return a function giving fresh sign-in headers for each request.

    The frozen clock jumps hours ahead, far past a session's idle timeout.
    """
    with hub.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            username=name,
            password="correct horse battery staple",
            grants=[Grant(role, SITE)],
            clock=hub.clock,
            context=T,
        )
        if person_id is not None:
            employees.link(
                session=session,
                person_id=person_id,
                user_id=user.id,
                context=T,
                now=hub.clock.now(),
            )
        user_id = user.id

    def headers():
        with hub.unit_of_work() as session:
            new = auth_service.start_session(
                session=session, user=session.get(User, user_id), clock=hub.clock, max_hours=48
            )
        return {"cookie": f"{COOKIE_NAME}={new.token}", "x-csrf-token": new.csrf_token}

    return headers


def sale(pos_id, at, total, cash=True, kind="sale"):
    tender = [{"kind": "cash" if cash else "card", "amount_cents": total}] if total else []
    return {
        "id": pos_id,
        "terminal": "T1",
        "cashier": "0042",
        "time": at.isoformat(),
        "kind": kind,
        "total_cents": total,
        "tenders": tender,
    }


def test_a_whole_day_of_cash_end_to_end(store, site_hub, clock):
    hub = site_hub
    with hub.unit_of_work() as session:
        mia = employees.hire(
            session=session, name="Mia Manager", site_id=SITE, context=T, now=clock.now()
        )
        max_ = employees.hire(
            session=session, name="Max Manager", site_id=SITE, context=T, now=clock.now()
        )
        admin = auth_service.create_user(
            session=session,
            username="root",
            password="x" * 20,
            grants=[Grant(Role.ADMIN)],
            clock=clock,
            context=T,
        )
        token = auth_service.create_api_token(
            session=session,
            owner=admin,
            name="pos",
            role=Role.POS,
            site_id=SITE,
            clock=clock,
            context=T,
        ).token
    pos_headers = {"Authorization": f"Bearer {token}"}
    m1 = account(hub, "mia", Role.SECURITY_MANAGER, mia.id)
    m2 = account(hub, "max", Role.SECURITY_MANAGER, max_.id)
    alice = account(hub, "alice", Role.EMPLOYEE, store.alice)

    with TestClient(create_app(hub), base_url="https://testserver") as client:
        runtime = hub.extras["cash"]

        def tick():
            client.portal.call(runtime.tick)
            client.portal.call(hub.bus.drain)

        ok = client.post(
            f"{BASE}/cashiers", json={"code": "0042", "person_id": store.alice}, headers=m1()
        )
        assert ok.status_code == 204
        assert (
            client.post(
                f"{BASE}/funding",
                json={"container_id": store.safe, "amount_cents": 50_000},
                headers=m1(),
            ).status_code
            == 204
        )
        opened = client.post(
            f"{BASE}/tills/{store.register1}/open",
            json={"person_id": store.alice, "float_cents": 20_000, "source_id": store.safe},
            headers=m1(),
        ).json()
        first = client.post(
            f"{BASE}/counts/{opened['count_id']}/submissions",
            json={"amount_cents": 20_000},
            headers=alice(),
        ).json()
        assert first["status"] == "completed" and first["count"]["variance_cents"] == 0

        # Morning sales: the till passes its $1,000 limit.
        now = clock.now()
        morning = [sale(f"M{i}", now + timedelta(minutes=i), 9_000) for i in range(1, 11)]
        morning.append(sale("M11", now + timedelta(minutes=11), 5_000, cash=False))
        clock.advance(15 * 60)
        got = client.post(
            f"{BASE}/pos/transactions", json={"transactions": morning}, headers=pos_headers
        ).json()
        assert (got["accepted"], got["rejected"]) == (11, 0)
        (request,) = ledger_payloads(hub, "cash.drop_requested")
        assert request["terminal"] == "T1" and request["balance_cents"] == 110_000
        clock.advance(11 * 60)
        tick()
        with hub.db.sessions() as session:
            (late,) = (
                session.execute(select(Alarm).where(Alarm.alarm_type == "till_over_limit"))
                .scalars()
                .all()
            )
        assert "Register 1" in late.message
        dropped = client.post(
            f"{BASE}/tills/{store.register1}/drops",
            json={"amount_cents": 90_000, "witness": "Mia"},
            headers=alice(),
        )
        assert dropped.status_code == 204

        # Afternoon: more sales, a no-sale, a duplicate resend.
        now = clock.now()
        afternoon = [sale(f"A{i}", now + timedelta(minutes=i), 4_150) for i in range(1, 6)]
        afternoon.append(sale("A6", now + timedelta(minutes=7), 0, kind="no_sale"))
        clock.advance(20 * 60)
        got = client.post(
            f"{BASE}/pos/transactions",
            json={"transactions": [*afternoon, morning[0]]},
            headers=pos_headers,
        ).json()
        assert (got["accepted"], got["duplicates"], got["exceptions"]) == (6, 1, 1)

        # Close: both counters badge into the cash room and count blind; $12 short.
        for person in (mia.id, max_.id):
            hub.ledger.append_sync(
                [
                    make_event(
                        EVENT_ACCESS_DECISION,
                        AccessDecisionPayload(
                            door_id="cash-door", subject=person, granted=True, reason="granted"
                        ),
                        context=Context(actor="device:cash-door-rdr-in"),
                        time=clock.now(),
                        site=SITE,
                    )
                ]
            )
        closing = client.post(f"{BASE}/tills/{store.register1}/close", headers=alice()).json()
        assert closing["book_cents"] is None and closing["dual"]
        book = 20_000 + 90_000 - 90_000 + 5 * 4_150
        waiting = client.post(
            f"{BASE}/counts/{closing['id']}/submissions",
            json={"amount_cents": book - 1_200},
            headers=m1(),
        ).json()
        assert waiting["status"] == "waiting" and waiting["count"]["book_cents"] is None
        done = client.post(
            f"{BASE}/counts/{closing['id']}/submissions",
            json={"amount_cents": book - 1_200},
            headers=m2(),
        ).json()
        assert done["status"] == "completed"
        assert (done["count"]["book_cents"], done["count"]["variance_cents"]) == (book, -1_200)
        assert done["count"]["flags"] == []
        (review,) = client.get(f"{BASE}/reviews", headers=m1()).json()
        assert review["level"] == "bookkeeper"

        clock.advance(61 * 60)
        tick()
        (review,) = client.get(f"{BASE}/reviews", headers=m1()).json()
        assert review["level"] == "manager"
        clock.advance(24 * 3600 + 60)
        tick()
        (review,) = client.get(f"{BASE}/reviews", headers=m1()).json()
        assert review["level"] == "incident" and review["alarm_id"]
        with hub.db.sessions() as session:
            alarm = session.get(Alarm, review["alarm_id"])
            assert alarm.alarm_type == "cash_discrepancy" and alarm.incident_id
            clips = (
                session.execute(select(AlarmEvidence).where(AlarmEvidence.alarm_id == alarm.id))
                .scalars()
                .all()
            )
            assert any(c.ref == "cam-cash" and "to" in c.detail for c in clips)

        # The takings go to the vault, into a sealed bag, and out with the carrier.
        safe_cash = client.get(f"{BASE}/containers", headers=m1()).json()
        safe_cash = next(c for c in safe_cash if c["id"] == store.safe)["balance_cents"]
        assert (
            client.post(
                f"{BASE}/transfers",
                json={"source_id": store.safe, "target_id": store.vault, "amount_cents": safe_cash},
                headers=m1(),
            ).status_code
            == 204
        )
        bag = client.post(
            f"{BASE}/deposits",
            json={"amount_cents": 100_000, "bag_number": "B-7", "seal_number": "S-77"},
            headers=m1(),
        ).json()
        carrier = client.post(
            f"{BASE}/carriers",
            json={"company": "Loomis", "code_word": "harbour-lights"},
            headers=m1(),
        ).json()
        pickup = client.post(
            f"{BASE}/pickups", json={"carrier_id": carrier["id"]}, headers=m1()
        ).json()
        from datetime import datetime

        clock.set(datetime.fromisoformat(pickup["scheduled_at"]))
        wrong = client.post(
            f"{BASE}/pickups/{pickup['id']}/verify",
            json={
                "company": "Loomis",
                "guard_name": "Pat",
                "one_time_code": pickup["one_time_code"],
                "code_word": "harbour-light",
            },
            headers=m1(),
        )
        assert wrong.status_code == 409
        right = client.post(
            f"{BASE}/pickups/{pickup['id']}/verify",
            json={
                "company": "Loomis",
                "guard_name": "Pat",
                "one_time_code": pickup["one_time_code"],
                "code_word": "harbour-lights",
            },
            headers=m1(),
        )
        assert right.status_code == 200
        handed = client.post(
            f"{BASE}/pickups/{pickup['id']}/hand-over",
            json={"seals": {"B-7": "S-77"}},
            headers=m1(),
        ).json()
        assert handed["status"] == "completed" and handed["total_cents"] == 100_000
        clock.advance(6 * 3600)
        confirmed = client.post(
            f"{BASE}/deposits/{bag['id']}/confirmation",
            json={"amount_cents": 99_000, "reference": "BANK-1"},
            headers=m1(),
        ).json()
        assert confirmed["status"] == "discrepancy" and confirmed["balance_cents"] == 1_000
        tick()

    with hub.db.sessions() as session:
        kinds = sorted(session.execute(select(Alarm.alarm_type)).scalars())
        assert kinds == [
            "cash_discrepancy",
            "deposit_mismatch",
            "pickup_verification_failed",
            "till_over_limit",
        ]
        for container in session.execute(select(CashContainer)).scalars():
            assert movements.balance(session=session, container_id=container.id) == (
                movements.recomputed_balance(session=session, container_id=container.id)
            )
        assert movements.balance(session=session, container_id=store.register1) == 0
    assert hub.ledger.verify().ok
