"""YAML loaders that refuse documents nested too deeply or holding too many values.

PyYAML composes nodes recursively, so a document nested a thousand levels deep raises
``RecursionError`` (a traceback in the CLI, a 500 from the API). Mixed in front of a
loader class, :class:`Bounded` stops at ``MAX_DEPTH`` levels or ``MAX_NODES`` values with
a ``yaml.MarkedYAMLError`` naming the line, which every YAML reader here already turns
into a clear error. Bastion's YAML (sites, rules, playbooks, plans, node configuration)
is a few levels deep and a few thousand values at most.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_NODES", "Bounded", "BoundedSafeLoader", "TooLarge", "safe_load"]

MAX_DEPTH = 64
MAX_NODES = 250_000


class TooLarge(yaml.MarkedYAMLError):
    """The document is deeper or larger than any Bastion file."""


class Bounded:
    """Loader mixin: count depth and nodes while composing; refuse past the bounds."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node (and its children) within the bounds."""
        nodes = getattr(self, "_bounded_nodes", 0) + 1
        depth = getattr(self, "_bounded_depth", 0) + 1
        self._bounded_nodes = nodes
        if nodes > self.max_nodes:
            raise self._too_large(f"more than {self.max_nodes} values")
        if depth > self.max_depth:
            raise self._too_large(f"nested more than {self.max_depth} levels deep")
        self._bounded_depth = depth
        try:
            composed: yaml.Node | None = super().compose_node(parent, index)  # type: ignore[misc]
            return composed
        finally:
            self._bounded_depth = depth - 1

    def _too_large(self, problem: str) -> TooLarge:
        loader: Any = self
        mark = loader.peek_event().start_mark
        return TooLarge(problem=problem, problem_mark=mark)


class BoundedSafeLoader(Bounded, yaml.SafeLoader):
    """``yaml.SafeLoader`` within the bounds."""


def safe_load(text: str | bytes) -> Any:
    """Like ``yaml.safe_load``, within the bounds (raises ``yaml.YAMLError`` past them)."""
    return yaml.load(text, Loader=BoundedSafeLoader)
