"""``bastion upkeep gaps`` on a folder of real segments, and ``bastion upkeep view`` on frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
from typer.testing import CliRunner

from bastion.cli.main import app
from tests.maintenance import frames as footage
from tests.maintenance.standin import cut_segments

START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
runner = CliRunner()


def test_gaps_lists_the_missing_segment_and_exits_1(tmp_path):
    cut_segments(tmp_path, "cam-a", START, count=5, skip=2)
    end = START + timedelta(seconds=10)
    result = runner.invoke(
        app,
        [
            "upkeep",
            "gaps",
            str(tmp_path),
            "--from",
            START.isoformat(),
            "--to",
            end.isoformat(),
            "--min-gap",
            "1",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "4 segments, 80.000% recorded, 1 gap(s) longer than 1 s" in result.output
    assert "gap 2026-03-07T12:00:04+00:00 – 2026-03-07T12:00:06+00:00 (2 s)" in result.output


def test_gaps_refuses_bad_times_and_missing_folders(tmp_path):
    bad = runner.invoke(app, ["upkeep", "gaps", str(tmp_path), "--from", "soon", "--to", "later"])
    assert bad.exit_code == 2 and "not a date and time" in bad.output
    gone = runner.invoke(
        app,
        ["upkeep", "gaps", str(tmp_path / "x"), "--from", "2026-03-07", "--to", "2026-03-08"],
    )
    assert gone.exit_code == 1 and "recording unknown" in gone.output


def test_view_names_what_is_wrong(tmp_path):
    reference, snapshot = tmp_path / "ref.jpg", tmp_path / "now.jpg"
    cv2.imwrite(str(reference), footage.frames()[0])
    cv2.imwrite(str(snapshot), footage.defocused(footage.frames()[1]))
    result = runner.invoke(app, ["upkeep", "view", str(reference), str(snapshot)])
    assert result.exit_code == 1 and result.output.startswith("defocused:")
    cv2.imwrite(str(snapshot), footage.frames()[1])
    assert runner.invoke(app, ["upkeep", "view", str(reference), str(snapshot)]).exit_code == 0
    missing = runner.invoke(app, ["upkeep", "view", str(reference), str(tmp_path / "no.jpg")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
