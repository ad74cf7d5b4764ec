"""Break one thing per check kind in a copy of the example dispensary and see the rule fail."""

from __future__ import annotations

from datetime import timedelta

from bastion.compliance import engine
from bastion.compliance.packs import builtin_pack
from bastion.compliance.profile import Profile
from bastion.compliance.records import Record, Records
from bastion.site.loader import load_site
from bastion.site.schemas import Site

from .conftest import EXAMPLES, NOW


def _site(edit: tuple[str, str] | None = None) -> Site:
    text = (EXAMPLES / "dispensary.yaml").read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    return load_site(text, source="copy.yaml")


NO_RECORDS = Records()


def _status(state: str, site: Site, profile: Profile, records: Records = NO_RECORDS) -> dict:
    report = engine.run(
        pack=builtin_pack(state), site=site, profile=profile, records=records, now=NOW
    )
    return {f.rule: f for f in report.findings}


def test_the_example_dispensary_against_illinois(dispensary_profile) -> None:
    found = _status("IL", _site(), dispensary_profile)
    failed = sorted(rule for rule, f in found.items() if f.status == "fail")
    # The dock roll-up door has no contact sensor in the site model: a real gap.
    assert failed == ["IL-ALM-001"]
    assert "dock-rollup" in found["IL-ALM-001"].evidence[0]
    assert found["IL-VID-005"].status == "pass"
    assert found["IL-INV-001"].status == "unknown"  # no records given


def test_site_model_check_fails_when_the_vault_loses_its_cameras(dispensary_profile) -> None:
    site = _site(("    covers: [vault]\n", "    covers: [back-of-house]\n"))
    found = _status("IL", site, dispensary_profile)
    assert found["IL-VID-005"].status == "fail"
    assert any(
        "vault zone vault is covered by no camera" in e for e in found["IL-VID-005"].evidence
    )


def test_site_model_check_fails_when_the_vault_is_not_always_armed(dispensary_profile) -> None:
    text_edit = (
        "    camera_required: true\n    always_armed: true\n    traversal_s: 3\n",
        "    camera_required: true\n    traversal_s: 3\n",
    )
    found = _status("IL", _site(text_edit), dispensary_profile)
    assert found["IL-SEC-003"].status == "fail"


def test_window_without_glass_break_fails(dispensary_profile) -> None:
    site = _site(
        ("  - {id: lobby-gb, type: glass_break, zone: lobby, name: Lobby storefront}\n", "")
    )
    assert _status("IL", site, dispensary_profile)["IL-ALM-002"].status == "fail"


def test_settings_check_fails_on_short_video_retention(dispensary_profile) -> None:
    profile = dispensary_profile.model_copy(
        update={"video": dispensary_profile.video.model_copy(update={"retention_days": 30})}
    )
    found = _status("IL", _site(), profile)
    assert found["IL-VID-003"].status == "fail"
    assert "kept 30 days < 90" in found["IL-VID-003"].evidence[0]


def test_camera_frame_rate_and_resolution_per_state(dispensary_profile) -> None:
    found = _status("NV", _site(), dispensary_profile)
    # Nevada wants 1920×1080: the lot PTZ records 1280×720.
    assert found["NV-VID-001"].status == "fail"
    assert found["NV-VID-001"].evidence == ["cam-lot-ptz: 1280×720 < 1920×1080"]
    assert _status("NV", _site(), Profile())["NV-VID-001"].status == "unknown"


def test_records_checks_need_records_and_judge_their_age(dispensary_profile) -> None:
    fresh = Records(
        items=(Record(kind="inventory_count", at=NOW - timedelta(hours=20), by="Ana"),),
        available=True,
    )
    stale = Records(
        items=(Record(kind="inventory_count", at=NOW - timedelta(days=3), by="Ana"),),
        available=True,
    )
    assert _status("IL", _site(), dispensary_profile, fresh)["IL-INV-001"].status == "pass"
    assert _status("IL", _site(), dispensary_profile, stale)["IL-INV-001"].status == "fail"
    assert (
        _status("IL", _site(), dispensary_profile, Records(available=True))["IL-INV-001"].status
        == "fail"
    )


def test_incident_notified_late_fails_the_deadline_rule(dispensary_profile) -> None:
    late = Record(
        kind="incident",
        at=NOW - timedelta(days=2),
        ref="INC-7",
        detail={
            "type": "theft",
            "discovered_at": (NOW - timedelta(days=2)).isoformat(),
            "notified_at": (NOW - timedelta(hours=1)).isoformat(),
        },
    )
    found = _status("CA", _site(), dispensary_profile, Records(items=(late,), available=True))
    assert found["CA-INC-001"].status == "fail"
    assert "INC-7: notified late" in found["CA-INC-001"].evidence[0]


