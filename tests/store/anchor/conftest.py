"""Fixtures of the checkpoint suites: an anchor on the test database, its files in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bastion.store.anchor import Anchor, AnchorConfig
from bastion.store.ledger import Ledger

MakeAnchor = Callable[..., Anchor]


@pytest.fixture
def make_anchor(tmp_path: Path, ledger: Ledger) -> Iterator[MakeAnchor]:
    """Return a factory of anchors sharing one key file and checkpoint directory."""
    made: list[Anchor] = []

    def make(**overrides: object) -> Anchor:
        values: dict[str, object] = {
            "key_file": tmp_path / "keys" / "ledger-signing.key",
            "checkpoint_dir": tmp_path / "checkpoints",
            "every_events": 1000,
            "every_seconds": 3600.0,
        }
        values.update(overrides)
        anchor = Anchor(ledger, AnchorConfig(**values))  # type: ignore[arg-type]
        made.append(anchor)
        return anchor

    yield make
    for anchor in made:
        anchor.close()


@pytest.fixture
def anchor(make_anchor: MakeAnchor) -> Anchor:
    """Return an anchor whose key exists (no background thread)."""
    made = make_anchor()
    made.prepare(create=True)
    return made
