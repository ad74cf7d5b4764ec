from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

from .conftest import EXAMPLES


def test_check_prints_the_documented_json_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "compliance",
            "check",
            str(EXAMPLES / "dispensary.yaml"),
            "--state",
            "IL",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["state"] == "IL"
    first = data["findings"][0]
    assert set(first) >= {"rule", "citation", "status", "confidence", "title", "evidence"}
    assert {f["status"] for f in data["findings"]} <= {"pass", "fail", "unknown", "manual"}


def test_check_passes_with_records_and_exit_zero_when_nothing_fails(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    text = (EXAMPLES / "cultivation.yaml").read_text()
    shutil.copy(EXAMPLES / "cultivation.compliance.yaml", tmp_path / "site.compliance.yaml")
    site.write_text(text)
    result = CliRunner().invoke(
        app,
        [
            "compliance",
            "check",
            str(site),
            "--state",
            "WA",
            "--license",
            "testing",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    data = json.loads(result.stdout)
    assert data["license"] == "testing"
    assert result.exit_code == (1 if data["counts"]["fail"] else 0)


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown_state = runner.invoke(
        app, ["compliance", "check", str(EXAMPLES / "dispensary.yaml"), "--state", "ZZ"]
    )
    assert unknown_state.exit_code == 2 and "no rule pack for state 'ZZ'" in unknown_state.output
    broken = tmp_path / "site.yaml"
    broken.write_text((EXAMPLES / "dispensary.yaml").read_text().replace("to: vault", "to: vualt"))
    result = runner.invoke(app, ["compliance", "check", str(broken), "--state", "IL"])
    assert result.exit_code == 2 and "site.yaml:" in result.output and "vualt" in result.output
    profile = tmp_path / "site.compliance.yaml"
    profile.write_text("video:\n  retention_days: ninety\n")
    result = runner.invoke(
        app,
        [
            "compliance",
            "check",
            str(EXAMPLES / "dispensary.yaml"),
            "--state",
            "IL",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1  # the sibling profile of the example wins; data-dir one unused
    (tmp_path / "compliance").mkdir()
    (tmp_path / "compliance" / "profile.yaml").write_text("video:\n  retention_days: ninety\n")
    lone = tmp_path / "lone.yaml"
    lone.write_text((EXAMPLES / "dispensary.yaml").read_text())
    result = runner.invoke(
        app, ["compliance", "check", str(lone), "--state", "IL", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "profile.yaml:2: video.retention_days" in result.output


def test_packs_lists_every_state() -> None:
    result = CliRunner().invoke(app, ["compliance", "packs"])
    assert result.exit_code == 0
    for state in ("CA", "CO", "IL", "MA", "MI", "NV", "OR", "WA"):
        assert state in result.output


def test_check_reads_the_records_of_an_initialised_data_directory(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    from datetime import UTC, datetime, timedelta

    from bastion.cli.common import hub_for
    from bastion.compliance import service
    from bastion.core.context import Context

    runner = CliRunner()
    data = tmp_path / "data"
    init = runner.invoke(
        app, ["init", "--site", str(EXAMPLES / "dispensary.yaml"), "--data-dir", str(data)]
    )
    assert init.exit_code == 0, init.output

    def inventory() -> dict:
        result = runner.invoke(
            app,
            [
                "compliance",
                "check",
                str(EXAMPLES / "dispensary.yaml"),
                "--state",
                "IL",
                "--json",
                "--data-dir",
                str(data),
            ],
        )
        return {f["rule"]: f for f in json.loads(result.stdout)["findings"]}["IL-INV-001"]

    assert inventory()["status"] == "fail"  # a database, but no count in it
    now = datetime.now(UTC)
    with hub_for(data) as hub, hub.unit_of_work() as session:
        service.add_record(
            session=session,
            site_id="dispensary-main",
            kind="inventory_count",
            at=now - timedelta(hours=3),
            by="Ana Ruiz",
            context=Context(actor="test"),
            now=now,
        )
    found = inventory()
    assert found["status"] == "pass" and "Ana Ruiz" in found["evidence"][0]
