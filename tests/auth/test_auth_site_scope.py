"""A role held at one site (or some of its zones) acts there and nowhere else.

The security review's cases: an operator of the cultivation site, by session and by API
token, unlocked the dispensary's vault door, disarmed its vault, bypassed its cash-room
sensor, read its site plan and read its events and alarms.
"""

import asyncio
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_COMMAND, DoorCommandPayload
from bastion.people import employees
from bastion.site.loader import load_site_file
from tests.auth.scope_support import SITE_A, SITE_B, SiteRecords, make_owner, seed_site
from tests.conftest import EXAMPLES, PASSWORD

CTX = Context(actor="test")


@pytest.fixture
def estate(hub, dispensary) -> tuple[SiteRecords, SiteRecords]:
    """Load the cultivation centre (A) and the dispensary (B) with records at both."""
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    hub.extras["sites"] = {SITE_A: cultivation, SITE_B: dispensary}
    owner = make_owner(hub)
    return seed_site(hub, cultivation, owner), seed_site(hub, dispensary, owner)


@pytest.fixture
def signed_in(app, database, clock):
    """Return a function giving a client signed in with one grant (by cookie, or by token)."""
    clients: list[TestClient] = []

    def make(grant: Grant, *, token: bool = False) -> TestClient:
        name = f"user{len(clients)}"
        with database.unit_of_work() as session:
            user = service.create_user(
                session=session,
                username=name,
                password=PASSWORD,
                grants=[grant],
                clock=clock,
                context=CTX,
            )
            if token:
                minted = service.create_api_token(
                    session=session,
                    owner=user,
                    name="vms",
                    role=grant.role,
                    site_id=grant.site_id,
                    clock=clock,
                    context=CTX,
                )
            else:
                new = service.start_session(session=session, user=user, clock=clock, max_hours=12)
        client = TestClient(app, base_url="https://testserver")
        clients.append(client)
        if token:
            client.headers["Authorization"] = f"Bearer {minted.token}"
        else:
            client.cookies.set("bastion_session", new.token)
            client.headers["X-CSRF-Token"] = new.csrf_token
        return client

    return make


def _ledger_size(hub) -> int:
    return hub.ledger.count()


@pytest.mark.parametrize("token", [False, True], ids=["session", "api-token"])
def test_the_reviewed_cross_site_actions_are_refused(hub, estate, signed_in, token):
    client = signed_in(Grant(Role.OPERATOR, SITE_A), token=token)
    before = _ledger_size(hub)
    until = (hub.clock.now() + timedelta(hours=1)).isoformat()
    refused = {
        "unlock": client.post(f"/api/sites/{SITE_B}/doors/vault-door/unlock", json={}),
        "command": client.post(
            f"/api/sites/{SITE_B}/doors/vault-door/commands", json={"command": "unlock"}
        ),
        "disarm": client.put(f"/api/sites/{SITE_B}/zones/vault/arming", json={"armed": False}),
        "bypass": client.post(
            f"/api/sites/{SITE_B}/sensors/cash-pir/bypass", json={"reason": "x", "until": until}
        ),
        "lockdown": client.post(f"/api/sites/{SITE_B}/zones/vault/lockdown", json={}),
        "plan": client.get(f"/api/sites/{SITE_B}"),
    }
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    assert "dispensary-main" in refused["unlock"].json()["detail"]
    assert _ledger_size(hub) == before, "a refused request left a trace as if it had acted"
    events = client.get("/api/events", params={"limit": 1000}).json()
    assert events and {e["site"] for e in events} == {SITE_A}
    alarms = client.get("/api/alarms").json()
    assert alarms and {a["site_id"] for a in alarms} == {SITE_A}


def test_a_decision_at_another_sites_door_is_not_explained(estate, signed_in):
    a, _ = estate
    auditor = signed_in(Grant(Role.AUDITOR, SITE_A))
    there = {"credential_id": a.credential, "door": f"{SITE_B}/vault-door"}
    refused = auditor.get("/api/access/explain", params=there)
    assert refused.status_code == 403 and SITE_B in refused.json()["detail"]
    door = next(
        d.id
        for d in load_site_file(EXAMPLES / "cultivation.yaml").doors
        if d.from_zone != "outside"
    )
    here = {"credential_id": a.credential, "door": f"{SITE_A}/{door}"}
    assert auditor.get("/api/access/explain", params=here).status_code == 200


