"""Camera health from Frigate's per-role status topics and stats payload."""

from __future__ import annotations

import json

import pytest

from bastion.integrations.frigate.health import CameraHealth


@pytest.fixture
def health() -> CameraHealth:
    return CameraHealth(cameras={"front": "cam-front", "vault": "cam-vault-1"})


def _reports(outputs):
    return [
        (o.payload.device_id, o.payload.online, o.payload.degraded, o.payload.detail)
        for o in outputs
    ]


def test_a_role_offline_makes_the_camera_offline_until_every_role_is_back(health):
    assert _reports(health.on_status("front", "detect", "online")) == [
        ("cam-front", True, False, "streams online")
    ]
    assert health.on_status("front", "record", "online") == []
    assert _reports(health.on_status("front", "record", "offline")) == [
        ("cam-front", False, False, "record offline")
    ]
    assert _reports(health.on_status("front", "detect", "offline")) == [
        ("cam-front", False, False, "detect, record offline")
    ]
    health.on_status("front", "detect", "online")
    assert _reports(health.on_status("front", "record", "online"))[-1][1] is True


def test_stats_without_frames_or_skipping_most_of_them_are_degraded(health):
    stats = {
        "cameras": {
            "front": {"camera_fps": 0.0, "process_fps": 0.0, "skipped_fps": 0.0},
            "vault": {"camera_fps": 5.0, "process_fps": 1.0, "skipped_fps": 4.0},
        }
    }
    reports = _reports(health.on_stats(json.dumps(stats).encode()))
    assert reports == [
        ("cam-front", True, True, "camera delivers 0 fps"),
        ("cam-vault-1", True, True, "80% of frames skipped (4 fps)"),
    ]
    stats["cameras"]["vault"] = {"camera_fps": 5.0, "process_fps": 5.0, "skipped_fps": 0.0}
    assert _reports(health.on_stats(stats)) == [("cam-vault-1", True, False, "streams online")]
    # Old layout (cameras at the top level) is read too; nothing changed, nothing reported.
    assert health.on_stats({"vault": stats["cameras"]["vault"]}) == []


def test_bad_stats_and_status_are_one_warning_each_and_change_nothing(health, caplog):
    for payload in (
        b"{not json",
        b"[1,2]",
        json.dumps({"cameras": {"front": {"fps": 1}}}).encode(),
    ):
        assert health.on_stats(payload) == []
        assert health.on_stats(payload) == []
    assert health.on_status("front", "record", "sort of") == []
    assert health.on_status("nope", "record", "online") == []
    assert health.rejected == 8
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 5
    assert any("health stays unknown" in w for w in warnings)
