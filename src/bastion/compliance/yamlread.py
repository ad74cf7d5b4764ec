"""Read YAML into plain data while remembering the line of every dotted path.

Rule packs, profiles and record files are written by people; every error they cause
must name the file, the line and the field, so the reader keeps a path → line map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ConfigError

Lines = dict[str, int]


_SCALARS = yaml.SafeLoader("")


def _walk(node: yaml.Node, path: str, lines: Lines, source: str) -> Any:
    lines[path] = int(node.start_mark.line) + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain words", file=source, line=lines[path])
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in out:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    file=source,
                    line=int(key_node.start_mark.line) + 1,
                    field=child,
                )
            out[key] = _walk(value_node, child, lines, source)
            lines[child] = int(key_node.start_mark.line) + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(item, f"{path}.{index}" if path else str(index), lines, source)
            for index, item in enumerate(node.value)
        ]
    try:
        return _SCALARS.construct_object(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid value: {exc}", file=source, line=lines[path]) from None


def parse_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """Return (data, lines) for YAML text; a syntax error is a ConfigError with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=source) from None
    lines: Lines = {}
    if node is None:
        return None, lines
    return _walk(node, "", lines, source), lines


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """Read and parse a YAML file; unreadable files are ConfigErrors too."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", file=str(path)) from None
    return parse_yaml(text, str(path))


def line_for(lines: Lines, field: str) -> int | None:
    """Return the line of ``field`` or of its nearest parent."""
    parts = field.split(".")
    while parts:
        found = lines.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return lines.get("")
