"""The one site-time helper every console page, message, PDF and CLI table uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bastion.core.sitetime import (
    default_zone,
    known_zone,
    local_to_utc,
    site_time,
    site_zone,
    zone_name,
)

WEST = "America/Los_Angeles"


def test_a_moment_reads_on_the_sites_clock_with_the_zone_named() -> None:
    moment = datetime(2026, 12, 3, 17, 15, 42, tzinfo=UTC)
    assert site_time(moment, WEST) == "2026-12-03 09:15 PST"
    assert site_time(moment, ZoneInfo(WEST), seconds=True) == "2026-12-03 09:15:42 PST"
    assert site_time(moment, WEST, with_date=False) == "09:15 PST"
    summer = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert site_time(summer, WEST) == "2026-07-01 09:00 PDT"


def test_empty_naive_and_unknown_zones_are_handled_plainly() -> None:
    assert site_time(None, WEST) == "—" and site_time(None, WEST, empty="-") == "-"
    naive = datetime(2026, 12, 3, 17, 15)  # the store's convention: naive means UTC
    assert site_time(naive, WEST) == "2026-12-03 09:15 PST"
    assert site_time(naive, "Mars/Olympus") == "2026-12-03 17:15 UTC"
    assert site_zone(None) is UTC and site_zone("") is UTC
    assert not known_zone("Mars/Olympus") and known_zone(WEST)


def test_zone_names_and_the_deployments_default_zone() -> None:
    assert zone_name(WEST) == WEST and zone_name(None) == "UTC"
    sites = {
        "b-site": SimpleNamespace(site=SimpleNamespace(timezone="America/Chicago")),
        "a-site": SimpleNamespace(site=SimpleNamespace(timezone=WEST)),
    }
    assert zone_name(default_zone(sites)) == WEST  # the first site by id, as the console shows
    assert default_zone({}) is UTC


def test_a_wall_clock_time_typed_at_the_site_becomes_utc() -> None:
    assert local_to_utc(date(2026, 12, 3), time(22, 0), WEST) == datetime(
        2026, 12, 4, 6, 0, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 7, 1), time(22, 0), WEST) == datetime(
        2026, 7, 2, 5, 0, tzinfo=UTC
    )
