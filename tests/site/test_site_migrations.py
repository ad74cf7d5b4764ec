from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from bastion.core.errors import ConfigError
from bastion.site.loader import load_site
from bastion.site.migrations import MIGRATIONS, migrate
from bastion.site.schemas import CURRENT_VERSION, Layer

LineOf = Callable[[str, str], int]

# The same small site in the version 0 format: no version key, `level:`, door
# `zones: [outer, inner]` and a day range.
V0_YAML = """\
site:
  id: old-site
  name: Old site
  timezone: America/Denver
zones:
  - id: lobby
    name: Lobby
    level: building
  - id: vault
    name: Vault
    level: 5
doors:
  - id: front
    name: Front door
    zones: [outside, lobby]
  - id: vault-door
    name: Vault door
    zones:
      - lobby
      - vault
barriers:
  - id: vault-wall
    name: Vault wall
    kind: wall
    zones: [lobby, vault]
schedules:
  - id: weekdays
    name: Weekdays
    intervals:
      - {days: mon-fri, start: "08:00", end: "17:00"}
      - {days: sat, start: "09:00", end: "12:00"}
"""

V1_YAML = """\
version: 1
site:
  id: old-site
  name: Old site
  timezone: America/Denver
zones:
  - {id: lobby, name: Lobby, layer: building}
  - {id: vault, name: Vault, layer: vault}
doors:
  - {id: front, name: Front door, from: outside, to: lobby}
  - {id: vault-door, name: Vault door, from: lobby, to: vault}
barriers:
  - {id: vault-wall, name: Vault wall, kind: wall, from: lobby, to: vault}
schedules:
  - id: weekdays
    name: Weekdays
    intervals:
      - {days: [mon, tue, wed, thu, fri], start: "08:00", end: "17:00"}
      - {days: [sat], start: "09:00", end: "12:00"}
"""


def test_every_old_version_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(CURRENT_VERSION))


def test_version_0_file_loads_like_its_version_1_twin() -> None:
    old = load_site(V0_YAML, source="old.yaml")
    assert old == load_site(V1_YAML, source="new.yaml")
    assert old.version == CURRENT_VERSION
    assert old.zone("vault").layer is Layer.VAULT
    assert (old.door("vault-door").from_zone, old.door("vault-door").to_zone) == ("lobby", "vault")
    assert old.schedules[0].intervals[0].days == ("mon", "tue", "wed", "thu", "fri")


def test_migrate_returns_a_copy() -> None:
    data = {
        "site": {"id": "s", "name": "S", "timezone": "UTC"},
        "zones": [{"id": "a", "name": "A", "level": "interior"}],
        "doors": [{"id": "d", "name": "D", "zones": ["outside", "a"]}],
    }
    before = copy.deepcopy(data)
    result = migrate(data)
    assert data == before
    assert result["version"] == CURRENT_VERSION
    assert result["zones"][0] == {"id": "a", "name": "A", "layer": "interior"}
    assert result["doors"][0] == {"id": "d", "name": "D", "from": "outside", "to": "a"}


def test_current_file_without_version_passes_through(site_text: Callable[..., str]) -> None:
    with_version = site_text()
    without = with_version.replace("version: 1\n", "", 1)
    assert without != with_version
    assert load_site(without) == load_site(with_version)


def test_migrated_field_errors_point_at_the_old_spelling(line_of: LineOf) -> None:
    text = V0_YAML.replace("      - vault\n", "      - vualt\n")
    with pytest.raises(ConfigError) as info:
        load_site(text, source="old.yaml")
    error = info.value
    assert (error.file, error.line, error.field) == (
        "old.yaml",
        line_of(text, "vualt"),
        "doors[vault-door].to",
    )
    assert error.message == "unknown zone 'vualt'"


def test_renamed_level_errors_point_at_level(line_of: LineOf) -> None:
    text = V0_YAML.replace("level: 5", "level: bunker")
    with pytest.raises(ConfigError) as info:
        load_site(text, source="old.yaml")
    assert (info.value.line, info.value.field) == (line_of(text, "bunker"), "zones[vault].layer")


@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "message"),
    [
        (
            "zones: [outside, lobby]",
            "zones: [outside, lobby, vault]",
            "doors.0.zones",
            "[outside, lobby, vault]",
            "exactly two zones",
        ),
        (
            "    level: building\n",
            "    level: building\n    layer: building\n",
            "zones.0.level",
            "level: building",
            "both 'level'",
        ),
        ("level: 5", "level: 9", "zones.1.level", "level: 9", "level 9 is not 1–5"),
        ("days: mon-fri", "days: fri-mon", "schedules.0.intervals.0.days", "fri-mon", "backwards"),
        ("days: mon-fri", "days: mon-fry", "schedules.0.intervals.0.days", "mon-fry", "mon-fry"),
    ],
)
def test_bad_version_0_input(
    line_of: LineOf, old: str, new: str, field: str, needle: str, message: str
) -> None:
    assert old in V0_YAML
    text = V0_YAML.replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        load_site(text, source="old.yaml")
    error = info.value
    assert (error.file, error.line, error.field) == ("old.yaml", line_of(text, needle), field)
    assert message in error.message


def test_too_new_version(site_text: Callable[..., str], line_of: LineOf) -> None:
    text = site_text(replace={"version: 1\n": "# from the future\nversion: 7\n"})
    with pytest.raises(ConfigError) as info:
        load_site(text, source="future.yaml")
    error = info.value
    assert (error.file, error.line, error.field) == (
        "future.yaml",
        line_of(text, "version: 7"),
        "version",
    )
    assert "newer than this Bastion supports (1)" in error.message


@pytest.mark.parametrize("value", ["one", "1.5", "true", "-1"])
def test_version_must_be_a_known_whole_number(
    site_text: Callable[..., str], line_of: LineOf, value: str
) -> None:
    text = site_text(replace={"version: 1\n": f"version: {value}\n"})
    with pytest.raises(ConfigError) as info:
        load_site(text, source="odd.yaml")
    assert (info.value.line, info.value.field) == (line_of(text, "version:"), "version")
