"""Migrate older site files, in memory, to the current format version.

Files on disk are never rewritten: a read-only site file from an older release still
boots, and ``bastion site export`` writes the current format when the operator wants it.

Format history:

* **Version 0** (no ``version`` key): zones gave their layer as ``level:`` (a name or a
  number 1–5); doors and barriers named their two sides as ``zones: [outer, inner]``;
  schedule intervals could give ``days`` as a range string such as ``mon-fri``.
* **Version 1**: ``layer:``, ``from:``/``to:`` and lists of weekdays.

A file without a ``version`` key is read as version 0.  The version 0 step only touches
the old spellings, so a current-format file that merely omits ``version`` passes through
it unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bastion.core.errors import ConfigError
from bastion.site.schemas import ALL_DAYS, CURRENT_VERSION, Layer

Migration = Callable[[dict[str, Any]], dict[str, Any]]

_LEGACY_LEVELS = {int(layer): layer.name.lower() for layer in Layer if layer is not Layer.OUTSIDE}


# The loader hands us dicts and lists that remember the line of every key and item
# (``key_lines`` / ``item_lines`` attributes).  Renames go through these helpers so an
# error on a migrated field still points at the line where the old spelling was written.
def _key_line(mapping: dict[str, Any], key: str) -> int | None:
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if isinstance(lines, dict) else None


def _item_line(sequence: list[Any], index: int) -> int | None:
    lines = getattr(sequence, "item_lines", None)
    if isinstance(lines, list) and 0 <= index < len(lines):
        line = lines[index]
        return line if isinstance(line, int) else None
    return None


def _replace(mapping: dict[str, Any], old: str, new: dict[str, tuple[Any, int | None]]) -> None:
    """Swap key ``old`` for the keys of ``new`` in place, keeping order and line marks."""
    items = list(mapping.items())
    mapping.clear()
    lines = getattr(mapping, "key_lines", None)
    for key, value in items:
        if key != old:
            mapping[key] = value
            continue
        for new_key, (new_value, line) in new.items():
            mapping[new_key] = new_value
            if isinstance(lines, dict) and line is not None:
                lines[new_key] = line


def _migrate_level(zone: dict[str, Any], where: str) -> None:
    if "level" not in zone:
        return
    if "layer" in zone:
        raise ConfigError(
            "has both 'level' (version 0) and 'layer'; keep only 'layer'", field=f"{where}.level"
        )
    level = zone["level"]
    if isinstance(level, int) and not isinstance(level, bool):
        if level not in _LEGACY_LEVELS:
            raise ConfigError(f"level {level} is not 1–5", field=f"{where}.level")
        level = _LEGACY_LEVELS[level]
    _replace(zone, "level", {"layer": (level, _key_line(zone, "level"))})


def _migrate_sides(item: dict[str, Any], where: str) -> None:
    if "zones" not in item:
        return
    if "from" in item or "to" in item:
        raise ConfigError(
            "has both 'zones' (version 0) and 'from'/'to'; keep only 'from'/'to'",
            field=f"{where}.zones",
        )
    sides = item["zones"]
    if not isinstance(sides, list) or len(sides) != 2:
        raise ConfigError(
            "version 0 'zones' must list exactly two zones: [outer, inner]", field=f"{where}.zones"
        )
    line = _key_line(item, "zones")
    _replace(
        item,
        "zones",
        {
            "from": (sides[0], _item_line(sides, 0) or line),
            "to": (sides[1], _item_line(sides, 1) or line),
        },
    )


def _expand_days(days: str, where: str) -> list[str]:
    first, sep, last = days.strip().lower().partition("-")
    if not sep:
        return [first]
    if first not in ALL_DAYS or last not in ALL_DAYS:
        raise ConfigError(f"cannot read day range {days!r}; use e.g. 'mon-fri'", field=where)
    start, end = ALL_DAYS.index(first), ALL_DAYS.index(last)
    if end < start:
        raise ConfigError(f"day range {days!r} runs backwards", field=where)
    return list(ALL_DAYS[start : end + 1])


def _dicts(data: dict[str, Any], group: str) -> list[tuple[int, dict[str, Any]]]:
    items = data.get(group)
    if not isinstance(items, list):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]


def migrate_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Rename ``level`` to ``layer``, split door ``zones`` into ``from``/``to``, expand day ranges."""
    for index, zone in _dicts(data, "zones"):
        _migrate_level(zone, f"zones.{index}")
    for group in ("doors", "barriers"):
        for index, item in _dicts(data, group):
            _migrate_sides(item, f"{group}.{index}")
    for index, schedule in _dicts(data, "schedules"):
        for key in ("intervals", "holiday_intervals"):
            intervals = schedule.get(key)
            if not isinstance(intervals, list):
                continue
            for number, interval in enumerate(intervals):
                if isinstance(interval, dict) and isinstance(interval.get("days"), str):
                    where = f"schedules.{index}.{key}.{number}.days"
                    interval["days"] = _expand_days(interval["days"], where)
    data["version"] = 1
    return data


MIGRATIONS: dict[int, Migration] = {0: migrate_0_to_1}
"""Version N → the function that turns a version-N document into version N+1."""


def document_version(data: dict[str, Any]) -> int:
    """Return the format version a parsed site document declares (0 when it has none)."""
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError(f"must be a whole number, not {version!r}", field="version")
    if version < 0:
        raise ConfigError(f"version {version} does not exist", field="version")
    if version > CURRENT_VERSION:
        raise ConfigError(
            f"version {version} is newer than this Bastion supports ({CURRENT_VERSION}); "
            "upgrade Bastion",
            field="version",
        )
    return version


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a parsed site document upgraded to ``CURRENT_VERSION``."""
    version = document_version(data)
    result = copy.deepcopy(data)
    while version < CURRENT_VERSION:
        result = MIGRATIONS[version](result)
        version += 1
        result["version"] = version
    return result