def test_the_same_operator_acts_at_its_own_site(hub, estate, signed_in):
    client = signed_in(Grant(Role.OPERATOR, SITE_A))
    door = next(d for d in hub.extras["sites"][SITE_A].doors if d.from_zone != "outside")
    unlocked = client.post(f"/api/sites/{SITE_A}/doors/{door.id}/unlock", json={})
    assert unlocked.status_code == 200, unlocked.text
    assert client.get(f"/api/sites/{SITE_A}").json()["site"]["id"] == SITE_A


def test_a_role_limited_to_the_sales_floor_acts_only_there(hub, estate, signed_in):
    sales = signed_in(Grant(Role.OPERATOR, SITE_B, frozenset({"sales-floor"})))
    before = _ledger_size(hub)
    until = (hub.clock.now() + timedelta(hours=1)).isoformat()
    vault = {
        "unlock": sales.post(f"/api/sites/{SITE_B}/doors/vault-door/unlock", json={}),
        "command": sales.post(
            f"/api/sites/{SITE_B}/doors/vault-door/commands", json={"command": "unlock"}
        ),
        "disarm": sales.put(f"/api/sites/{SITE_B}/zones/vault/arming", json={"armed": False}),
        "bypass": sales.post(
            f"/api/sites/{SITE_B}/sensors/cash-pir/bypass", json={"reason": "x", "until": until}
        ),
        "lockdown": sales.post(f"/api/sites/{SITE_B}/zones/vault/lockdown", json={}),
        "site-wide": sales.post(
            "/api/access/anti-passback/forgive", json={"site_id": SITE_B, "reason": "x"}
        ),
    }
    assert {k: r.status_code for k, r in vault.items()} == dict.fromkeys(vault, 403)
    assert vault["unlock"].json()["detail"] == (
        "this needs the doors:control permission at site 'dispensary-main'"
        " in zones back-of-house, vault"
    )
    assert _ledger_size(hub) == before
    # Its own zone: a door on the sales floor's edge, its arming, its lockdown.
    exit_door = sales.post(
        f"/api/sites/{SITE_B}/doors/sales-exit/commands", json={"command": "unlock"}
    )
    assert exit_door.status_code == 200, exit_door.text
    armed = sales.put(f"/api/sites/{SITE_B}/zones/sales-floor/arming", json={"armed": True})
    assert armed.status_code == 200, armed.text
    # It reads the whole site: door states, the plan, an alarm in the vault's zone.
    assert sales.get(f"/api/sites/{SITE_B}/doors").status_code == 200
    assert sales.get(f"/api/sites/{SITE_B}").status_code == 200


def test_a_zone_limited_role_reads_an_alarm_elsewhere_but_cannot_work_it(estate, signed_in):
    _, b = estate
    sales = signed_in(Grant(Role.OPERATOR, SITE_B, frozenset({"sales-floor"})))
    assert sales.get(f"/api/alarms/{b.alarm}").status_code == 200
    assert sales.post(f"/api/alarms/{b.alarm}/acknowledge").status_code == 403
    whole = signed_in(Grant(Role.OPERATOR, SITE_B))
    assert whole.post(f"/api/alarms/{b.alarm}/acknowledge").status_code == 200


def test_a_record_out_of_sight_answers_like_one_that_does_not_exist(estate, signed_in):
    _, b = estate
    client = signed_in(Grant(Role.OPERATOR, SITE_A))
    theirs = client.get(f"/api/alarms/{b.alarm}")
    missing = client.get("/api/alarms/01J00000000000000000000000")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == f"no alarm {b.alarm!r}"
    assert missing.json()["detail"] == "no alarm '01J00000000000000000000000'"
    # Someone who reads that site but may not work alarms there is told so.
    auditor = signed_in(Grant(Role.AUDITOR, SITE_B))
    refused = auditor.post(f"/api/alarms/{b.alarm}/acknowledge")
    assert refused.status_code == 403 and "alarms:work" in refused.json()["detail"]


