"""``bastion ledger tail``: the events page's filters, with names, outcomes and site time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.common import settings_for
from bastion.cli.main import app
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.hub import open_hub
from bastion.people import service as people_service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
SITE = "dispensary-main"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    result = runner.invoke(
        app, ["init", "--data-dir", str(target), "--site", str(EXAMPLES / "dispensary.yaml")]
    )
    assert result.exit_code == 0, result.output
    hub = open_hub(settings_for(target))
    try:
        now = hub.clock.now()
        with hub.unit_of_work() as session:
            bob = people_service.create_person(
                session=session,
                name="Bob Tran",
                kind="employee",
                site_id=SITE,
                context=Context(actor="test"),
                now=now,
            ).id
        at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 09:30 in Chicago
        hub.ledger.append_sync(
            [
                make_event(
                    EVENT_ACCESS_DECISION,
                    AccessDecisionPayload(
                        door_id="vault-door", subject=bob, granted=False, reason="no_level_for_door"
                    ),
                    context=Context(actor="device:vault-door-rdr-in"),
                    time=at,
                    site=SITE,
                )
            ]
        )
    finally:
        hub.close()
    return target


def test_tail_filters_and_shows_names_in_site_time(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["ledger", "tail", "--data-dir", str(data_dir), "--person", "bob", "--outcome", "denied"],
        env={"COLUMNS": "200"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "2026-12-01 09:30:00 CST" in result.output
    assert "Bob Tran" in result.output and "Vault door · Vault" in result.output
    assert "Denied: no level for door" in result.output
    assert "site.imported" not in result.output


def test_tail_refuses_bad_filters_in_one_line(data_dir: Path) -> None:
    for args, words in (
        (["--since", "last tuesday"], "is not a date and time"),
        (["--zone", "attic"], "has no zone 'attic'"),
        (["--site", "elsewhere"], "name the site with --site (sites: dispensary-main)"),
    ):
        result = runner.invoke(app, ["ledger", "tail", "--data-dir", str(data_dir), *args])
        assert result.exit_code == 2, args
        assert words in result.output.replace("\n", " ")
        assert "Traceback" not in result.output
