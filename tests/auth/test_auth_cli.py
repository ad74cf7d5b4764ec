import pyotp
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.core.events import EVENT_ADMIN_ACTION
from bastion.hub import open_hub
from bastion.settings import Settings

PASSWORD = "correct horse battery staple"


def test_create_admin_prints_a_provisioning_uri_and_qr(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = str(tmp_path / "data")
    assert runner.invoke(app, ["init", "--data-dir", data]).exit_code == 0
    result = runner.invoke(
        app,
        ["users", "create-admin", "--data-dir", data],
        input=f"root\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://"))
    parsed = pyotp.parse_uri(uri)
    assert parsed.name == "root" and parsed.issuer == "Bastion"
    assert "█" in result.output or "▀" in result.output  # the terminal QR code

    listed = runner.invoke(app, ["users", "list", "--data-dir", data])
    assert "root" in listed.output and "admin" in listed.output

    again = runner.invoke(
        app,
        ["users", "create-admin", "--data-dir", data, "--username", "root", "--password", PASSWORD],
    )
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert "Traceback" not in again.output

    hub = open_hub(Settings(data_dir=tmp_path / "data"))
    try:
        actions = [r.payload for r in hub.ledger.query(types=[EVENT_ADMIN_ACTION.name])]
        assert any('"user.create"' in p for p in actions)
        assert any('"user.totp_enrol"' in p for p in actions)
        assert hub.ledger.verify().ok
    finally:
        hub.close()


def test_token_and_role_commands(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = str(tmp_path / "data")
    runner.invoke(app, ["init", "--data-dir", data])
    made = runner.invoke(
        app,
        [
            "users",
            "create",
            "olga",
            "--role",
            "operator",
            "--password",
            PASSWORD,
            "--data-dir",
            data,
        ],
    )
    assert made.exit_code == 0, made.output
    assert (
        runner.invoke(
            app, ["users", "grant", "olga", "hr", "--site", "d1", "--data-dir", data]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app, ["users", "revoke", "olga", "hr", "--site", "d1", "--data-dir", data]
        ).exit_code
        == 0
    )
    bad = runner.invoke(app, ["users", "grant", "olga", "wizard", "--data-dir", data])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    zoned = ["users", "grant", "olga", "hr", "--site", "d1", "--zone", "lobby", "--zone", "vault"]
    assert runner.invoke(app, [*zoned, "--data-dir", data]).exit_code == 0
    listed = runner.invoke(app, ["users", "list", "--data-dir", data])
    assert "hr@d1/lobby+vault" in listed.output
    nowhere = runner.invoke(
        app, ["users", "grant", "olga", "hr", "--zone", "lobby", "--data-dir", data]
    )
    assert nowhere.exit_code == 2 and "needs a site" in nowhere.output
    minted = runner.invoke(
        app,
        [
            "users",
            "token-create",
            "bridge",
            "--owner",
            "olga",
            "--role",
            "operator",
            "--days",
            "30",
            "--data-dir",
            data,
        ],
    )
    assert minted.exit_code == 0, minted.output
    token = next(line for line in minted.output.splitlines() if line.startswith("bst_"))
    token_id = token.split("_")[1]
    assert (
        runner.invoke(app, ["users", "token-revoke", token_id, "--data-dir", data]).exit_code == 0
    )
    again = runner.invoke(app, ["users", "token-revoke", token_id, "--data-dir", data])
    assert again.exit_code == 2 and "already revoked" in again.output
    assert runner.invoke(app, ["users", "disable", "olga", "--data-dir", data]).exit_code == 0
    assert "disabled" in runner.invoke(app, ["users", "list", "--data-dir", data]).output
