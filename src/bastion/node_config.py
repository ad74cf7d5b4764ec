"""The node's configuration file: the integrations ``bastion serve`` runs, and health settings.

The site model says what is installed; this file says how this node reaches it::

    version: 1
    integrations:
      - type: mqtt
        site_id: dispensary-main
        host: broker.example
        password: ${BASTION_MQTT_PASSWORD}   # taken from the environment
      - type: frigate
        site_id: dispensary-main
        cameras: {dock_apron: cam-dock-apron}
    health:
      sensor: {offline_grace_s: 60}

Each integration entry is validated by that integration's own strict config model. A
string that is exactly ``${NAME}`` is read from the environment, so secrets need not be
written in the file. Errors name the file and the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bastion.core.errors import ConfigError
from bastion.core.events import DeviceKind
from bastion.integrations import Integration, create
from bastion.maintenance.health import KindSettings
from bastion.maintenance.settings import SiteUpkeep

FILE_NAME = "bastion.yaml"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class NodeConfigFile(BaseModel):
    """The file's top level (integrations are checked one by one, by their own models)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(default=1, title="Version", description="File format version.")
    integrations: list[dict[str, Any]] = Field(
        default_factory=list,
        title="Integrations",
        description="One entry per integration to run, selected by its 'type'.",
    )
    health: dict[DeviceKind, KindSettings] = Field(
        default_factory=dict,
        title="Device health",
        description="Grace periods and flapping limits per device kind.",
    )
    upkeep: dict[str, SiteUpkeep] = Field(
        default_factory=dict,
        title="Upkeep",
        description="Per site: where recordings and camera snapshots are read for upkeep checks.",
    )


@dataclass
class NodeConfig:
    """A loaded configuration: integrations ready to set up, and health settings."""

    source: str = ""
    integrations: list[tuple[Integration, BaseModel]] = field(default_factory=list)
    health: dict[str, KindSettings] = field(default_factory=dict)
    upkeep: dict[str, SiteUpkeep] = field(default_factory=dict)

    def site_ids(self) -> list[str]:
        """Return the site each integration serves, in order."""
        return [str(getattr(config, "site_id", "")) for _, config in self.integrations]


def config_path(data_dir: Path, explicit: Path | None) -> Path | None:
    """Return the file to read: the one given, else ``<data dir>/bastion.yaml`` if present."""
    if explicit is not None:
        return explicit
    default = data_dir / FILE_NAME
    return default if default.exists() else None


def load_node_config(path: Path, *, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """Read, expand and validate a node configuration file; raise ConfigError on any fault."""
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration file not found", file=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file: {exc}", file=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=source, line=line) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping (version, integrations …)", file=source)
    data = _expand(raw, environ if environ is not None else os.environ, source, "")
    try:
        parsed = NodeConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source, "") from None
    loaded = NodeConfig(source=source, health={str(k): v for k, v in parsed.health.items()})
    loaded.upkeep = dict(parsed.upkeep)
    for index, entry in enumerate(parsed.integrations):
        where = f"integrations.{index}"
        try:
            loaded.integrations.append(create(entry))
        except ValidationError as exc:
            raise _config_error(exc, source, where) from None
        except ConfigError as exc:
            raise ConfigError(exc.message, file=source, field=f"{where}.type") from None
    return loaded


def verify_sites(config: NodeConfig, known: set[str]) -> None:
    """Require every integration's site to be one this node has loaded."""
    for index, site_id in enumerate(config.site_ids()):
        if site_id and site_id not in known:
            have = ", ".join(sorted(known)) or "none (import one with 'bastion site import')"
            raise ConfigError(
                f"unknown site {site_id!r}; this node has {have}",
                file=config.source,
                field=f"integrations.{index}.site_id",
            )


def _expand(value: Any, environ: Mapping[str, str], source: str, where: str) -> Any:
    """Replace ``${NAME}`` strings by the environment's value, recursively."""
    if isinstance(value, dict):
        return {
            k: _expand(v, environ, source, f"{where}.{k}".lstrip(".")) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand(v, environ, source, f"{where}.{i}".lstrip(".")) for i, v in enumerate(value)
        ]
    if isinstance(value, str) and (match := _ENV.fullmatch(value.strip())):
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"environment variable {name} is not set", file=source, field=where)
        return environ[name]
    return value


def _config_error(exc: ValidationError, source: str, prefix: str) -> ConfigError:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "missing required field"
    more = len(exc.errors()) - 1
    if more:
        message += f" (+{more} more)"
    return ConfigError(message, file=source, field=location or None)
