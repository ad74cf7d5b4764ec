"""Every route of the app declares its guard and its scope, and both hold.

The routes are enumerated from ``create_app(hub)``, not listed, so routers added later
are covered without touching this file: anonymous callers get 401 (pages: 303 to the
sign-in), roles without the permission 403, and, with two sites loaded, a role held at
the other site 403 or 404 wherever a site or a site's record is named.
"""

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bastion.api.deps import (
    COOKIE_NAME,
    Principal,
    Public,
    Require,
    iter_routes,
    route_guards,
    route_permission,
)
from bastion.api.scope import (
    AnySite,
    DeviceZone,
    DoorZones,
    FromBody,
    FromPath,
    FromQuery,
    FromResource,
    Global,
    ZoneFromBody,
    ZoneFromPath,
)
from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import ROLE_PERMISSIONS, Grant, Permission, Role
from bastion.core.context import Context
from bastion.site.loader import load_site_file
from tests.auth.scope_support import KIND_OF, SITE_A, SITE_B, SiteRecords, make_owner, seed_site
from tests.conftest import EXAMPLES

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
    guard = Require(Permission.SITE_READ, site=FromPath("site_id"))
    assert guard.permission is Permission.SITE_READ
    assert repr(guard) == "Require(site:read, site=FromPath('site_id'))"
    assert "undeclared" in repr(Require(Permission.SITE_READ))


def test_role_table_follows_least_privilege():
    table = ROLE_PERMISSIONS
    assert set(table) == set(Role)
    assert table[Role.ADMIN] == frozenset(Permission)
    assert all(p.endswith(":read") or p == "ledger:verify" for p in table[Role.AUDITOR])
    assert table[Role.EMPLOYEE] == {Permission.SAFETY_SELF, Permission.CASH_HANDLE}
    assert table[Role.POS] == {Permission.CASH_INGEST}
    assert Permission.CASH_PICKUPS not in table[Role.AUDITOR] | table[Role.OPERATOR]
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


# --- scope: every route says where it acts ----------------------------------------------------

SITE_PARAMS = {"site_id", "site"}


def _path_params(path: str) -> set[str]:
    return {p.strip("{}").split(":")[0] for p in _PARAM.findall(path)}


def _query_params(route) -> set[str]:
    return {param.alias for param in route.dependant.query_params}


def _body_fields(route) -> set[str]:
    found: set[str] = set()
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= set(annotation.model_fields)
    return found


def scope_problems(app) -> list[str]:
    """Return what is wrong with the scopes the routes of ``app`` declare."""
    problems = []
    for route in iter_routes(app):
        guards = route_guards(route) if _is_api_route(route) else []
        if len(guards) != 1 or isinstance(guards[0], Public):
            continue
        guard = guards[0]
        label = f"{sorted(route.methods)} {route.path}"
        if not guard.sources:
            problems.append(f"{label}: declares no scope (site=FromPath(...), AnySite(), ...)")
            continue
        named = {(type(s), n) for s in guard.sources for n in s.names}
        kinds = {type(s) for s in guard.sources}
        params = _path_params(route.path)
        if "site_id" in params and (FromPath, "site_id") not in named:
            problems.append(f"{label}: the site in the path is not checked (FromPath)")
        for name in _query_params(route) & SITE_PARAMS:
            if (FromQuery, name) not in named:
                problems.append(f"{label}: the site in query {name!r} is not checked (FromQuery)")
        if "site_id" in _body_fields(route) and (FromBody, "site_id") not in named:
            problems.append(f"{label}: the site in the body is not checked (FromBody)")
        # A list may stay AnySite; a route naming a record must say where that record is
        # (FromResource), take the site from the request, or say it is not about a site.
        records = {p for p in params if p.endswith("_id")} - {"site_id"}
        if records and kinds == {AnySite}:
            problems.append(f"{label}: names {sorted(records)} but checks no record's site")
    return problems


def test_every_guarded_route_declares_where_it_acts(app):
    problems = scope_problems(app)
    assert not problems, "\n".join(problems)


