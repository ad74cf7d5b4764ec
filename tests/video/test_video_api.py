"""The video routes: who sees and changes what, bad input, and no reach into another site."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.people import employees
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.video.models import VideoCamera, VideoDetection
from tests.conftest import EXAMPLES

CTX = Context(actor="test")
DISP = "dispensary-main"
CULT = "cultivation-main"
BASE = f"/api/sites/{DISP}/video"


@pytest.fixture
def sites(hub, clock):
    loaded = {}
    with hub.unit_of_work() as session:
        for name in ("dispensary", "cultivation"):
            site = load_site_file(EXAMPLES / f"{name}.yaml")
            site_service.import_site(session=session, site=site, context=CTX, now=clock.now())
            loaded[site.site.id] = site
        person = employees.hire(
            session=session, name="Alice Moreau", site_id=DISP, context=CTX, now=clock.now()
        )
    hub.extras["sites"] = loaded
    return person.id


RULE = {
    "name": "Vault door loitering",
    "kind": "loitering",
    "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]],
    "seconds": 20,
    "zone_id": "parking",
}


def test_a_manager_sets_up_a_camera_and_rules_and_an_operator_reads_them(sites, client_for, hub):
    manager = client_for(Role.SECURITY_MANAGER, site_id=DISP)
    operator = client_for(Role.OPERATOR, site_id=DISP)
    put = manager.put(
        f"{BASE}/cameras/cam-lot-east",
        json={"source": "rtsp://admin:hunter2@10.0.0.5/sub", "fps": 5},
    )
    assert put.status_code == 200, put.text
    assert put.json()["name"] == "Lot east corner"
    assert "hunter2" not in put.text
    rule = manager.post(f"{BASE}/cameras/cam-lot-east/rules", json=RULE)
    assert rule.status_code == 201, rule.text
    assert rule.json()["zone_name"] == "Parking lot and apron"
    listed = operator.get(f"{BASE}/cameras").json()
    assert [c["camera_id"] for c in listed] == ["cam-lot-east"] and listed[0]["rules"] == 1
    assert "hunter2" not in operator.get(f"{BASE}/cameras").text
    assert operator.get(f"{BASE}/rules").json()[0]["name"] == "Vault door loitering"
    assert operator.put(f"{BASE}/cameras/cam-lot-east", json={"source": "x"}).status_code == 403
    with hub.db.sessions() as session:
        stored = session.scalars(select(VideoCamera)).one()
        assert stored.source.startswith("rtsp://")
        raw = session.execute(text("SELECT source FROM video_cameras")).scalar_one()
    assert "hunter2" not in raw  # encrypted at rest
    removed = manager.delete(f"{BASE}/rules/{rule.json()['id']}")
    assert removed.status_code == 204
    assert operator.get(f"{BASE}/rules").json() == []


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("cameras/lot-gate-rdr-in", {"source": "x"}, "not a camera"),
        ("cameras/no-such-camera", {"source": "x"}, "no camera"),
        ("cameras/cam-lot-east", {"source": "x", "fps": 0}, "fps"),
        ("cameras/cam-lot-east", {"source": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_camera_input_is_refused_in_plain_words(sites, client_for, path, body, words):
    manager = client_for(Role.SECURITY_MANAGER, site_id=DISP)
    reply = manager.put(f"{BASE}/{path}", json=body)
    assert reply.status_code in (404, 422), reply.text
    assert words in reply.text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"points": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]}, "0 to 1"),
        ({"kind": "line"}, "exactly two points"),
        ({"kind": "after_hours"}, "start and an end"),
        ({"zone_id": "moon-base"}, "no zone"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_stored(sites, client_for, change, words):
    manager = client_for(Role.SECURITY_MANAGER, site_id=DISP)
    manager.put(f"{BASE}/cameras/cam-lot-east", json={"source": "x"})
    reply = manager.post(f"{BASE}/cameras/cam-lot-east/rules", json={**RULE, **change})
    assert reply.status_code == 422, reply.text
    assert words in reply.text
    assert manager.get(f"{BASE}/rules").json() == []


def test_enrolment_needs_consent_and_keeps_no_reference_in_clear(sites, client_for, hub):
    person = sites
    hr = client_for(Role.HR, site_id=DISP)
    body = {"person_id": person, "kind": "face", "reference": "alice.m"}
    refused = hr.post(f"{BASE}/biometrics", json={**body, "consent": False})
    assert refused.status_code == 422 and "consent" in refused.text
    made = hr.post(f"{BASE}/biometrics", json={**body, "consent": True})
    assert made.status_code == 201, made.text
    assert made.json()["person_name"] == "Alice Moreau" and "alice.m" not in made.text
    again = hr.post(f"{BASE}/biometrics", json={**body, "consent": True})
    assert again.status_code == 409
    with hub.db.sessions() as session:
        raw = session.execute(text("SELECT reference, match_hash FROM biometric_enrolments")).one()
    assert "alice.m" not in raw[0] and "alice.m" not in raw[1]
    revoked = hr.post(f"{BASE}/biometrics/{made.json()['id']}/revoke")
    assert revoked.json()["revoked"] is True
    operator = client_for(Role.OPERATOR, site_id=DISP)
    assert operator.get(f"{BASE}/biometrics").status_code == 403


def test_an_operator_of_one_site_cannot_read_or_act_on_another(sites, client_for, hub, clock):
    with hub.unit_of_work() as session:
        session.add(
            VideoDetection(
                id="01JTESTDETECTION0000000000",
                site_id=DISP,
                camera_id="cam-lot-east",
                kind="loitering",
                label="person",
                track=1,
                score=0.8,
                box=[1, 2, 3, 4],
                detail="",
                snapshot="01JTESTDETECTION0000000000.jpg",
                at=clock.now(),
            )
        )
    stranger = client_for(Role.OPERATOR, site_id=CULT)
    boss = client_for(Role.SECURITY_MANAGER, site_id=CULT)
    assert stranger.get(f"{BASE}/cameras").status_code == 403
    assert stranger.get(f"{BASE}/detections").status_code == 403
    assert (
        stranger.get(f"{BASE}/detections/01JTESTDETECTION0000000000/snapshot.jpg").status_code
        == 403
    )
    cross = f"/api/sites/{CULT}/video/detections/01JTESTDETECTION0000000000/snapshot.jpg"
    assert stranger.get(cross).status_code == 404
    assert boss.put(f"{BASE}/cameras/cam-lot-east", json={"source": "x"}).status_code == 403
    assert (
        boss.put(f"{BASE}/face-doors/vault-door", json={"camera_id": "cam-vault-1"}).status_code
        == 403
    )
    own = boss.get(f"/api/sites/{CULT}/video/detections")
    assert own.status_code == 200 and own.json() == []


def test_a_face_door_is_a_door_policy(sites, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=DISP)
    made = manager.put(
        f"{BASE}/face-doors/vault-door", json={"camera_id": "cam-vault-1", "window_s": 8}
    )
    assert made.status_code == 200, made.text
    assert manager.get(f"{BASE}/face-doors").json()[0]["window_s"] == 8
    wrong = manager.put(f"{BASE}/face-doors/vault-door", json={"camera_id": "vault-pir-1"})
    assert wrong.status_code == 422 and "not a camera" in wrong.text
