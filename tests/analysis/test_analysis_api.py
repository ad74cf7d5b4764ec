import io
import struct
from typing import Any

import pytest

from bastion.auth.permissions import Role
from bastion.hub import Hub

SITE = "dispensary-main"
BASE = f"/api/analysis/sites/{SITE}"


def el(name: str, p: float, loc: str, mean: float, sd: float) -> dict[str, Any]:
    return {"name": name, "p_detection": p, "location": loc, "delay": {"mean": mean, "sd": sd}}


@pytest.fixture
def manager(analysis_hub: Hub, client_for: Any) -> Any:
    return client_for(Role.SECURITY_MANAGER)


def problem(response: Any, status: int = 422) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


def test_sites_and_targets_innermost_first(manager: Any) -> None:
    sites = manager.get("/api/analysis/sites").json()
    assert {s["id"] for s in sites} == {SITE, "s"}
    targets = manager.get(f"{BASE}/targets").json()
    assert targets[0]["layer"] == "vault"
    assert "vault" in [t["id"] for t in targets]


def test_most_vulnerable_path_with_cdp_timeline_sensitivity_and_monte_carlo(manager: Any) -> None:
    response = manager.get(f"{BASE}/path", params={"target": "vault", "samples": 20000})
    assert response.status_code == 200, response.text
    data = response.json()
    mvp = data["most_vulnerable"]
    assert 0 < data["p_interruption"] < 1
    assert mvp["steps"][0]["from"] == "outside"
    assert mvp["steps"][-1]["to"] == "vault"
    assert mvp["critical_detection_point"] is not None
    assert len(mvp["timeline"]) == len(mvp["steps"])
    assert len(data["sensitivity"]["elements"]) == len(mvp["steps"])
    mc = data["monte_carlo"]
    assert mc["low"] <= data["p_interruption"] <= mc["high"]
    assert data["p_neutralization_assumed"] is True


def test_deterministic_mode_and_exit_path(manager: Any) -> None:
    data = manager.get(
        f"{BASE}/path", params={"target": "vault", "mode": "deterministic", "exit": "true"}
    ).json()
    assert data["mode"] == "deterministic"
    assert data["most_vulnerable"]["steps"][-1]["to"] == "outside"


def test_coverage_and_risk(manager: Any) -> None:
    coverage = manager.get(f"{BASE}/coverage").json()
    assert "uncovered" in coverage and coverage["zones"]
    risk = manager.get(
        f"{BASE}/risk", params={"target": "vault", "p_neutralization": 0.8, "consequence": 10}
    ).json()
    assert risk["p_effectiveness"] == pytest.approx(risk["p_interruption"] * 0.8)
    assert risk["conditional_risk"] == pytest.approx((1 - risk["p_effectiveness"]) * 10)
    bad = manager.get(f"{BASE}/risk", params={"target": "vault", "p_neutralization": 1.2})
    assert "p_neutralization" in problem(bad)


def test_whatif_suggested_and_given(manager: Any) -> None:
    suggested = manager.post(f"{BASE}/whatif", json={"target": "vault"})
    assert suggested.status_code == 200, suggested.text
    rows = suggested.json()["ranked"]
    assert suggested.json()["suggested"] is True
    assert rows and rows[0]["delta"] >= rows[-1]["delta"]
    assert any("response time" in r["name"] for r in rows)
    given = manager.post(
        f"{BASE}/whatif",
        json={
            "target": "vault",
            "response": {"mean": 300, "sd": 90},
            "upgrades": [
                {"name": "faster guards", "response": {"mean": 120}},
                {"name": "nothing", "response": {}},
            ],
        },
    ).json()["ranked"]
    assert [r["name"] for r in given] == ["faster guards", "nothing"]
    assert given[0]["delta"] > 0
    assert given[1]["delta"] == pytest.approx(0.0)


