"""Access and people routes end to end: enrol, explain, who-can, revoke instantly, entries, page."""

from __future__ import annotations

import warnings
from urllib.parse import quote

import pytest

from bastion.access.runtime import engine_of, flush_decisions
from bastion.api.app import create_app
from bastion.api.deps import COOKIE_NAME
from bastion.auth import service as auth_service
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.core.ports import Presentation, PresentationKind
from bastion.site import service as site_service
from bastion.site.loader import load_site
from tests.access.conftest import SITE_YAML, local

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

CARD = "h10301:7:4242"
MON_10 = local(2026, 3, 9, 10, 0)


@pytest.fixture
def lab(hub):
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session,
            site=load_site(SITE_YAML, source="t"),
            context=Context(),
            now=hub.clock.now(),
        )
    return hub


def _headers(hub, username: str, role: Role) -> dict[str, str]:
    with hub.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            username=username,
            password="correct horse battery staple",
            grants=[Grant(role)],
            clock=hub.clock,
            context=Context(actor="test"),
        )
        new = auth_service.start_session(session=session, user=user, clock=hub.clock, max_hours=12)
    return {"cookie": f"{COOKIE_NAME}={new.token}", "x-csrf-token": new.csrf_token}


def test_enrol_explain_revoke_and_audit_over_the_api(lab):
    app = create_app(lab)
    admin = _headers(lab, "root", Role.ADMIN)
    auditor = _headers(lab, "audrey", Role.AUDITOR)
    with TestClient(app, base_url="https://testserver") as client:
        engine = engine_of(lab)
        assert engine is not None and lab.access is engine
        person = client.post(
            "/api/people",
            json={"name": "Vera Vault", "kind": "employee", "role": "manager", "site_id": "lab"},
            headers=admin,
        )
        assert person.status_code == 201, person.text
        pid = person.json()["id"]
        level = client.put(
            "/api/access/levels/vault-staff",
            json={
                "site_id": "lab",
                "name": "Vault staff",
                "schedule_id": "business",
                "zones": ["hall", "vault"],
            },
            headers=admin,
        )
        assert level.status_code == 200, level.text
        bad = client.put(
            "/api/access/levels/bad",
            json={"site_id": "lab", "name": "Bad", "schedule_id": "weekends", "zones": ["vault"]},
            headers=admin,
        )
        assert bad.status_code == 422 and "weekends" in bad.json()["detail"]
        gated = client.post(
            "/api/access/levels/vault-staff/assign", json={"person_id": pid}, headers=admin
        )
        assert gated.status_code == 409 and "background check" in gated.json()["detail"]
        cleared = client.put(
            f"/api/employees/{pid}/background-check",
            json={"status": "cleared", "checked_on": "2026-01-05", "reference": "BG-1"},
            headers=admin,
        )
        assert cleared.status_code == 200, cleared.text
        assert (
            client.post(
                "/api/access/levels/vault-staff/assign", json={"person_id": pid}, headers=admin
            ).status_code
            == 204
        )
        cred = client.post(
            "/api/access/credentials",
            json={"person_id": pid, "kind": "card", "card": CARD},
            headers=admin,
        )
        assert cred.status_code == 201, cred.text
        assert "4242" not in cred.text
        cid = cred.json()["id"]
        malformed = client.post(
            "/api/access/credentials",
            json={"person_id": pid, "kind": "card", "card": "h10301:999:1"},
            headers=admin,
        )
        assert malformed.status_code == 422 and "malformed card data" in malformed.json()["detail"]

        explained = client.get(
            f"/api/access/explain?credential_id={cid}&door=vault-door&at={quote(MON_10.isoformat())}",
            headers=auditor,
        )
        assert explained.status_code == 200, explained.text
        body = explained.json()
        assert body["granted"] and body["reason"] == "granted"
        assert [s["check"] for s in body["steps"]][:2] == ["door", "lockdown"]
        unknown = client.get(
            f"/api/access/explain?credential_id={cid}&door=nowhere", headers=auditor
        )
        assert unknown.json()["reason"] == "unknown_door"

        who = client.get("/api/access/who-can?door=vault", headers=auditor).json()
        assert [(h["person_id"], h["name"], h["levels"]) for h in who] == [
            (pid, "Vera Vault", ["vault-staff"])
        ]

        card_hash = lab.hash_credential("raw:26:" + format(_h10301(7, 4242), "07x"), purpose="card")
        read = Presentation(
            door_id="vault-door",
            reader_id="vault-in",
            kind=PresentationKind.CARD,
            card_hash=card_hash,
            time=MON_10,
        )
        assert engine.decide(read).granted
        revoked = client.post(
            f"/api/access/credentials/{cid}/revoke", json={"reason": "lost"}, headers=admin
        )
        assert revoked.status_code == 200 and revoked.json()["revoked"]
        assert engine.decide(read).reason == "revoked"
        client.portal.call(flush_decisions, lab)
        entries = client.get("/api/access/entries?site_id=lab&zone=vault&since=7d", headers=auditor)
        assert entries.status_code == 200, entries.text
        assert [e["person_id"] for e in entries.json()] == [pid]

        assert (
            client.post(
                "/api/access/lockdown", json={"site_id": "lab", "zone_id": "vault"}, headers=auditor
            ).status_code
            == 403
        )
        locked = client.post(
            "/api/access/lockdown",
            json={"site_id": "lab", "zone_id": "vault", "reason": "drill"},
            headers=admin,
        )
        assert "vault-door" in locked.json()["doors"]
        status = client.get("/api/access/status", headers=auditor).json()
        assert status["running"] and status["lockdowns"] == {"lab": ["vault"]}
        page = client.get("/console/people", headers=auditor)
        assert page.status_code == 200 and "Vera Vault" in page.text and "4242" not in page.text
    # The app's shutdown stopped the engine and detached it from the hub.
    assert engine_of(lab) is None and lab.access is None


def _h10301(fc: int, number: int) -> int:
    payload = (fc << 16) | number
    even = bin(payload >> 12).count("1") & 1
    odd = 1 - (bin(payload & 0xFFF).count("1") & 1)
    return (even << 25) | (payload << 1) | odd
