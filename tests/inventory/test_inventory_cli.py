"""``bastion inventory``: import a Metrc file (a refused one exits 1), reconcile, export."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLES = Path(__file__).parent / "samples"
SITE = "dispensary-main"


def test_import_reconcile_export_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    bad = tmp_path / "bad.json"
    body = json.loads((SAMPLES / "metrc_packages.json").read_text())
    body["Data"][0]["UnitOfMeasureName"] = "Stone"
    bad.write_text(json.dumps(body))
    out = run("inventory", "import", "--site", SITE, "metrc", "packages", str(bad), code=1)
    assert "Nothing was imported" in out and "UnitOfMeasureName" in out
    out = run(
        "inventory",
        "import",
        "--site",
        SITE,
        "metrc",
        "packages",
        str(SAMPLES / "metrc_packages.json"),
    )
    assert "Imported 4 record(s)" in out
    assert "finding(s)" in run("inventory", "reconcile", "--site", SITE)
    exported = json.loads(run("inventory", "export", "--site", SITE, "metrc", "packages"))
    assert exported["Total"] == 4
    assert run("inventory", "export", "--site", SITE, "ccrs", "Inventory").startswith("SubmittedBy")
