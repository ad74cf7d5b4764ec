import json
import re
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.analysis.easi import EasiOptions, Response
from bastion.analysis.geometry import place_path, plan_size
from bastion.analysis.report import render_pdf, render_png, write_report
from bastion.analysis.summary import SiteAnalysis, analyse_site
from bastion.cli.analyze import app
from bastion.core.errors import InvalidInput
from bastion.site.loader import load_site_file
from tests.pdf_support import pdf_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPTIONS = EasiOptions(Response(300.0, 90.0), 0.95)
runner = CliRunner()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pdf_pages(data: bytes) -> int:
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.fixture(scope="module", params=["dispensary", "cultivation"])
def analysis(request: pytest.FixtureRequest) -> SiteAnalysis:
    site = load_site_file(EXAMPLES / f"{request.param}.yaml")
    return analyse_site(site, target="vault", options=OPTIONS, samples=5_000)


def test_path_is_placed_on_the_plan(analysis: SiteAnalysis) -> None:
    placed = place_path(analysis.site, analysis.path)
    width, height = plan_size(analysis.site)
    assert len(placed.route) >= 3
    # Starts just outside the plan, ends in the target zone.
    x0, y0 = placed.route[0]
    assert x0 < 0 or y0 < 0 or x0 > width or y0 > height
    vault = analysis.site.zone("vault").area
    assert vault is not None
    last = placed.route[-1]
    assert (
        vault.x <= last[0] <= vault.x + vault.width and vault.y <= last[1] <= vault.y + vault.height
    )
    for point in placed.points:
        assert -3 <= point.x <= width + 3 and -3 <= point.y <= height + 3
    assert [p.index for p in placed.points] == sorted(p.index for p in placed.points)


def test_png_report_of_example_site(analysis: SiteAnalysis) -> None:
    width, height = png_size(render_png(analysis))
    assert width >= 1000 and height >= 1000


def test_pdf_report_of_example_site(analysis: SiteAnalysis) -> None:
    data = render_pdf(analysis)
    assert pdf_pages(data) == 3
    assert len(data) > 10_000


def test_exit_path_report(tmp_path: Path) -> None:
    site = load_site_file(EXAMPLES / "cultivation.yaml")
    analysis = analyse_site(site, target="vault", options=OPTIONS, include_exit=True)
    placed = place_path(site, analysis.path)
    width, height = plan_size(site)
    x, y = placed.route[-1]
    assert x < 0 or y < 0 or x > width or y > height  # leaves the plan
    out = write_report(analysis, tmp_path / "theft.png")
    assert png_size(out.read_bytes())[0] > 0


def test_bad_report_name_writes_nothing(tmp_path: Path, analysis: SiteAnalysis) -> None:
    with pytest.raises(InvalidInput, match=r"\.png or \.pdf"):
        write_report(analysis, tmp_path / "report.docx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
@pytest.mark.parametrize("suffix", ["pdf", "png"])
def test_cli_report_for_each_example(tmp_path: Path, name: str, suffix: str) -> None:
    out = tmp_path / f"{name}.{suffix}"
    result = runner.invoke(
        app,
        [
            "report",
            str(EXAMPLES / f"{name}.yaml"),
            "--target",
            "vault",
            "--out",
            str(out),
            "--monte-carlo",
            "2000",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "P(I) =" in result.stdout
    data = out.read_bytes()
    if suffix == "pdf":
        assert pdf_pages(data) == 3
    else:
        assert png_size(data)[0] > 0


def test_cli_report_errors_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            str(EXAMPLES / "dispensary.yaml"),
            "--target",
            "moon",
            "--out",
            str(tmp_path / "r.pdf"),
        ],
    )
    assert result.exit_code == 2
    assert "'moon'" in result.output
    assert not (tmp_path / "r.pdf").exists()


def test_cli_easi_and_site_expose_monte_carlo_and_sensitivity(tmp_path: Path) -> None:
    sheet = tmp_path / "s.json"
    sheet.write_text(
        json.dumps(
            {
                "response": {"mean": 300, "sd": 90},
                "elements": [
                    {
                        "name": "door",
                        "p_detection": 1.0,
                        "location": "B",
                        "delay": {"mean": 300, "sd": 90},
                    }
                ],
            }
        )
    )
    result = runner.invoke(app, ["easi", str(sheet), "--json", "--monte-carlo", "40000"])
    data = json.loads(result.stdout)
    assert data["monte_carlo"]["low"] <= 0.5 <= data["monte_carlo"]["high"]
    assert data["sensitivity"]["elements"][0]["d_p_detection"] == pytest.approx(0.5)
    table = runner.invoke(app, ["easi", str(sheet), "--monte-carlo", "1000"])
    assert "Monte Carlo" in table.stdout and "∂P(I)" in table.stdout
    site = runner.invoke(
        app,
        [
            "site",
            str(EXAMPLES / "dispensary.yaml"),
            "--target",
            "vault",
            "--json",
            "--monte-carlo",
            "5000",
        ],
    )
    doc = json.loads(site.stdout)
    assert doc["monte_carlo"]["samples"] == 5000
    assert doc["sensitivity"]["elements"]


def test_pdf_report_names_when_it_was_made_in_site_time(analysis: SiteAnalysis) -> None:
    """The first page says when the evaluation was run, in the site's zone, zone named."""
    made = datetime(2026, 12, 3, 17, 15, tzinfo=UTC)
    text = pdf_text(render_pdf(analysis, made=made))
    local = {"America/Chicago": "11:15 CST", "America/Denver": "10:15 MST"}
    zone = analysis.site.site.timezone
    assert f"Prepared 2026-12-03 {local[zone]} ({zone} time)" in text
