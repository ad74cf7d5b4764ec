"""Integrations: one folder each, registered through the ``bastion.integrations`` entry point.

An integration has a ``manifest.json``, a strict config model selected by its
``type`` key, and ``setup(hub, config)`` / ``unload()``. It reaches the domains
only through the bus and the hub.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from bastion.core.errors import ConfigError

ENTRY_POINT_GROUP = "bastion.integrations"
_LOGGER = logging.getLogger(__name__)


class Integration(Protocol):
    """What every integration class provides."""

    domain: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    async def setup(self, hub: Any, config: Any) -> None:
        """Start talking to the devices; must not block the event loop."""
        ...

    async def unload(self) -> None:
        """Stop cleanly, releasing every task, thread and port."""
        ...


def available() -> dict[str, type[Integration]]:
    """Return the installed integrations keyed by their ``type`` name."""
    found: dict[str, type[Integration]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[entry.name] = entry.load()
        except ImportError:
            # One broken or absent plugin must not take the others down with it.
            _LOGGER.exception("integration %r cannot be loaded; skipping it", entry.name)
    return found


def create(config: dict[str, Any]) -> tuple[Integration, BaseModel]:
    """Instantiate the integration named by ``config['type']`` with its validated config."""
    kind = config.get("type")
    registry = available()
    if kind not in registry:
        known = ", ".join(sorted(registry)) or "none"
        raise ConfigError(f"unknown integration type {kind!r} (installed: {known})", field="type")
    cls = registry[str(kind)]
    return cls(), cls.config_model.model_validate(config)
