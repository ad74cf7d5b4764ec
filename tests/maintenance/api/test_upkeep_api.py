"""The upkeep API over HTTP: site-scoped guards, recording report, view checks, walk tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import pytest

from bastion.auth.permissions import Role
from bastion.maintenance.settings import SETTINGS_KEY, SiteUpkeep
from bastion.site.loader import load_site_file
from tests.conftest import EXAMPLES
from tests.maintenance import frames as footage
from tests.maintenance.standin import frigate

__all__ = ["frigate"]
SITE = "dispensary-main"
OTHER = "cultivation-main"
BASE = f"/api/sites/{SITE}/upkeep"
START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def estate(site_hub, frigate):
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    site_hub.extras["sites"][OTHER] = cultivation
    frigate.gap = (START.timestamp() + 600, START.timestamp() + 660)
    site_hub.extras[SETTINGS_KEY] = {SITE: SiteUpkeep(frigate_url=frigate.url)}
    return site_hub


def _jpeg(image) -> bytes:
    _, data = cv2.imencode(".jpg", image)
    return data.tobytes()


def test_a_manager_of_another_site_cannot_touch_this_sites_upkeep(estate, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    started = manager.post(f"{BASE}/walk-tests", json={"zone_id": "vault", "minutes": 10})
    assert started.status_code == 201, started.text
    test_id = started.json()["id"]
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id=OTHER)
    assert elsewhere.post(f"{BASE}/walk-tests", json={"zone_id": "vault"}).status_code == 403
    assert elsewhere.post(f"{BASE}/walk-tests/{test_id}/cancel").status_code == 403
    assert elsewhere.get(f"{BASE}/walk-tests/{test_id}").status_code == 403
    assert elsewhere.get(f"{BASE}/health").status_code == 403
    # Naming this site's walk test under the other site's path finds nothing.
    assert elsewhere.get(f"/api/sites/{OTHER}/upkeep/walk-tests/{test_id}").status_code == 404
    assert (
        elsewhere.post(f"/api/sites/{OTHER}/upkeep/walk-tests/{test_id}/cancel").status_code == 404
    )
    done = manager.post(f"{BASE}/walk-tests/{test_id}/cancel")
    assert done.status_code == 200 and done.json()["state"] == "cancelled"


def test_an_operator_reads_health_but_cannot_start_tests_or_change_assets(estate, client_for):
    operator = client_for(Role.OPERATOR, site_id=SITE)
    board = operator.get(f"{BASE}/health", params={"days": 2})
    assert board.status_code == 200
    rows = {r["device_id"]: r for r in board.json()}
    assert rows["cam-vault-1"]["kind"] == "camera" and rows["cam-vault-1"]["uptime_pct"] == 100
    assert len(rows["cam-vault-1"]["days"]) in (2, 3)
    csv = operator.get(f"{BASE}/health.csv")
    assert csv.status_code == 200 and csv.text.startswith("device,name,kind,day")
    assert operator.post(f"{BASE}/walk-tests", json={"zone_id": "vault"}).status_code == 403
    assert operator.patch(f"{BASE}/assets/cam-vault-1", json={"model": "x"}).status_code == 403


def test_a_recording_check_reports_cameras_and_required_areas(estate, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    body = {
        "camera_ids": ["cam-vault-1", "cam-vault-2"],
        "start": START.isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
    }
    reply = manager.post(f"{BASE}/recordings/check", json=body)
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert [c["state"] for c in result["cameras"]] == ["gaps", "gaps"]
    vault = next(a for a in result["areas"] if a["zone_id"] == "vault")
    assert vault["state"] == "gaps" and vault["gaps"] == [
        [START.timestamp() + 600, START.timestamp() + 660]
    ]
    lobby = next(a for a in result["areas"] if a["zone_id"] == "lobby")
    assert lobby["state"] == "unknown"  # its cameras were not part of this check
    listed = manager.get(f"{BASE}/recordings", params={"camera_id": "cam-vault-1"}).json()
    assert [r["id"] for r in listed] == [result["cameras"][0]["id"]]
    bad = manager.post(f"{BASE}/recordings/check", json={**body, "end": body["start"]})
    assert bad.status_code == 422 and "must end after" in bad.text
    unknown = manager.post(f"{BASE}/recordings/check", json={**body, "camera_ids": ["cash-pir"]})
    assert unknown.status_code == 422 and "not a camera" in unknown.text


def test_view_checks_over_http_keep_and_serve_both_images(estate, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    reference = _jpeg(footage.frames()[0])
    path = f"{BASE}/views/cam-dock-apron"
    garbage = manager.post(
        f"{path}/reference", content=b"hello", headers={"content-type": "image/jpeg"}
    )
    assert garbage.status_code == 422 and "usable reference" in garbage.text
    ok = manager.post(
        f"{path}/reference", content=reference, headers={"content-type": "image/jpeg"}
    )
    assert ok.status_code == 204, ok.text
    moved = _jpeg(footage.shifted(footage.frames()[1]))
    reply = manager.post(f"{path}/check", content=moved, headers={"content-type": "image/jpeg"})
    assert reply.status_code == 200, reply.text
    check = reply.json()
    assert check["verdict"] == "moved"
    image = manager.get(f"{BASE}/views/{check['id']}/snapshot.jpg")
    assert image.status_code == 200 and image.content == moved
    assert manager.get(f"{BASE}/views/{check['id']}/reference.jpg").content == reference
    other = client_for(Role.SECURITY_MANAGER, site_id=OTHER)
    assert (
        other.get(f"/api/sites/{OTHER}/upkeep/views/{check['id']}/snapshot.jpg").status_code == 404
    )


def test_schedules_work_orders_and_assets_over_http(estate, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    assert len(manager.post(f"{BASE}/schedules/defaults").json()) == 6
    bad = manager.post(f"{BASE}/schedules", json={"task": "dance"})
    assert bad.status_code == 422 and "unknown task" in bad.text
    changed = manager.patch(
        f"{BASE}/assets/cam-vault-1", json={"model": "Axis Q3538", "end_of_life": "2025-12-31"}
    )
    assert changed.status_code == 200 and changed.json()["model"] == "Axis Q3538"
    # A text field sent as null clears it (schemathesis found a 500 here).
    cleared = manager.patch(f"{BASE}/assets/cam-vault-1", json={"firmware": None, "model": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["model"], cleared.json()["firmware"]) == ("", "")
    manager.patch(f"{BASE}/assets/cam-vault-1", json={"model": "Axis Q3538"})
    assets = manager.get(f"{BASE}/assets").json()
    assert len(assets) == len(estate.extras["sites"][SITE].devices)
    upgrades = manager.get(f"{BASE}/upgrades").json()
    assert [u["device_id"] for u in upgrades] == ["cam-vault-1"]


def test_the_hardening_score_is_read_and_recorded_at_its_site_only(estate, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)  # enrolled in TOTP
    client_for(Role.OPERATOR, site_id=SITE)  # signs in with a password alone
    now = manager.get(f"{BASE}/hardening")
    assert now.status_code == 200
    body = now.json()
    assert 0 <= body["score"] <= 100 and body["trend"] == []
    assert any(f["kind"] == "operator_without_totp" for f in body["findings"])
    recorded = manager.post(f"{BASE}/hardening").json()
    assert [s for _, s in recorded["trend"]] == [recorded["score"]]
    assert len(manager.get(f"{BASE}/hardening").json()["trend"]) == 1
    other = client_for(Role.SECURITY_MANAGER, site_id=OTHER)
    assert other.get(f"{BASE}/hardening").status_code == 403
    assert other.post(f"{BASE}/hardening").status_code == 403
