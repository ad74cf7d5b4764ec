from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bastion.api.deps import COOKIE_NAME
from bastion.auth import service
from bastion.auth.permissions import Role
from bastion.core.events import EVENT_ADMIN_ACTION, EVENT_ALARM_RAISED

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(app):
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def _login(client, username, password=PASSWORD, totp=None):
    return client.post(
        "/api/auth/login", json={"username": username, "password": password, "totp": totp}
    )


def test_login_sets_a_hardened_cookie_and_returns_the_csrf_token(client, make_account, clock):
    acct = make_account("root", Role.ADMIN)
    response = _login(client, "root", totp=acct.code(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "root"
    assert body["user"]["roles"] == [{"role": "admin", "site_id": None, "zone_ids": None}]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/"):
        assert flag.lower() in cookie.lower()
    me = client.get("/api/auth/me").json()
    assert me["user"]["id"] == acct.id
    assert me["method"] == "session"
    assert me["csrf_token"] == body["csrf_token"]


def test_cookie_is_secure_on_loopback_too(app, make_account):
    # A TLS proxy on the same machine reaches the server over loopback.
    make_account("olga", Role.OPERATOR)
    with TestClient(app, base_url="http://127.0.0.1") as plain:
        cookie = _login(plain, "olga").headers["set-cookie"]
    assert "secure" in cookie.lower()


def test_cookie_is_plain_only_when_the_settings_say_so(hub, make_account):
    from bastion.api.app import create_app

    make_account("olga", Role.OPERATOR)
    hub.settings = hub.settings.model_copy(update={"cookie_secure": False})
    with TestClient(create_app(hub), base_url="http://127.0.0.1") as plain:
        cookie = _login(plain, "olga").headers["set-cookie"]
    assert "secure" not in cookie.lower()


def test_failed_login_is_a_generic_problem(client, make_account):
    make_account("olga", Role.OPERATOR)
    for name, password in (("olga", "Wrong-password-123"), ("ghost", PASSWORD)):
        response = _login(client, name, password)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == service.SIGN_IN_FAILED
        assert "set-cookie" not in response.headers


def test_lockout_through_the_api_is_ledgered_with_an_alarm(client, hub, make_account, ledger):
    make_account("olga", Role.OPERATOR)
    for _ in range(5):
        assert _login(client, "olga", "Wrong-password-123").status_code == 401
    assert _login(client, "olga").status_code == 401
    assert len(ledger.query(types=[EVENT_ALARM_RAISED.name])) == 1
    hub.clock.advance(15 * 60)
    assert _login(client, "olga").status_code == 200


def test_csrf_is_required_for_cookie_sessions(client, make_account, clock):
    acct = make_account("root", Role.ADMIN)
    csrf = _login(client, "root", totp=acct.code(clock)).json()["csrf_token"]
    new_user = {"username": "olga", "password": PASSWORD, "roles": [{"role": "operator"}]}
    missing = client.post("/api/users", json=new_user)
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["detail"]
    wrong = client.post("/api/users", json=new_user, headers={"X-CSRF-Token": "x" * 64})
    assert wrong.status_code == 403
    ok = client.post("/api/users", json=new_user, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    # The form field works too, for plain HTML forms.
    form = client.post("/api/auth/logout", data={"csrf_token": csrf})
    assert form.status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_bearer_tokens_skip_csrf_and_die_when_revoked(client, make_account, clock):
    acct = make_account("root", Role.ADMIN)
    csrf = _login(client, "root", totp=acct.code(clock)).json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    created = client.post(
        "/api/tokens", json={"name": "vms", "role": "operator"}, headers=headers
    ).json()
    token = created["token"]
    assert "token" not in client.get("/api/tokens").json()[0]
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/auth/me", headers=bearer).json()
    assert me["method"] == "token"
    assert me["roles"] == [{"role": "operator", "site_id": None, "zone_ids": None}]
    # An operator token cannot manage users, even though its owner could.
    assert client.get("/api/users", headers=bearer).status_code == 403
    assert client.post("/api/auth/logout", headers=bearer).status_code == 204
    csrf = _login(client, "root", totp=acct.code(clock, offset_steps=1)).json()["csrf_token"]
    revoked = client.delete(
        f"/api/tokens/{created['record']['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=bearer).status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_expired_session_is_rejected(client, hub, make_account):
    make_account("olga", Role.OPERATOR)
    assert _login(client, "olga").status_code == 200
    assert client.get("/api/auth/me").status_code == 200
    hub.clock.advance(timedelta(minutes=16).total_seconds())
    assert client.get("/api/auth/me").status_code == 401


def test_user_admin_routes_write_the_ledger(client, make_account, clock, ledger):
    root = make_account("root", Role.ADMIN)
    csrf = _login(client, "root", totp=root.code(clock)).json()["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    user = client.post(
        "/api/users", json={"username": "olga", "password": PASSWORD}, headers=h
    ).json()
    uid = user["id"]
    assert (
        client.post(
            f"/api/users/{uid}/roles", json={"role": "hr", "site_id": "d1"}, headers=h
        ).status_code
        == 201
    )
    roles = client.delete(f"/api/users/{uid}/roles/hr?site_id=d1", headers=h).json()["roles"]
    assert roles == []
    enrol = client.post(f"/api/users/{uid}/totp/reset", headers=h).json()
    assert enrol["provisioning_uri"].startswith("otpauth://totp/")
    assert client.post(f"/api/users/{uid}/disable", headers=h).json()["disabled"] is True
    assert client.post(f"/api/users/{root.id}/disable", headers=h).status_code == 409
    assert client.post("/api/users/999/disable", headers=h).status_code == 404
    assert [u["username"] for u in client.get("/api/users").json()] == ["olga", "root"]
    rows = [
        r
        for r in ledger.query(types=[EVENT_ADMIN_ACTION.name], limit=100)
        if r.actor == f"user:{root.id}"
    ]
    assert len(rows) == 5
    assert ledger.verify().ok


async def test_api_events_reach_the_bus_after_commit(app, hub, make_account, clock):
    import httpx

    root = make_account("root", Role.ADMIN)
    seen = []
    hub.bus.subscribe(lambda event: seen.append(event.type.name))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as ac:
        login = await ac.post(
            "/api/auth/login",
            json={"username": "root", "password": PASSWORD, "totp": root.code(clock)},
        )
        csrf = login.json()["csrf_token"]
        created = await ac.post(
            "/api/users",
            json={"username": "olga", "password": PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201
    await hub.bus.drain()
    assert seen == ["auth.session", "admin.action"]
    await hub.bus.close()
