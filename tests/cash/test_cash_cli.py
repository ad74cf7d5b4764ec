"""``bastion cash``: set up a store, import an export with bad lines, list, report, plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.integrations.pos.formats import write_bastion_csv

from .conftest import record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SITE = "dispensary-main"


def test_a_store_is_set_up_fed_and_reported_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, [*args, *data], input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--site", str(EXAMPLES / "dispensary.yaml"))
    run(
        "cash",
        "add",
        "--site",
        SITE,
        "--kind",
        "register",
        "--name",
        "Register 1",
        "--zone",
        "sales-floor",
        "--camera",
        "cam-pos",
        "--terminal",
        "T1",
    )
    run("cash", "add", "--site", SITE, "--kind", "vault", "--name", "Vault", "--zone", "vault")
    refused = run(
        "cash",
        "add",
        "--site",
        SITE,
        "--kind",
        "register",
        "--name",
        "R2",
        "--zone",
        "sales-floor",
        code=2,
    )
    assert "needs its zone, the camera" in refused
    # Noon at the store (today's if it has passed, else yesterday's): inside business hours
    # whatever the time of day the test runs, so only the no-sale is an exception.
    chicago = ZoneInfo("America/Chicago")
    noon = datetime.now(chicago).replace(hour=12, minute=0, second=0, microsecond=0)
    start = (noon if noon < datetime.now(chicago) else noon - timedelta(days=1)).astimezone(UTC)
    export = (
        write_bastion_csv(
            [
                record("S1", start, total=4500),
                record("N1", start + timedelta(minutes=2), kind="no_sale"),
            ]
        )
        + "S3,T1,0042,not-a-time,sale,100,0,cash:100,,,,\n"
    )
    path = tmp_path / "day.csv"
    path.write_text(export)
    out = run("cash", "import", "--site", SITE, str(path))
    assert "accepted 2, duplicates 0, refused 1, exceptions 1" in out
    assert "line 4: time 'not-a-time' is not an ISO 8601" in out
    assert "accepted 0, duplicates 2" in run("cash", "import", "--site", SITE, str(path))
    listing = run("cash", "exceptions", "--site", SITE)
    assert "no_sale" in listing and "bookmark cam-pos" in listing
    assert "$45.00" in run("cash", "containers", "--site", SITE)
    pdf = tmp_path / "day.pdf"
    assert "reconciliation" in run("cash", "report", "--site", SITE, "--out", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "register_limit_cents = 150000" in run(
        "cash", "settings", "--site", SITE, "--set", "register_limit_cents=150000"
    )
    assert "register_limit_cents: Input should be greater than 0" in run(
        "cash", "settings", "--site", SITE, "--set", "register_limit_cents=0", code=2
    )
    carrier = (
        run(
            "cash",
            "pickups",
            "carrier",
            "--site",
            SITE,
            "--company",
            "Brink",
            stdin="bluebird-42\n",
        )
        .strip()
        .splitlines()[-1]
    )
    planned = run("cash", "pickups", "plan", "--site", SITE, "--carrier", carrier)
    assert "one-time code" in planned and "America/Chicago" in planned
    assert "1 pickups" in run("cash", "pickups", "list", "--site", SITE)
