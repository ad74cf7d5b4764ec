"""``bastion notify``: load YAML, list with masked addresses, run a drill from the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_load_list_and_drill_from_the_cli(tmp_path, monkeypatch, smtp_server):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    config = tmp_path / "notify.yaml"
    config.write_text(
        f"""
contacts:
  - name: Lee
    role: manager
    channels:
      - kind: email
        url: "{smtp_server.url("lee@example.com")}"
trees:
  - name: managers
    tiers:
      - contacts: [Lee]
        ack_timeout_s: 120
""",
        encoding="utf-8",
    )
    assert "1 contacts, 1 trees" in run("notify", "load", str(config))
    assert "armed_robbery" in run("notify", "load-templates")
    listed = run("notify", "contacts")
    assert "Lee" in listed and "lee@example.com" not in listed
    assert "tier 1" in run("notify", "trees")

    out = run(
        "notify",
        "start",
        "managers",
        "--template",
        "fire",
        "--var",
        "site=Main",
        "--var",
        "zone=lobby",
        "--var",
        "operator_note=drill",
        "--drill",
    )
    assert "[DRILL]" in out and "email:drill" in out
    assert smtp_server.messages == []

    bad = tmp_path / "bad.yaml"
    bad.write_text("trees:\n  - name: empty\n    tiers: []\n", encoding="utf-8")
    assert "trees[0]" in run("notify", "load", str(bad), code=2)
