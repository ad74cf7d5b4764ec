"""Every route of the app declares its guard, and the guard holds: 401/303, 403, then through.

The routes are enumerated from ``create_app(hub)``, not listed, so routers added later
are covered without touching this file.
"""

import asyncio
import re
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute

from bastion.api.deps import (
    COOKIE_NAME,
    Public,
    Require,
    iter_routes,
    route_guards,
    route_permission,
)
from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import ROLE_PERMISSIONS, Permission, Role

PUBLIC_API_ALLOWED = {"/api/health", "/api/ready", "/api/auth/login"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class Reply:
    status: int
    location: str


async def call(app, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
    """Drive the ASGI app directly; stop reading once the response has started.

    Unlike the test clients this copes with endless responses (the SSE stream).
    """
    body = b"{}" if method in UNSAFE else b""
    raw_headers = [(b"host", b"testserver")]
    if body:
        raw_headers.append((b"content-type", b"application/json"))
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    started = asyncio.Event()
    sent_body = False
    reply: dict[str, object] = {}

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            reply["status"] = message["status"]
            reply["headers"] = dict(message.get("headers", []))
            started.set()

    task = asyncio.create_task(app(scope, receive, send))
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not task.done():
        done, _ = await asyncio.wait({task}, timeout=5)
        if not done:
            task.cancel()
    elif task.exception() is not None and "status" not in reply:
        raise task.exception()
    assert "status" in reply, f"{method} {path} sent no response"
    headers_out = reply["headers"]
    return Reply(int(reply["status"]), headers_out.get(b"location", b"").decode())


def _concrete(path: str, value: int) -> str:
    return _PARAM.sub(str(value), path)


def _is_page(path: str, method: str) -> bool:
    return not path.startswith("/api") and method in {"GET", "HEAD"}


def _least_privileged_holder(permission: Permission) -> Role:
    holders = [r for r in Role if permission in ROLE_PERMISSIONS[r]]
    return min(holders, key=lambda r: len(ROLE_PERMISSIONS[r]))


def _lacker(permission: Permission) -> Role | None:
    for role in (Role.EMPLOYEE, Role.AUDITOR, Role.OPERATOR, Role.HR):
        if permission not in ROLE_PERMISSIONS[role]:
            return role
    return None


def _is_api_route(route) -> bool:
    return isinstance(getattr(route, "original_route", route), APIRoute)


def _endpoints(app):
    for route in iter_routes(app):
        if _is_api_route(route):
            for method in sorted(route.methods):
                yield route, method


@pytest.fixture
def target(make_account) -> int:
    """Return the id every path parameter points at: an employee nobody signs in as.

    Admin routes may then act on it (disable it, reset its TOTP) without the domain's
    own anti-escalation checks answering 403 for reasons other than the guard.
    """
    return make_account("target", Role.EMPLOYEE).id


@pytest.fixture
def sign_in(database, clock, make_account, target):
    """Return a function giving fresh cookie + CSRF headers for a role (None: no role).

    A fresh session per call, because some routes (sign-out) end the caller's session.
    """
    accounts = {role: make_account(f"as-{role.value}", role, totp=False) for role in Role}
    accounts[None] = make_account("as-nobody", totp=False)

    def headers_for(role):
        with database.unit_of_work() as session:
            user = session.get(User, accounts[role].id)
            new = service.start_session(session=session, user=user, clock=clock, max_hours=12)
        return {"cookie": f"{COOKIE_NAME}={new.token}", "x-csrf-token": new.csrf_token}

    return headers_for


def test_every_route_declares_exactly_one_guard(app):
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    problems = []
    api_routes = 0
    for route in iter_routes(app):
        path = getattr(route, "path", None) or repr(route)
        if not _is_api_route(route):
            if path not in docs:
                problems.append(f"{path}: not an APIRoute, so it cannot declare a guard")
            continue
        api_routes += 1
        guards = route_guards(route)
        if len(guards) != 1:
            problems.append(f"{sorted(route.methods)} {path}: {len(guards)} guards {guards}")
        elif route_permission(route) is None:
            problems.append(f"{path}: guard not recognised")
    assert not problems, "\n".join(problems)
    assert api_routes >= 15  # the auth router alone has 14 routes


def test_public_routes_are_few_and_known(app):
    public_api = {
        route.path
        for route in iter_routes(app)
        if _is_api_route(route)
        and route.path.startswith("/api")
        and route_permission(route) == "public"
    }
    assert public_api <= PUBLIC_API_ALLOWED, f"unexpected public API routes: {public_api}"


async def test_no_route_is_reachable_without_the_right_role(app, hub, sign_in, target):
    checked = 0
    failures = []
    for route, method in _endpoints(app):
        guard = route_permission(route)
        if guard == "public" or guard is None:
            continue
        path = _concrete(route.path, target)
        label = f"{method} {route.path} [{guard}]"

        anonymous = await call(app, method, path)
        if _is_page(route.path, method):
            if anonymous.status != 303 or not anonymous.location.startswith("/login"):
                failures.append(f"{label}: anonymous got {anonymous}, expected 303 to /login")
        elif anonymous.status != 401:
            failures.append(f"{label}: anonymous got {anonymous.status}, expected 401")

        if guard == "authenticated":
            allowed_role = None
        else:
            lacking = _lacker(guard)
            if lacking is not None:
                denied = await call(app, method, path, sign_in(lacking))
                if denied.status != 403:
                    failures.append(f"{label}: {lacking.value} got {denied.status}, expected 403")
            allowed_role = _least_privileged_holder(guard)
        allowed = await call(app, method, path, sign_in(allowed_role))
        if allowed.status in (401, 403):
            who = allowed_role.value if allowed_role else "signed-in account without roles"
            failures.append(f"{label}: {who} got {allowed.status}")
        checked += 1
    await hub.bus.close()
    assert not failures, "\n".join(failures)
    assert checked >= 12


async def test_stolen_cookie_without_csrf_cannot_change_anything(app, hub, sign_in, target):
    headers = {"cookie": sign_in(Role.ADMIN)["cookie"]}
    for route, method in _endpoints(app):
        if method in UNSAFE and isinstance(route_guards(route)[0], Require):
            reply = await call(app, method, _concrete(route.path, target), headers)
            assert reply.status == 403, f"{method} {route.path} accepted a request without CSRF"
    await hub.bus.close()


def test_guard_helpers_recognise_markers():
    assert repr(Public()) == "Public()"
    assert Require(Permission.SITE_READ).permission is Permission.SITE_READ


def test_role_table_follows_least_privilege():
    table = ROLE_PERMISSIONS
    assert set(table) == set(Role)
    assert table[Role.ADMIN] == frozenset(Permission)
    assert all(p.endswith(":read") or p == "ledger:verify" for p in table[Role.AUDITOR])
    assert table[Role.EMPLOYEE] == {Permission.SAFETY_SELF}
    operator = table[Role.OPERATOR]
    assert {Permission.ALARMS_WORK, Permission.DOORS_CONTROL} <= operator
    assert not operator & {
        Permission.USERS_MANAGE,
        Permission.TOKENS_MANAGE,
        Permission.THREAT_SET,
        Permission.RULES_MANAGE,
        Permission.ACCESS_MANAGE,
        Permission.SITE_WRITE,
    }
    assert Permission.DOORS_CONTROL not in table[Role.HR]
    for role in Role:
        if role is not Role.ADMIN:
            assert table[role] < table[Role.ADMIN]
