"""Alarm-flood control in the console: counts, bulk acknowledge, filters, standing banner."""

from __future__ import annotations

import json
import re

from bastion.alarms.models import Alarm
from bastion.auth.permissions import Role
from bastion.core.events import EVENT_DOOR_FORCED, DoorPayload
from tests.web.test_web_console import app, publish, raise_direct, wait_for_alarm

__all__ = ["app"]

SITE = "dispensary-main"


def _state(hub, alarm_id: str) -> str:
    with hub.db.sessions() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        return alarm.state


def test_a_storm_shows_as_one_alarm_counted_on_queue_list_and_page(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    for _ in range(50):
        publish(
            client,
            EVENT_DOOR_FORCED,
            DoorPayload(door_id="lot-gate", state="forced", zone_id="parking"),
        )
    alarm = wait_for_alarm(site_hub, lambda a: a.occurrences == 50)
    with site_hub.db.sessions() as session:
        assert session.query(Alarm).count() == 1
    assert "×50" in client.get("/console").text
    listing = client.get("/console/alarms").text
    assert len(re.findall(r'<tr class="prio-\d" data-alarm-id=', listing)) == 1
    assert "×50" in listing
    page = client.get(f"/console/alarms/{alarm.id}").text
    assert 'id="alarm-count">×50<' in page and "raised 50 times" in page
    # The repeats kept as evidence read as events with their time, never as bare ids.
    evidence = page.split("<h3>Events</h3>", 1)[1].split("</ul>", 1)[0]
    assert "<b>door.forced</b>" in evidence and "(repeat 2)" in evidence
    assert not re.search(r"<code>[0-9A-Z]{26}</code>", evidence)


def test_bulk_acknowledge_over_the_api_needs_a_reason_and_records_it(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    ids = [
        raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate"),
        raise_direct(site_hub, "door_forced", zone="loading-dock", door="dock-door"),
        raise_direct(site_hub, "door_held", zone="lobby", door="front-entry"),
    ]
    refused = client.post("/api/alarms/bulk-acknowledge", json={"alarm_ids": ids, "reason": " "})
    assert refused.status_code == 422, refused.text
    assert {_state(site_hub, i) for i in ids} == {"raised"}
    done = client.post(
        "/api/alarms/bulk-acknowledge", json={"alarm_ids": ids, "reason": "panel fault"}
    )
    assert done.status_code == 200, done.text
    assert sorted(done.json()["acknowledged"]) == sorted(ids)
    again = client.post("/api/alarms/bulk-acknowledge", json={"alarm_ids": ids[:1], "reason": "x"})
    assert again.json() == {"acknowledged": [], "skipped": {ids[0]: "already acknowledged"}}
    rows = site_hub.ledger.query(types=["alarm.state"], limit=10)
    reasons = [json.loads(r.payload)["reason"] for r in rows]
    assert reasons.count("panel fault") == 3


def test_an_operator_of_another_site_cannot_bulk_acknowledge_this_sites_alarms(
    client_for, site_hub
):
    mine = raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate")
    other = client_for(Role.OPERATOR, site_id="cultivation-main")
    answer = other.post(
        "/api/alarms/bulk-acknowledge", json={"alarm_ids": [mine], "reason": "not mine"}
    )
    assert answer.status_code == 404, answer.text
    form = other.post(
        "/console/alarms/acknowledge",
        data={"alarm_id": [mine], "reason": "not mine"},
        follow_redirects=False,
    )
    assert form.status_code == 404
    assert _state(site_hub, mine) == "raised"
    # An auditor of this site sees it but may not work it: refused, nothing changes.
    auditor = client_for(Role.AUDITOR)
    answer = auditor.post("/api/alarms/bulk-acknowledge", json={"alarm_ids": [mine], "reason": "x"})
    assert answer.status_code == 403
    assert _state(site_hub, mine) == "raised"


def test_the_queue_form_acknowledges_ticked_alarms_and_keeps_input_on_error(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    a = raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate")
    b = raise_direct(site_hub, "door_forced", zone="loading-dock", door="dock-door")
    listing = client.get("/console/alarms").text
    assert f'name="alarm_id" value="{a}"' in listing and 'id="bulk-reason"' in listing
    missing = client.post(
        "/console/alarms/acknowledge",
        data={"alarm_id": [a, b], "reason": "", "priority": "2"},
        follow_redirects=False,
    )
    assert missing.status_code == 422
    assert "give a reason" in missing.text
    assert f'value="{a}" id="pick-{a}" aria-label="Select: door_forced" checked' in missing.text
    assert '<option value="2" selected>' in missing.text
    done = client.post(
        "/console/alarms/acknowledge",
        data={"alarm_id": [a, b], "reason": "drill", "priority": "2"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/console/alarms?state=open&priority=2&done=2"
    assert "2 alarms acknowledged" in client.get(done.headers["location"]).text
    assert {_state(site_hub, a), _state(site_hub, b)} == {"acknowledged"}


def test_priority_and_zone_filters_narrow_the_queue_and_keep_their_values(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    forced = raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate")
    held = raise_direct(site_hub, "door_held", zone="lobby", door="front-entry")

    def shown(url: str) -> set[str]:
        return set(re.findall(r'<tr class="prio-\d" data-alarm-id="([^"]+)"', client.get(url).text))

    assert shown("/console/alarms") == {forced, held}
    assert shown("/console/alarms?priority=2") == {forced}
    assert shown("/console/alarms?zone=lobby") == {held}
    assert shown("/console/alarms?priority=2&zone=lobby") == set()
    page = client.get("/console/alarms?priority=2&zone=lobby").text
    assert '<option value="2" selected>' in page and '<option value="lobby" selected>' in page
    assert "match these filters" in page
    api = client.get("/api/alarms", params={"priority": 4, "zone": "lobby"}).json()
    assert [a["id"] for a in api] == [held]


def test_every_page_shows_lockdown_and_raised_threat_with_who_and_when(client_for, site_hub):
    operator = client_for(Role.OPERATOR)
    assert 'class="standing ' not in operator.get("/console/alarms").text
    started = operator.post(
        f"/api/sites/{SITE}/zones/vault/lockdown", json={"active": True, "reason": "drill"}
    )
    assert started.status_code == 200, started.text
    admin = client_for(Role.ADMIN)
    raised = admin.put("/api/threat-level", json={"level": 2, "name": "elevated"})
    assert raised.status_code == 200, raised.text
    me, boss = "operator-0", "admin-1"  # the accounts client_for made, in order
    for url in ("/console", "/console/alarms", "/console/events", "/console/people"):
        page = operator.get(url).text
        banner = page[
            page.index('id="standing"') : page.index("</div>", page.index('id="standing"'))
        ]
        assert "Lockdown of Vault" in banner and f"set by {me}" in banner, url
        assert "Threat level elevated (2)" in banner and f"set by {boss}" in banner, url
        assert re.search(r"at \d{4}-\d\d-\d\d \d\d:\d\d C[SD]T", banner), banner
    # Someone of another site sees neither this site's lockdown nor its threat level.
    other = client_for(Role.OPERATOR, site_id="cultivation-main")
    assert "Lockdown of Vault" not in other.get("/console/alarms").text
    lifted = operator.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={"active": False})
    assert lifted.status_code == 200
    normal = admin.put("/api/threat-level", json={"level": 0})
    assert normal.status_code == 200
    assert 'class="standing ' not in operator.get("/console/alarms").text
