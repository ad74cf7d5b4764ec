"""``bastion people``: offboard from the CLI and read the report; export the visitor log."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_offboard_review_and_export_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    pid = run("access", "person-add", "--name", "Cli Leaver", "--site", "dispensary-main").strip()
    run("access", "level", "sales", "--site", "dispensary-main", "--zone", "sales-floor")
    run("access", "assign", "--person", pid, "--level", "sales")
    run("access", "issue", "--person", pid, "--card", "h10301:18:777")
    review = run("people", "employees", "review")
    assert "Cli Leaver" in review and "never" in review
    out = run("people", "employees", "offboard", "--person", pid, "--reason", "left")
    assert "credentials: clear" in out and "access levels: clear" in out and "access clear" in out
    assert run("people", "employees", "offboard", "--person", pid, "--reason", "x", code=2)
    target = tmp_path / "log.csv"
    assert "wrote 0 visits" in run("people", "visitors", "export", "--out", str(target))
    assert target.read_text().startswith("visit_id,site_id,full_name")
