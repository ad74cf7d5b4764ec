"""``bastion transport``: list vehicles and trips of an initialised data directory; bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.core.context import Context
from bastion.hub import open_hub
from bastion.settings import Settings
from bastion.transport import service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_vehicles_and_trips_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()
    data_dir = tmp_path / "data"
    data = ["--data-dir", str(data_dir)]
    result = runner.invoke(app, ["init", "--site", str(EXAMPLES / "cultivation.yaml"), *data])
    assert result.exit_code == 0, result.output
    hub = open_hub(Settings(data_dir=data_dir))
    try:
        with hub.unit_of_work() as session:
            service.add_vehicle(
                session=session,
                site_id="cultivation-main",
                name="Van 1",
                plate="abc 123",
                tracker_id="alice/van1",
                context=Context(actor="test"),
                now=hub.clock.now(),
            )
    finally:
        hub.close()
    result = runner.invoke(app, ["transport", "vehicles", "--site", "cultivation-main", *data])
    assert result.exit_code == 0 and "ABC 123" in result.output and "alice/van1" in result.output
    result = runner.invoke(app, ["transport", "trips", "--site", "cultivation-main", *data])
    assert result.exit_code == 0 and "Trips from cultivation-main" in result.output
    result = runner.invoke(app, ["transport", "drive", "--device", "no-slash"])
    assert result.exit_code != 0 and "user/device" in result.output