def test_report_downloads(manager: Any) -> None:
    png = manager.get(f"{BASE}/report", params={"target": "vault", "format": "png", "samples": 0})
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png.content[16:24])
    assert width > 600 and height > 600
    pdf = manager.get(f"{BASE}/report", params={"target": "vault"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    assert pdf.content.startswith(b"%PDF") and b"%%EOF" in pdf.content[-32:]


def test_easi_worksheet_half_and_monte_carlo(manager: Any) -> None:
    sheet = {
        "p_communication": 1.0,
        "response": {"mean": 300, "sd": 90},
        "elements": [el("door", 1.0, "B", 300, 90)],
    }
    data = manager.post("/api/analysis/easi", json=sheet, params={"samples": 50000}).json()
    assert data["p_interruption"] == pytest.approx(0.5)
    assert data["sensitivity"]["elements"][0]["d_p_detection"] == pytest.approx(0.5)
    assert data["monte_carlo"]["low"] <= 0.5 <= data["monte_carlo"]["high"]


def test_layers_worksheet(manager: Any) -> None:
    sheet = {
        "p_communication": 1.0,
        "response": {"mean": 100, "sd": 10},
        "layers": [
            [el("slow", 0.6, "B", 100, 60), el("quiet", 0.5, "B", 100, 0)],
            [el("end", 0.0, "E", 5, 0)],
        ],
    }
    det = manager.post("/api/analysis/layers", json=sheet, params={"deterministic": "true"}).json()
    assert det["most_vulnerable"]["path"] == [1, 0]
    assert det["most_vulnerable"]["p_interruption"] == pytest.approx(0.5)
    assert det["paths"] == 2


def test_carver_ranking(manager: Any) -> None:
    body = {
        "targets": [
            {
                "target": "vault",
                "criticality": 9,
                "accessibility": 3,
                "recuperability": 8,
                "vulnerability": 4,
                "effect": 9,
                "recognizability": 9,
            },
            {
                "target": "server-room",
                "criticality": 7,
                "accessibility": 6,
                "recuperability": 5,
                "vulnerability": 6,
                "effect": 6,
                "recognizability": 5,
            },
        ]
    }
    ranking = manager.post("/api/analysis/carver", json=body).json()["ranking"]
    assert ranking[0] == {"rank": 1, "target": "vault", "total": 42, "scale": 10}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"pc": 1.5}, "p_communication"),
        ({"response_mean": -5}, "response mean"),
        ({"response_sd": -1}, "response sd"),
        ({"target": "moon"}, "'moon'"),
    ],
)
def test_bad_site_inputs_are_named(manager: Any, params: dict[str, Any], needle: str) -> None:
    query = {"target": "vault", **params}
    assert needle in problem(manager.get(f"{BASE}/path", params=query))


def test_no_path_to_target_is_named(manager: Any) -> None:
    detail = problem(manager.get("/api/analysis/sites/s/path", params={"target": "island"}))
    assert "'island'" in detail and "no door or barrier path" in detail


def test_bad_worksheets_are_named(manager: Any) -> None:
    base = {"response": {"mean": 300, "sd": 90}}
    bad_p = {**base, "elements": [el("gate", 0.2, "B", 10, 1), el("vault door", 1.7, "E", 5, 1)]}
    assert "'vault door' p_detection" in problem(manager.post("/api/analysis/easi", json=bad_p))
    negative = {**base, "elements": [el("gate", 0.2, "B", -10, 1)]}
    assert "'gate'" in problem(manager.post("/api/analysis/easi", json=negative))
    empty = {**base, "layers": [[el("gate", 0.2, "B", 10, 1)], []]}
    assert "layers[1]" in problem(manager.post("/api/analysis/layers", json=empty))
    bad_up = {
        "target": "vault",
        "upgrades": [{"name": "x", "sensor_pd": {"device": "nope", "p_detection": 0.5}}],
    }
    assert "'nope'" in problem(manager.post(f"{BASE}/whatif", json=bad_up))
    malformed = manager.post(
        "/api/analysis/easi", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422


def test_unknown_site_is_404(manager: Any) -> None:
    problem(manager.get("/api/analysis/sites/nowhere/path", params={"target": "vault"}), 404)


def test_permissions(analysis_hub: Hub, client_for: Any, app: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as anonymous:
        assert anonymous.get(f"{BASE}/targets").status_code == 401
    operator = client_for(Role.OPERATOR)
    assert operator.get(f"{BASE}/path", params={"target": "vault"}).status_code == 403
    reader = client_for(Role.COMPLIANCE_OFFICER)
    assert reader.get(f"{BASE}/path", params={"target": "vault"}).status_code == 200
    assert reader.post(f"{BASE}/whatif", json={"target": "vault"}).status_code == 403
    assert reader.post("/api/analysis/easi", json={}).status_code == 403
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="other-site")
    assert elsewhere.get(f"{BASE}/targets").status_code == 403
    assert elsewhere.get("/api/analysis/sites").json() == []
    # The report is bytes, not a problem, only for allowed callers.
    assert (
        io.BytesIO(operator.get(f"{BASE}/report", params={"target": "vault"}).content).read(4)
        != b"%PDF"
    )
