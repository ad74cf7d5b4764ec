"""Offboarding in one action, and the report that proves nothing of the person's access is left."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bastion.access import service as access_service
from bastion.access.cards import parse_card
from bastion.access.runtime import engine_of
from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Role
from bastion.core.events import EVENT_OFFBOARDING
from bastion.notify import service as notify_service
from bastion.notify.schemas import CallTreeCreate, TierIn
from tests.people.conftest import CTX, NOW, SITE, ledger_payloads


def test_offboarding_cuts_everything_and_the_report_proves_it(
    stored_site, app, client_for, make_account, make_contact, site_hub, database, clock
):
    hr = client_for(Role.HR)
    manager = client_for(Role.SECURITY_MANAGER)
    admin = client_for(Role.ADMIN)
    pid = hr.post("/api/employees", json={"name": "Lee Leaver", "site_id": SITE}).json()["id"]
    # A badge and a level.
    engine = engine_of(site_hub)
    assert engine is not None
    with database.unit_of_work() as session:
        access_service.issue_credential(
            session=session,
            person_id=pid,
            kind="card",
            hasher=site_hub.hash_credential,
            card=parse_card("h10301:12:4242"),
            context=CTX,
            now=NOW,
            engine=engine,
        )
    badges = [c for c in engine.snapshot.creds.values() if c.person_id == pid]
    assert len(badges) == 1 and not badges[0].revoked
    manager.post(f"/api/employees/{pid}/levels", json={"level_id": "sales"})
    # An operator account, signed in, with an API token.
    account = make_account("leaver", Role.OPERATOR)
    with database.unit_of_work() as session:
        user = session.get(User, account.id)
        token = auth_service.create_api_token(
            session=session, owner=user, name="script", role=Role.OPERATOR, clock=clock, context=CTX
        ).token
    own = TestClient(app, base_url="https://testserver")
    own.__enter__()
    try:
        assert (
            own.post(
                "/api/auth/login", json={"username": "leaver", "password": account.password}
            ).status_code
            == 200
        )
        assert own.get("/api/people").status_code == 200
        assert (
            admin.put(f"/api/employees/{pid}/account", json={"user_id": account.id}).status_code
            == 200
        )
        assert (
            hr.put(f"/api/employees/{pid}/account", json={"user_id": account.id}).status_code == 403
        )
        # In two call trees; alone in the first tier of one of them.
        leaver_contact = make_contact(
            "Lee", "mailto://127.0.0.1:9?from=bastion@example.org&to=lee@example.org&mode=insecure"
        )
        other_contact = make_contact(
            "Sam", "mailto://127.0.0.1:9?from=bastion@example.org&to=sam@example.org&mode=insecure"
        )
        with database.unit_of_work() as session:
            notify_service.create_tree(
                session=session,
                data=CallTreeCreate(
                    name="after-hours",
                    tiers=[TierIn(contacts=[leaver_contact]), TierIn(contacts=[other_contact])],
                ),
                context=CTX,
                now=NOW,
            )
            notify_service.create_tree(
                session=session,
                data=CallTreeCreate(
                    name="managers", tiers=[TierIn(contacts=[leaver_contact, other_contact])]
                ),
                context=CTX,
                now=NOW,
            )
        assert (
            hr.put(f"/api/employees/{pid}/links", json={"contact_id": leaver_contact}).status_code
            == 200
        )

        bad = hr.post(
            "/api/offboarding",
            json={"person_id": pid, "reason": "left", "secrets": [{"kind": "pin", "label": "x"}]},
        )
        assert bad.status_code == 422
        assert hr.get(f"/api/employees/{pid}").json()["status"] == "active"

        done = hr.post(
            "/api/offboarding",
            json={
                "person_id": pid,
                "reason": "resigned",
                "secrets": [
                    {"kind": "safe_combination", "label": "Vault safe"},
                    {"kind": "alarm_code", "label": "Panel user 7"},
                    {"kind": "shared_account", "label": "POS manager login"},
                ],
            },
        )
        assert done.status_code == 201, done.text
        row = done.json()
        assert row["summary"] == {
            "credentials_revoked": 1,
            "levels_removed": 1,
            "sessions_ended": 1,
            "tokens_revoked": 1,
            "call_trees_left": 2,
            "secrets_to_rotate": 3,
        }
        # The leaver's console session and token stopped working at once.
        assert own.get("/api/people").status_code == 401
        assert (
            own.get("/api/people", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )
        # The engine denies the badge.
        now_badges = [c for c in engine.snapshot.creds.values() if c.person_id == pid]
        assert [c.revoked for c in now_badges] == [True]
        assert engine.snapshot.people[pid].status == "offboarded"
        report = hr.get(f"/api/offboarding/{row['id']}/report").json()
        assert report["access_clear"] is True and report["complete"] is False
        assert {s["name"] for s in report["sources"]} >= {
            "credentials",
            "access levels",
            "operator account",
            "call trees",
            "access engine",
        }
        assert all(s["remaining"] == [] for s in report["sources"])
        assert len(report["secrets_outstanding"]) == 3
        with database.sessions() as session:
            trees = {
                t.name: notify_service.tree_read(session=session, tree=t)
                for t in notify_service.list_trees(session=session)
            }
        assert [[m.contact_id for m in t.members] for t in trees["after-hours"].tiers] == [
            [other_contact]
        ]
        assert [[m.contact_id for m in t.members] for t in trees["managers"].tiers] == [
            [other_contact]
        ]
        again = hr.post("/api/offboarding", json={"person_id": pid, "reason": "twice"})
        assert again.status_code == 409
        # Security rotates the secrets; the last one completes the checklist.
        for item in row["secrets"]:
            assert (
                hr.post(
                    f"/api/offboarding/{row['id']}/secrets/{item['id']}/rotated", json={}
                ).status_code
                == 403
            )
            r = manager.post(
                f"/api/offboarding/{row['id']}/secrets/{item['id']}/rotated",
                json={"note": "changed"},
            )
            assert r.status_code == 200
        assert (
            manager.post(
                f"/api/offboarding/{row['id']}/secrets/{row['secrets'][0]['id']}/rotated", json={}
            ).status_code
            == 409
        )
        final = hr.get(f"/api/offboarding/{row['id']}/report").json()
        assert final["complete"] is True
        actions = [p["action"] for p in ledger_payloads(site_hub, EVENT_OFFBOARDING.name)]
        assert actions == [
            "started",
            "secret_rotated",
            "secret_rotated",
            "secret_rotated",
            "completed",
        ]
    finally:
        own.__exit__(None, None, None)


def test_the_report_lists_what_is_left_when_access_was_restored_behind_its_back(
    stored_site, client_for, database, site_hub
):
    hr = client_for(Role.HR)
    pid = hr.post("/api/employees", json={"name": "Kim", "site_id": SITE}).json()["id"]
    row = hr.post("/api/offboarding", json={"person_id": pid, "reason": "contract ended"}).json()
    assert [s["kind"] for s in row["secrets"]] == [
        "safe_combination",
        "alarm_code",
        "shared_account",
    ]
    # Someone re-adds a level directly in the database: the report finds it afresh.
    from bastion.access.models import LevelAssignment

    with database.unit_of_work() as session:
        session.add(
            LevelAssignment(person_id=pid, level_id="sales", granted_at=NOW, granted_by="x")
        )
    report = hr.get(f"/api/offboarding/{row['id']}/report").json()
    assert report["access_clear"] is False
    levels = next(s for s in report["sources"] if s["name"] == "access levels")
    assert levels["remaining"] == ["holds level sales"]
