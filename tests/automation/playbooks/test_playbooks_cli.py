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
    missing = " ".join(run("playbooks", "check", str(LIBRARY / "fire.yaml"), code=2).split())
    assert f"{LIBRARY / 'fire.yaml'}:26: steps.1.notify.call_tree" in missing
    assert "call tree 'all-staff' does not exist" in missing

    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nscenario: x\nsteps:\n  - {id: a, title: A, kind: bogus}\n")
    assert "steps.0.kind" in run("playbooks", "check", str(bad), code=2)

    drilled = run("playbooks", "drill", "fire")
    assert "simulated unlock-egress" in drilled and "door.command unlock front-entry" in drilled
    out = tmp_path / "packet.pdf"
    assert "wrote" in run("playbooks", "packet", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF-")


def test_check_names_every_missing_zone_camera_preset_and_tree_with_its_line(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    runner = CliRunner()
    edited = tmp_path / "robbery.yaml"
    edited.write_text(
        (LIBRARY / "armed_robbery.yaml")
        .read_text()
        .replace("zones: [vault, cash-room]", "zones: [vualt, cash-room]")
        .replace("cameras: covering", "cameras: [cam-vault-1, cam-safe]")
        .replace("call_tree: management", "call_tree: managers")
    )
    site = ["--site", str(EXAMPLES / "dispensary.yaml"), "--data-dir", str(tmp_path / "none")]
    result = runner.invoke(app, ["playbooks", "check", str(edited), *site])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert f"{edited}:32: steps.2.zones.0: site 'dispensary-main' has no zone 'vualt'" in out
    assert f"{edited}:39: steps.3.actions.0.cameras.1: site 'dispensary-main' has no device" in out
    # No database here: call trees are not checked, so the misspelt tree is not reported.
    assert "managers" not in out

    shipped = runner.invoke(app, ["playbooks", "check", str(LIBRARY / "armed_robbery.yaml"), *site])
    assert shipped.exit_code == 0, shipped.output
    assert "not checked: call trees" in " ".join(shipped.output.split())
