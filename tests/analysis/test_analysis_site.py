from pathlib import Path

import pytest

from bastion.analysis.asd import build_asd, site_mvp
from bastion.analysis.coverage import camera_coverage
from bastion.analysis.easi import EasiOptions, Response
from bastion.analysis.whatif import (
    AddSensor,
    ChangeResponse,
    Upgrade,
    UpgradeConstruction,
    greedy_plan,
    rank_upgrades,
)
from bastion.core.errors import InvalidInput
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPTIONS = EasiOptions(Response(300.0, 90.0), 0.95)


def small_site(**extra: object) -> Site:
    data: dict[str, object] = {
        "site": {"id": "s", "name": "S", "timezone": "UTC"},
        "zones": [
            {
                "id": "yard",
                "name": "Yard",
                "layer": "perimeter",
                "traversal_s": 20,
                "area": {"x": 0, "y": 0, "width": 10, "height": 10},
                "camera_required": True,
            },
            {
                "id": "vault",
                "name": "Vault",
                "layer": "vault",
                "traversal_s": 5,
                "area": {"x": 40, "y": 0, "width": 4, "height": 4},
                "camera_required": True,
            },
            {"id": "island", "name": "Island", "layer": "interior"},
        ],
        "doors": [
            {"id": "gate", "name": "Gate", "from": "outside", "to": "yard", "kind": "gate"},
            {
                "id": "vdoor",
                "name": "Vault door",
                "from": "yard",
                "to": "vault",
                "construction": "hollow_metal_door",
            },
        ],
        "devices": [
            {"id": "vdc", "type": "contact", "door": "vdoor"},
            {
                "id": "cam",
                "type": "camera",
                "covers": ["yard"],
                "fov": {
                    "position": {"x": 0, "y": 0},
                    "direction_deg": 45,
                    "angle_deg": 90,
                    "range_m": 30,
                },
            },
        ],
    }
    data.update(extra)
    return Site.model_validate(data)


@pytest.mark.parametrize("name", ["dispensary.yaml", "cultivation.yaml"])
@pytest.mark.parametrize("include_exit", [False, True])
def test_example_sites_have_an_mvp_to_the_vault(name: str, include_exit: bool) -> None:
    site = load_site_file(EXAMPLES / name)
    result = site_mvp(site, target="vault", options=OPTIONS, include_exit=include_exit)
    assert 0.0 < result.p_interruption < 1.0
    assert result.steps[0].from_zone == "outside"
    entry = [s for s in result.steps if s.phase == "in"]
    assert entry[-1].item_id == "vault"
    if include_exit:
        assert result.steps[-1].to_zone == "outside"
    det = site_mvp(site, target="vault", options=OPTIONS, mode="deterministic")
    assert 0.0 < det.p_interruption < 1.0


def test_detection_comes_from_covering_devices_and_overrides() -> None:
    site = small_site()
    asd = build_asd(site, target="vault")
    force = next(e for e in asd.edges if e.id.startswith("vdoor:force:"))
    assert force.element.p_detection == pytest.approx(0.95)
    assert force.element.location == "E"
    cut = next(e for e in asd.edges if e.id.startswith("vdoor:cut_panel:"))
    assert cut.element.p_detection == 0.0
    yard = next(e for e in asd.edges if e.id == "traverse:yard:in")
    assert yard.element.p_detection == pytest.approx(0.7)
    # A tested p_detection overrides the library, and complementary sensors combine.
    devices = [
        {"id": "vdc", "type": "contact", "door": "vdoor", "p_detection": 0.5},
        {"id": "vdc2", "type": "contact", "door": "vdoor", "p_detection": 0.5},
    ]
    asd = build_asd(small_site(devices=devices), target="vault")
    force = next(e for e in asd.edges if e.id.startswith("vdoor:force:"))
    assert force.element.p_detection == pytest.approx(0.75)
    gate = next(e for e in asd.edges if e.id.startswith("gate:climb"))
    assert gate.element.delay_mean == 10.0  # default chain_link_gate when no key is given


def test_no_path_and_unknown_target_name_the_target() -> None:
    with pytest.raises(InvalidInput, match="'island'"):
        site_mvp(small_site(), target="island", options=OPTIONS)
    with pytest.raises(InvalidInput, match="'moon'"):
        site_mvp(small_site(), target="moon", options=OPTIONS)


def test_whatif_ranks_a_clearly_better_upgrade_first() -> None:
    site = small_site()
    upgrades = [
        Upgrade("paint the gate", UpgradeConstruction("gate", "chain_link_gate")),
        Upgrade("vault door to class 5", UpgradeConstruction("vdoor", "class5_vault_door")),
        Upgrade("slower response", ChangeResponse(mean=900.0)),
    ]
    ranked = rank_upgrades(site, target="vault", options=OPTIONS, upgrades=upgrades)
    assert ranked[0].upgrade.name == "vault door to class 5"
    assert ranked[0].delta > 0.1
    assert ranked[-1].delta < 0
    plan = greedy_plan(site, target="vault", options=OPTIONS, upgrades=upgrades)
    assert [w.upgrade.name for w in plan] == ["vault door to class 5"]


def test_whatif_add_sensor_and_cost_ranking() -> None:
    from bastion.site.schemas import Device

    site = small_site()
    FAST = EasiOptions(Response(40.0, 12.0), 0.95)
    pir = AddSensor(Device(id="ypir", type="motion", zone="yard"))
    upgrades = [
        Upgrade("yard pir", pir, cost=1.0),
        Upgrade(
            "vault door to class 5", UpgradeConstruction("vdoor", "class5_vault_door"), cost=1000.0
        ),
    ]
    ranked = rank_upgrades(site, target="vault", options=FAST, upgrades=upgrades)
    assert ranked[0].upgrade.name == "yard pir"
    assert ranked[0].delta > 0
    assert ranked[0].delta < ranked[1].delta  # the door gains more, but per cost it loses
    # Detection after the critical detection point is worth nothing.
    late = AddSensor(Device(id="vpir", type="motion", zone="vault"))
    [only] = rank_upgrades(site, target="vault", options=FAST, upgrades=[Upgrade("v", late)])
    assert only.delta == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(InvalidInput, match="'nope'"):
        rank_upgrades(
            site,
            target="vault",
            options=FAST,
            upgrades=[Upgrade("x", UpgradeConstruction("nope", "cmu_wall"))],
        )


def test_camera_coverage_reports_gaps_and_fractions() -> None:
    report = camera_coverage(small_site())
    by_zone = {z.zone: z for z in report.zones}
    assert report.uncovered == ["vault"]
    assert by_zone["yard"].cameras == ("cam",)
    assert by_zone["yard"].fraction == pytest.approx(1.0)
    assert by_zone["vault"].fraction == 0.0
    half = small_site(
        devices=[
            {
                "id": "c",
                "type": "camera",
                "fov": {
                    "position": {"x": 0, "y": 5},
                    "direction_deg": 0,
                    "angle_deg": 180,
                    "range_m": 5,
                },
            }
        ]
    )
    fraction = {z.zone: z.fraction for z in camera_coverage(half).zones}["yard"]
    assert fraction == pytest.approx(3.14159 * 25 / 2 / 100, abs=0.02)  # half disc, r = 5