def test_zone_grants_are_stored_shown_and_bound_by_what_the_granter_holds(hub, estate, signed_in):
    admin = signed_in(Grant(Role.ADMIN))
    manager = signed_in(Grant(Role.SECURITY_MANAGER, SITE_B, frozenset({"sales-floor"})))
    with hub.db.unit_of_work() as session:
        target = service.create_user(
            session=session, username="newhire", password=PASSWORD, clock=hub.clock, context=CTX
        ).id
    granted = admin.post(
        f"/api/users/{target}/roles",
        json={"role": "operator", "site_id": SITE_B, "zone_ids": ["sales-floor"]},
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["roles"] == [
        {"role": "operator", "site_id": SITE_B, "zone_ids": ["sales-floor"]}
    ]
    with hub.db.sessions() as session:
        user = session.get(User, target)
        assert service.grants_of(user) == (
            Grant(Role.OPERATOR, SITE_B, frozenset({"sales-floor"})),
        )
    # A manager of the sales floor cannot hand out the whole site, nor act site-wide.
    whole = manager.post(f"/api/users/{target}/roles", json={"role": "hr", "site_id": SITE_B})
    assert whole.status_code == 403
    zones_without_site = admin.post(
        f"/api/users/{target}/roles", json={"role": "hr", "zone_ids": ["vault"]}
    )
    assert zones_without_site.status_code == 422


def test_records_of_every_site_are_read_anywhere_and_changed_only_by_every_site_grants(
    hub, estate, signed_in
):
    with hub.db.unit_of_work() as session:
        everywhere = employees.hire(
            session=session, name="Roving Auditor", site_id=None, context=CTX, now=hub.clock.now()
        ).id
    local_hr = signed_in(Grant(Role.HR, SITE_A))
    global_hr = signed_in(Grant(Role.HR))
    assert local_hr.get(f"/api/employees/{everywhere}").status_code == 200
    check = {"status": "not_required"}
    url = f"/api/employees/{everywhere}/background-check"
    assert local_hr.put(url, json=check).status_code == 403
    changed = global_hr.put(url, json=check)
    assert changed.status_code == 200, changed.text
    # Contacts and templates are shared by every site in the same way.
    manager = signed_in(Grant(Role.SECURITY_MANAGER, SITE_A))
    assert manager.get("/api/notify/contacts").status_code == 200
    contact = {"name": "Night desk", "channels": [{"kind": "webhook", "url": "json://h/x"}]}
    assert manager.post("/api/notify/contacts", json=contact).status_code == 403


async def test_the_live_stream_carries_only_the_callers_sites(app, hub, estate, database, clock):
    with database.unit_of_work() as session:
        user = service.create_user(
            session=session,
            username="watcher",
            password=PASSWORD,
            grants=[Grant(Role.OPERATOR, SITE_A)],
            clock=clock,
            context=CTX,
        )
        cookie = service.start_session(session=session, user=user, clock=clock, max_hours=12)

    async def watch() -> tuple[str, str, str]:
        """Read the stream until our site's event arrives, after the other site's."""
        received = bytearray()
        hello = asyncio.Event()
        done = asyncio.Event()
        ids: dict[str, str] = {}
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "https",
            "path": "/api/events/stream",
            "raw_path": b"/api/events/stream",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"cookie", f"bastion_session={cookie.token}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 443),
        }

        async def receive():
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.body":
                received.extend(message.get("body", b""))
                if b"event: hello" in received:
                    hello.set()
                if ids.get("ours") and ids["ours"].encode() in received:
                    done.set()

        task = asyncio.create_task(app(scope, receive, send))
        await asyncio.wait_for(hello.wait(), timeout=20)
        for key, site in (("theirs", SITE_B), ("ours", SITE_A)):
            event = await hub.bus.publish(
                EVENT_DOOR_COMMAND,
                DoorCommandPayload(door_id="d1", command="lock", reason=key),
                context=CTX,
                site=site,
            )
            ids[key] = event.id
        await asyncio.wait_for(done.wait(), timeout=20)
        await asyncio.wait_for(task, timeout=20)
        await hub.bus.close()
        return received.decode(), ids["theirs"], ids["ours"]

    text, theirs, ours = await watch()
    assert ours in text and theirs not in text
    frames = [
        json.loads(line.removeprefix("data:"))
        for line in text.splitlines()
        if line.startswith("data:") and "{" in line
    ]
    assert [f["id"] for f in frames if f] == [ours]
