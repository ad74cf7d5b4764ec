"""``bastion access``: enrol from the CLI, then explain, who-can and entries end to end."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_explain_who_can_and_entries_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == 0, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    pid = run(
        "access",
        "person-add",
        "--name",
        "Mia Manager",
        "--role",
        "manager",
        "--site",
        "dispensary-main",
    ).strip()
    run(
        "access",
        "level",
        "vault-staff",
        "--site",
        "dispensary-main",
        "--schedule",
        "staff-hours",
        "--zone",
        "vault",
        "--zone",
        "back-of-house",
    )
    # The hiring gate holds on the CLI too: no vault level before a cleared background check.
    refused = runner.invoke(
        app, ["access", "assign", "--person", pid, "--level", "vault-staff", *data]
    )
    assert refused.exit_code != 0 and "needs a cleared background check" in refused.output
    bad_date = runner.invoke(
        app,
        [
            "people",
            "employees",
            "background",
            "--person",
            pid,
            "--status",
            "cleared",
            "--checked-on",
            "last week",
            *data,
        ],
    )
    assert bad_date.exit_code != 0 and "YYYY-MM-DD" in bad_date.output
    run(
        "people",
        "employees",
        "background",
        "--person",
        pid,
        "--status",
        "cleared",
        "--checked-on",
        "2026-01-05",
        "--reference",
        "BG-77",
    )
    run("access", "assign", "--person", pid, "--level", "vault-staff")
    cid = run("access", "issue", "--person", pid, "--card", "h10301:18:12345").strip()

    granted = run(
        "access", "explain", "--credential", cid, "--door", "vault-door", "--at", "2026-03-09T10:00"
    )
    assert "=> GRANTED: granted" in granted and "[pass] level vault-staff" in granted
    late = run(
        "access",
        "explain",
        "--credential",
        "h10301:18:12345",
        "--door",
        "vault-door",
        "--at",
        "2026-03-09T23:30",
    )
    assert "=> DENIED: outside_schedule" in late and "12345" not in late.replace(
        "h10301:18:12345", ""
    )
    assert "no_level_for_door" in run(
        "access", "explain", "--credential", cid, "--door", "front-entry"
    )

    who = run("access", "who-can", "--door", "vault")
    assert "Mia Manager" in who and "1 people" in who
    assert "0 entries" in run("access", "entries", "--zone", "vault", "--since", "7d")

    bad = runner.invoke(
        app,
        [
            "access",
            "level",
            "bad",
            "--site",
            "dispensary-main",
            "--schedule",
            "weekends",
            "--zone",
            "vault",
            *data,
        ],
    )
    assert bad.exit_code == 2 and "weekends" in bad.output and "Traceback" not in bad.output
    malformed = runner.invoke(
        app, ["access", "issue", "--person", pid, "--card", "h10301:999:1", *data]
    )
    assert malformed.exit_code == 2 and "malformed card data" in malformed.output
    unknown = runner.invoke(
        app, ["access", "explain", "--credential", cid, "--door", "nowhere", *data]
    )
    assert unknown.exit_code == 2 and "nowhere" in unknown.output

    run("access", "revoke", "--credential", cid, "--reason", "lost")
    assert "=> DENIED: revoked" in run(
        "access", "explain", "--credential", cid, "--door", "vault-door", "--at", "2026-03-09T10:00"
    )