def test_the_scope_check_catches_a_route_that_skips_it():
    class Body(BaseModel):
        site_id: str

    bad = FastAPI()
    lax = Require(Permission.DOORS_CONTROL)
    any_site = Require(Permission.DOORS_CONTROL, site=Global())

    @bad.post("/api/sites/{site_id}/doors/{door_id}/unlock")
    def unlock(site_id: str, door_id: str, _: Annotated[Principal, Depends(lax)]) -> None:
        """Forget to say where."""

    @bad.get("/api/things")
    def things(site_id: str, _: Annotated[Principal, Depends(any_site)]) -> None:
        """Take a site in the query but check it nowhere."""

    @bad.post("/api/things")
    def make(body: Body, _: Annotated[Principal, Depends(any_site)]) -> None:
        """Take a site in the body but check it nowhere."""

    @bad.post("/api/gadgets/{gadget_id}")
    def gadget(
        gadget_id: str,
        _: Annotated[Principal, Depends(Require(Permission.DOORS_CONTROL, site=AnySite()))],
    ) -> None:
        """Name a record but check no site."""

    problems = "\n".join(scope_problems(bad))
    assert "unlock: declares no scope" in problems.replace(
        "/api/sites/{site_id}/doors/{door_id}/", ""
    )
    assert "/api/things: the site in query 'site_id' is not checked" in problems
    assert "/api/things: the site in the body is not checked" in problems
    assert "/api/gadgets/{gadget_id}: names ['gadget_id'] but checks no record's site" in problems


# --- scope: with two sites loaded, a role held at one site stops at the other ----------------

B_ZONE, B_DOOR, B_DEVICE = "vault", "vault-door", "cash-pir"
PLACEHOLDERS = {"command": "unlock", "role": "operator", "playbook_id": "fire"}
SITE_NAMING = (FromPath, FromQuery, FromBody)


@pytest.fixture
def estate(hub, dispensary) -> tuple[SiteRecords, SiteRecords]:
    """Load the cultivation centre (A) and the dispensary (B) with records at both."""
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    hub.extras["sites"] = {SITE_A: cultivation, SITE_B: dispensary}
    owner = make_owner(hub)
    return seed_site(hub, cultivation, owner), seed_site(hub, dispensary, owner)


@pytest.fixture
def sign_in_at(database, clock):
    """Return a function giving fresh cookie + CSRF headers for ``role`` at a site (or zones)."""
    accounts: dict[tuple[Role, str | None, frozenset[str] | None], int] = {}

    def headers_for(role: Role, site_id: str | None, zones: frozenset[str] | None = None):
        key = (role, site_id, zones)
        if key not in accounts:
            name = f"{role.value}-at-{site_id or 'all'}" + (
                "-" + "-".join(sorted(zones)) if zones else ""
            )
            with database.unit_of_work() as session:
                user = service.create_user(
                    session=session,
                    username=name,
                    password="correct horse battery staple",
                    grants=[Grant(role, site_id, zones)],
                    clock=clock,
                    context=Context(actor="test"),
                )
                accounts[key] = user.id
        with database.unit_of_work() as session:
            user = session.get(User, accounts[key])
            new = service.start_session(session=session, user=user, clock=clock, max_hours=12)
        return {"cookie": f"{COOKIE_NAME}={new.token}", "x-csrf-token": new.csrf_token}

    return headers_for


@pytest.fixture
def browser(app) -> TestClient:
    """Return a client that reports server errors as 500s instead of raising them."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def _names_a_site(guard: Require) -> bool:
    return any(
        isinstance(s, SITE_NAMING) or (isinstance(s, FromResource) and s.resource in KIND_OF)
        for s in guard.sources
    )


def _request_at(route, guard: Require, records: SiteRecords) -> dict[str, Any]:
    """Return the request that names ``records``' site (or its records) wherever the guard looks."""
    path: dict[str, str] = {}
    query: dict[str, str] = {}
    body: dict[str, str] = {}
    where = {"path": path, "query": query, "body": body}
    for source in guard.sources:
        if isinstance(source, FromPath):
            path[source.name] = records.site_id
        elif isinstance(source, FromQuery):
            query[source.name] = records.site_id
        elif isinstance(source, FromBody):
            body[source.name] = records.site_id
        elif isinstance(source, FromResource) and source.resource in KIND_OF:
            where[source.where][source.name] = records.of(source.resource)
    zone = guard.zone
    if isinstance(zone, ZoneFromPath):
        path[zone.name] = B_ZONE
    elif isinstance(zone, ZoneFromBody):
        body[zone.name] = B_ZONE
    elif isinstance(zone, DoorZones):
        path[zone.name] = B_DOOR
    elif isinstance(zone, DeviceZone):
        path[zone.name] = B_DEVICE
    url = _PARAM.sub(
        lambda m: path.get(
            m.group(0).strip("{}").split(":")[0],
            PLACEHOLDERS.get(m.group(0).strip("{}").split(":")[0], "1"),
        ),
        route.path,
    )
    request: dict[str, Any] = {"url": url, "params": query}
    if "site.id" in body:
        request["content"] = f"site:\n  id: {body['site.id']}\n"
        request["headers"] = {"content-type": "application/yaml"}
    elif route.path.startswith("/console"):
        request["data"] = body
    elif body:
        request["content"] = json.dumps(body)
        request["headers"] = {"content-type": "application/json"}
    return request


