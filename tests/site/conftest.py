"""Fixtures for the site package: example files, YAML text and small-site factories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE_YAML = """\
version: 1
site:
  id: test-site
  name: Test site
  timezone: America/Chicago
zones:
  - id: lobby
    name: Lobby
    layer: building
  - id: vault
    name: Vault
    layer: vault
doors:
  - id: front
    name: Front door
    from: outside
    to: lobby
  - id: vault-door
    name: Vault door
    from: lobby
    to: vault
"""


@pytest.fixture
def example_site() -> Callable[[str], Site]:
    """Return a loader for ``examples/<name>.yaml``."""

    def load(name: str) -> Site:
        return load_site_file(EXAMPLES / f"{name}.yaml")

    return load


@pytest.fixture
def example_path() -> Callable[[str], Path]:
    """Return the path of ``examples/<name>.yaml``."""
    return lambda name: EXAMPLES / f"{name}.yaml"


@pytest.fixture
def site_text() -> Callable[..., str]:
    """Return a factory for site YAML: the base text with exact replacements and additions."""

    def make(replace: dict[str, str] | None = None, append: str = "") -> str:
        text = BASE_YAML
        for old, new in (replace or {}).items():
            # A replacement that silently matches nothing would make a test vacuous.
            assert text.count(old) == 1, f"{old!r} must occur exactly once in the base YAML"
            text = text.replace(old, new)
        return text + append

    return make


@pytest.fixture
def line_of() -> Callable[[str, str], int]:
    """Return a function giving the 1-based line of the only line containing a needle."""

    def find(text: str, needle: str) -> int:
        hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
        assert len(hits) == 1, f"{needle!r} is on lines {hits}"
        return hits[0]

    return find


@pytest.fixture
def make_site() -> Callable[..., Site]:
    """Return a factory for small sites from compact tuples (no reachability check)."""

    def make(
        zones: Sequence[tuple[str, str]],
        doors: Sequence[tuple[str, str, str]] = (),
        barriers: Sequence[tuple[str, str, str]] = (),
        devices: Sequence[dict[str, Any]] = (),
    ) -> Site:
        return Site.model_validate(
            {
                "version": 1,
                "site": {"id": "small", "name": "Small", "timezone": "UTC"},
                "zones": [
                    {"id": zone_id, "name": zone_id.title(), "layer": layer}
                    for zone_id, layer in zones
                ],
                "doors": [
                    {"id": door_id, "name": door_id, "from": a, "to": b} for door_id, a, b in doors
                ],
                "barriers": [
                    {"id": bid, "name": bid, "kind": "wall", "from": a, "to": b}
                    for bid, a, b in barriers
                ],
                "devices": list(devices),
            }
        )

    return make