def test_visitor_log_missing_fields_fails(dispensary_profile) -> None:
    visit = Record(kind="visit", at=NOW, ref="V1", detail={"name": "x", "purpose": "repair"})
    found = _status("WA", _site(), dispensary_profile, Records(items=(visit,), available=True))
    assert found["WA-VIS-001"].status == "fail"
    assert "badge_number" in found["WA-VIS-001"].evidence[0]


def test_manual_rule_waits_for_an_attestation_with_a_document(dispensary_profile) -> None:
    assert _status("WA", _site(), dispensary_profile)["WA-BDG-001"].status == "manual"
    signed = Record(
        kind="attestation",
        at=NOW - timedelta(days=10),
        by="Compliance Officer",
        rule="WA-BDG-001",
        detail={"document": "badges-2026.pdf"},
    )
    found = _status("WA", _site(), dispensary_profile, Records(items=(signed,), available=True))
    assert found["WA-BDG-001"].status == "pass"
    assert "badges-2026.pdf" in found["WA-BDG-001"].evidence[0]


def _profile_with(base: Profile, **sections: dict) -> Profile:
    data = base.model_dump()
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(data[key], dict) else value
    return Profile.model_validate(data)


PANICS = (
    "  - {id: counter-panic-1, type: panic, zone: sales-floor, name: Sales counter left}\n"
    "  - {id: counter-panic-2, type: panic, zone: sales-floor, name: Sales counter right}\n"
    "  - {id: checkin-panic, type: panic, zone: lobby, name: Check-in desk}\n"
    "  - {id: cash-panic, type: panic, zone: cash-room, name: Cash counting table}\n"
)
LAPSED = Record(
    kind="training",
    at=NOW - timedelta(days=400),
    ref="person P1",
    detail={"course": "security", "expires_at": (NOW - timedelta(days=35)).isoformat()},
)


def test_every_check_kind_fails_when_its_one_fact_is_broken(dispensary_profile) -> None:
    """For each check kind: the example passes the rule, one broken fact makes it fail."""
    good = _site()
    cases = [
        # (state, rule, broken site edit or None, profile change, records)
        (
            "WA",
            "WA-ALM-001",
            ("  - {id: front-entry-dc, type: contact, door: front-entry}\n", ""),
            {},
            None,
        ),
        ("IL", "IL-SEC-002", None, {"doors": {"front-entry": {"lock": "electric"}}}, None),
        ("OR", "OR-VID-006", None, {"power": {"backup_minutes": 10}}, None),
        ("MA", "MA-ALM-001", (PANICS, ""), {}, None),
        ("CO", "CO-ALM-003", None, {"alarm": {"monitored": False}}, None),
        ("WA", "WA-VID-002", None, {"cameras": {"cam-vault-1": {"fps": 5}}}, None),
        ("OR", "OR-VID-004", None, {"video": {"offsite_backup_days": 10}}, None),
        ("MA", "MA-VID-002", None, {"video": {"failure_alert_minutes": 30}}, None),
        ("WA", "WA-VIS-002", None, {"retention": {"visitor_log": 30}}, None),
        ("CA", "CA-TT-003", None, {}, LAPSED),
    ]
    fine = _profile_with(
        dispensary_profile,
        power={"backup_minutes": 600},
        video={"offsite_backup_days": 30},
        barrier_sensors={"dock-rollup": ["contact"]},  # the fix for the one real finding
    )
    kinds = set()
    for state, rule, edit, change, record in cases:
        fresh = Record(
            kind="training",
            at=NOW - timedelta(days=10),
            ref="person P1",
            detail={"course": "security", "expires_at": (NOW + timedelta(days=300)).isoformat()},
        )
        before = _status(state, good, fine, Records(items=(fresh,), available=True))[rule]
        assert before.status == "pass", (rule, before.evidence)
        site = _site(edit) if edit else good
        broken_profile = _profile_with(fine, **change) if change else fine
        records = Records(items=(record or fresh,), available=True)
        after = _status(state, site, broken_profile, records)[rule]
        assert after.status == "fail", (rule, after.evidence)
        kinds.add(after.kind)
    assert kinds == {
        "perimeter_contacts",
        "exterior_locks",
        "backup_power",
        "panic_alarm",
        "profile_fact",
        "camera_fps",
        "offsite_backup",
        "failure_alert",
        "record_retention",
        "training_current",
    }


def test_profile_ids_the_site_does_not_have_are_reported(dispensary_profile) -> None:
    profile = _profile_with(
        dispensary_profile, zones={"pos": ["sales-flor"]}, cameras={"cam-x": {"fps": 30}}
    )
    report = engine.run(
        pack=builtin_pack("IL"), site=_site(), profile=profile, records=NO_RECORDS, now=NOW
    )
    assert "profile: zones.pos names unknown zone 'sales-flor'" in report.problems
    assert "profile: cameras names unknown camera 'cam-x'" in report.problems
