"""Transport routes: permissions at the site, hidden plans, refusals, bad bodies."""

from __future__ import annotations

from datetime import timedelta

from bastion.auth.permissions import Role
from bastion.site import service as site_service
from tests.pdf_support import pdf_text
from tests.transport.conftest import CTX, SITE
from tests.transport.route_data import DESTINATION, ROUTE

BASE = f"/api/sites/{SITE}/transport"


def _trip_body(fleet, clock, minutes=0):
    start = clock.now() + timedelta(minutes=minutes)
    return {
        "kind": "product",
        "vehicle_id": fleet.van,
        "destination": DESTINATION["name"],
        "destination_licence": "IL-DISP-0001",
        "crew": [fleet.driver_a, fleet.driver_b],
        "lines": [
            {
                "kind": "package",
                "description": "Flower",
                "quantity": 10,
                "unit": "g",
                "ref": "PKG-1",
            }
        ],
        "windows": [{"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}],
        "duration_minutes": 30,
        "stops": [DESTINATION],
    }


def test_dispatcher_plans_and_departs_operator_sees_only_after(client_for, fleet, clock):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    operator = client_for(Role.OPERATOR, site_id=SITE)
    reply = manager.post(f"{BASE}/trips", json=_trip_body(fleet, clock))
    assert reply.status_code == 201, reply.text
    trip = reply.json()
    assert trip["status"] == "planned" and trip["crew_names"] == ["Alice Driver", "Bob Guard"]
    assert operator.get(f"{BASE}/trips").json() == []
    assert operator.get(f"{BASE}/trips/{trip['id']}").status_code == 404
    assert operator.get(f"{BASE}/routes").status_code == 403
    assert operator.post(f"{BASE}/trips/{trip['id']}/depart").status_code == 403
    reply = manager.post(f"{BASE}/trips/{trip['id']}/depart")
    assert reply.status_code == 200 and reply.json()["manifest_digest"]
    assert [t["id"] for t in operator.get(f"{BASE}/trips").json()] == [trip["id"]]
    late = manager.post(
        f"{BASE}/trips/{trip['id']}/lines", json={"kind": "free", "description": "x", "quantity": 1}
    )
    assert late.status_code == 409 and "frozen" in late.json()["detail"]
    assert len(manager.get(f"{BASE}/trips/{trip['id']}").json()["lines"]) == 1
    assert operator.get(f"{BASE}/gps").status_code == 200
    pdf = operator.get(f"{BASE}/trips/{trip['id']}/manifest.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    printed = pdf_text(pdf.content)  # departed at the frozen 15:00 UTC: 08:00 in Denver
    assert "2026-03-07 08:00 MST" in printed and "15:00" not in printed


def test_bad_bodies_get_plain_errors(client_for, fleet, clock):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    one_point = {"name": "x", "destination": "y", "points": [ROUTE[0]], "width_m": 50}
    reply = manager.post(f"{BASE}/routes", json=one_point)
    assert reply.status_code == 422 and "two different points" in reply.text
    reply = manager.post(f"{BASE}/routes", json={**one_point, "points": [[1, 2], ["a", 3]]})
    assert reply.status_code == 422
    body = _trip_body(fleet, clock)
    body["crew"] = [fleet.driver_a]
    body["kind"] = "cash"
    body["lines"] = [{"kind": "free", "description": "Cash", "quantity": 1}]
    reply = manager.post(f"{BASE}/trips", json=body)
    assert reply.status_code == 422 and "two-person" in reply.text
    reply = manager.post(
        f"{BASE}/vehicles", json={"name": "V", "plate": "P", "tracker_id": "alice/van1"}
    )
    assert reply.status_code == 409 and "already fitted" in reply.text


def test_operator_of_another_site_cannot_read_or_act(client_for, fleet, clock, hub, dispensary):
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
    hub.extras["sites"][dispensary.site.id] = dispensary
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    trip = manager.post(f"{BASE}/trips", json=_trip_body(fleet, clock)).json()
    manager.post(f"{BASE}/trips/{trip['id']}/depart")
    other = client_for(Role.SECURITY_MANAGER, site_id=dispensary.site.id)
    assert other.get(f"{BASE}/trips").status_code == 403
    assert other.get(f"{BASE}/trips/{trip['id']}").status_code == 403
    assert other.post(f"{BASE}/trips/{trip['id']}/cancel", json={"reason": "x"}).status_code == 403
    # naming the trip under one's own site does not reach it either
    own = f"/api/sites/{dispensary.site.id}/transport/trips/{trip['id']}"
    assert other.get(own).status_code == 404
    assert (
        other.post(
            f"{own}/lines", json={"kind": "free", "description": "x", "quantity": 1}
        ).status_code
        == 404
    )
