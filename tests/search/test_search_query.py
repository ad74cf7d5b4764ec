"""Event search in the database: each filter, names instead of ids, site time, paging."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bastion.core.errors import InvalidInput
from bastion.hub import Hub
from bastion.search import export, service
from bastion.search.query import EventFilter
from bastion.site.schemas import Site

from .conftest import Day

CHICAGO = ZoneInfo("America/Chicago")


def found(hub: Hub, site: Site, **filters: object) -> list:
    return service.search(hub, site, EventFilter(**filters)).lines  # type: ignore[arg-type]


def test_rows_carry_names_and_site_time(site_hub: Hub, dispensary: Site, day: Day) -> None:
    lines = found(site_hub, dispensary)
    assert [line.type for line in lines] == [
        "alarm.raised",
        "door.held",
        "access.decision",
        "access.decision",
        "access.decision",
        "people.changed",
        "people.changed",
    ]  # newest first; the other site's event is not here
    refused = lines[3]
    assert refused.who == "Bob Tran"
    assert refused.where == "Vault door · Vault"
    assert refused.outcome == "denied" and refused.what == "Denied: no level for door"
    local = (day.start + timedelta(minutes=20)).astimezone(CHICAGO)
    assert refused.local_time == local.strftime("%Y-%m-%d %H:%M:%S %Z")
    assert lines[0].what == "Cash room door held open" and lines[0].who == "Bastion"


def test_each_filter_narrows_the_results(site_hub: Hub, dispensary: Site, day: Day) -> None:
    vault = found(site_hub, dispensary, zone="vault")
    assert {(line.who, line.outcome) for line in vault} == {
        ("Alice Moreno", "granted"),
        ("Bob Tran", "denied"),
    }
    cash = found(site_hub, dispensary, door="cash-door")
    assert [line.type for line in cash] == ["alarm.raised", "door.held", "access.decision"]
    alice = found(site_hub, dispensary, person="alice")
    assert [(line.type, line.who) for line in alice] == [
        ("access.decision", "Alice Moreno"),
        ("people.changed", "Alice Moreno"),
    ]
    assert found(site_hub, dispensary, person="nobody") == []
    denied = found(site_hub, dispensary, outcome="denied")
    assert [line.who for line in denied] == ["Bob Tran"]
    assert [line.type for line in found(site_hub, dispensary, kinds=("alarms",))] == [
        "alarm.raised"
    ]
    assert [line.what for line in found(site_hub, dispensary, text="HELD OPEN")] == [
        "Cash room door held open"
    ]
    window = found(
        site_hub,
        dispensary,
        since=day.start + timedelta(minutes=10),
        until=day.start + timedelta(hours=1),
    )
    assert [line.who for line in window] == ["Bob Tran"]


def test_pages_are_exact(site_hub: Hub, dispensary: Site, day: Day) -> None:
    from bastion.search.names import Names
    from bastion.search.query import search_events

    every = [line.seq for line in found(site_hub, dispensary)]
    paged: list[int] = []
    with site_hub.db.sessions() as session:
        names = Names.load(session, dispensary)
        for page in range(1, 20):
            result = search_events(
                session,
                site_id=dispensary.site.id,
                names=names,
                zone=CHICAGO,
                filters=EventFilter(),
                page=page,
                page_size=2,
            )
            paged += [line.seq for line in result.lines]
            if not result.has_more:
                break
    assert paged == every and len(every) >= 7


def test_filters_from_a_request_read_site_time_and_refuse_bad_input(dispensary: Site) -> None:
    filters = service.filters_from(
        {"since": "2026-12-01T08:00", "zone": "vault"}, ["access"], dispensary
    )
    assert filters.since is not None and filters.since.utcoffset() == timedelta(hours=-6)
    with pytest.raises(InvalidInput, match="from: 'yesterday' is not a date and time"):
        service.filters_from({"since": "yesterday"}, [], dispensary)
    with pytest.raises(InvalidInput, match="has no zone 'attic'"):
        service.filters_from({"zone": "attic"}, [], dispensary)
    with pytest.raises(InvalidInput, match="unknown kind of event 'weather'"):
        service.filters_from({}, ["weather"], dispensary)
    with pytest.raises(InvalidInput, match="before its end"):
        service.filters_from(
            {"since": "2026-12-02T08:00", "until": "2026-12-01T08:00"}, [], dispensary
        )
    with pytest.raises(InvalidInput, match="outcome"):
        service.filters_from({"outcome": "maybe"}, [], dispensary)


def test_csv_export_neutralises_formulas(site_hub: Hub, dispensary: Site, day: Day) -> None:
    lines = found(site_hub, dispensary)
    text = export.to_csv(lines)
    assert text.splitlines()[0] == "Time,Event,What,Where,Who,Outcome,Ledger seq"
    assert "Bob Tran" in text and "Vault door · Vault" in text
    bad = lines[0].__class__(**{**lines[0].__dict__, "what": '=HYPERLINK("x")'})
    assert "'=HYPERLINK" in export.to_csv([bad])
