"""``bastion playbooks``: list, check (with call trees), drill and packet from the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.automation.playbooks.config import LIBRARY
from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_list_check_drill_and_packet(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    assert "armed_robbery" in run("playbooks", "list")
    assert "is valid" in run("playbooks", "check", str(LIBRARY / "fire.yaml"))
    missing = run("playbooks", "check", str(LIBRARY / "fire.yaml"), "--with-database", code=2)
    assert "steps.1.notify.call_tree" in missing and "'all-staff' does not exist" in missing

    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nscenario: x\nsteps:\n  - {id: a, title: A, kind: bogus}\n")
    assert "steps.0.kind" in run("playbooks", "check", str(bad), code=2)

    drilled = run("playbooks", "drill", "fire")
    assert "simulated unlock-egress" in drilled and "door.command unlock front-entry" in drilled
    out = tmp_path / "packet.pdf"
    assert "wrote" in run("playbooks", "packet", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF-")
