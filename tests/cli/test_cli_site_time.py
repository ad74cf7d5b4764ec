"""CLI tables show the site's time with the zone named, and read typed times as site time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.alarms import service as alarms_service
from bastion.alarms.sop import load_sops
from bastion.cli.common import settings_for
from bastion.cli.main import app
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.hub import open_hub
from bastion.people import service as people_service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
SITE = "dispensary-main"  # America/Chicago: CST is UTC-6 in December
ENTERED = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 09:30 CST
RAISED = datetime(2026, 12, 1, 16, 5, tzinfo=UTC)  # 10:05 CST


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A dispensary with Bob's granted vault entry and one alarm, at fixed UTC moments."""
    target = tmp_path / "data"
    result = runner.invoke(
        app, ["init", "--data-dir", str(target), "--site", str(EXAMPLES / "dispensary.yaml")]
    )
    assert result.exit_code == 0, result.output
    hub = open_hub(settings_for(target))
    try:
        ctx = Context(actor="test")
        with hub.unit_of_work() as session:
            bob = people_service.create_person(
                session=session,
                name="Bob Tran",
                kind="employee",
                site_id=SITE,
                context=ctx,
                now=ENTERED,
            ).id
            alarms_service.raise_alarm(
                session=session,
                spec=alarms_service.AlarmSpec(
                    alarm_type="door_forced", message="Vault door forced", door_id="vault-door"
                ),
                site=None,
                site_id=SITE,
                context=ctx,
                now=RAISED,
                sops=load_sops(),
            )
        hub.ledger.append_sync(
            [
                make_event(
                    EVENT_ACCESS_DECISION,
                    AccessDecisionPayload(
                        door_id="vault-door",
                        reader_id="vault-door-rdr-in",
                        subject=bob,
                        granted=True,
                        reason="granted",
                    ),
                    context=Context(actor="device:vault-door-rdr-in"),
                    time=ENTERED,
                    site=SITE,
                )
            ]
        )
    finally:
        hub.close()
    return target


def _run(data_dir: Path, *args: str) -> str:
    result = runner.invoke(
        app, [*args, "--data-dir", str(data_dir)], env={"COLUMNS": "220"}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_alarm_queue_shows_site_time_with_the_zone(data_dir: Path) -> None:
    out = _run(data_dir, "alarms", "list")
    assert "raised (site time)" in out
    assert "2026-12-01 10:05:00 CST" in out and "16:05" not in out


def test_entries_show_and_read_times_on_the_site_clock(data_dir: Path) -> None:
    shown = _run(data_dir, "access", "entries", "--zone", "vault", "--since", "2026-12-01T09:00")
    assert "(America/Chicago time)" in shown
    assert "2026-12-01 09:30:00 CST" in shown and "Bob Tran" in shown
    assert "1 entries" in shown
    # 10:00 on the site's clock is 16:00 UTC, after the 15:30 UTC entry: nothing to show.
    later = _run(data_dir, "access", "entries", "--zone", "vault", "--since", "2026-12-01T10:00")
    assert "0 entries" in later