def _send(browser: TestClient, method: str, request: dict[str, Any], headers: dict[str, str]):
    merged = {**request.get("headers", {}), **headers}
    rest = {k: v for k, v in request.items() if k not in {"headers", "url"}}
    return browser.request(method, request["url"], headers=merged, follow_redirects=False, **rest)


def _answer(response) -> tuple[int, str]:
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text[:200]
    return response.status_code, str(body.get("detail", "") if isinstance(body, dict) else body)


def test_a_role_at_one_site_cannot_reach_another_sites_routes(app, estate, sign_in_at, browser):
    """For every route naming a site or a site's record: site A's role gets 403/404 at site B.

    The same request by the same role held at site B gets past the scope check (its
    answer differs), so the refusal is the scope's and not something else's.
    """
    _, b = estate
    failures = []
    checked = 0
    # Deletions last: the insider's requests go through and would remove records.
    endpoints = sorted(_endpoints(app), key=lambda e: e[1] == "DELETE")
    for route, method in endpoints:
        guard = route_guards(route)[0]
        if isinstance(guard, Public) or guard.permission is None or not _names_a_site(guard):
            continue
        role = _least_privileged_holder(guard.permission)
        request = _request_at(route, guard, b)
        label = f"{method} {request['url']} [{guard.permission} as {role.value}]"
        outsider = _send(browser, method, request, sign_in_at(role, SITE_A))
        insider = _send(browser, method, request, sign_in_at(role, SITE_B))
        if outsider.status_code not in (403, 404):
            failures.append(f"{label}: the role at {SITE_A} got {outsider.status_code}")
        elif _answer(outsider) == _answer(insider):
            failures.append(f"{label}: the role at {SITE_B} got the same {_answer(insider)}")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 100


KEY_LISTS = (
    "/api/alarms",
    "/api/incidents",
    "/api/events",
    "/api/people",
    "/api/employees",
    "/api/access/levels",
    "/api/access/credentials",
    "/api/access-review",
    "/api/visitors",
    "/api/offboarding",
    "/api/notify/trees",
    "/api/notify/runs",
    "/api/playbooks/runs",
    "/api/tokens",
    "/api/sites",
    "/api/users",
    "/console",
    "/console/alarms",
    "/console/incidents",
    "/console/people",
    "/console/visitors",
    "/console/emergency",
)


def _reader_of(route) -> Role:
    guard = route_guards(route)[0]
    return Role.OPERATOR if guard.permission is None else _least_privileged_holder(guard.permission)


def test_lists_and_pages_show_only_the_callers_sites(app, estate, sign_in_at, browser):
    a, b = estate
    theirs = b.ids() | {SITE_B}
    ours = a.ids() | {SITE_A}
    for role in Role:
        sign_in_at(role, SITE_B)  # accounts of the other site, for the account list
    leaks, shown = [], {}
    for route, method in _endpoints(app):
        guard = route_guards(route)[0]
        if method != "GET" or "{" in route.path or isinstance(guard, Public):
            continue
        if route.path == "/api/events/stream":
            continue  # endless; see test_auth_site_scope
        role = _reader_of(route)
        reply = browser.get(route.path, headers=sign_in_at(role, SITE_A), follow_redirects=False)
        shown[route.path] = reply.text if reply.status_code == 200 else ""
        seen = sorted(m for m in theirs if m in reply.text)
        if seen:
            leaks.append(f"GET {route.path} as {role.value}@{SITE_A} shows {seen}")
    assert not leaks, "\n".join(leaks)
    blind = [path for path in KEY_LISTS if not any(m in shown.get(path, "") for m in ours)]
    assert not blind, f"lists that do not even show the caller's own site: {blind}"


def test_the_list_check_would_see_a_leak(app, estate, sign_in_at, browser):
    _, b = estate
    theirs = b.ids() | {SITE_B}
    sign_in_at(Role.OPERATOR, SITE_B)
    routes = {r.path: r for r, m in _endpoints(app) if m == "GET"}
    for path in KEY_LISTS:
        role = _reader_of(routes[path])
        text = browser.get(path, headers=sign_in_at(role, None), follow_redirects=False).text
        assert any(m in text for m in theirs), f"{path} shows nothing of {SITE_B} to {role.value}"
