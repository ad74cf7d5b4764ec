"""Load site YAML into a validated :class:`Site`, and dump a site back to YAML.

Every failure is a :class:`~bastion.core.errors.ConfigError` naming the file, the 1-based
line and the dotted field, e.g. ``examples/x.yaml:42: doors.3.to: unknown zone 'vualt'``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bastion.core.errors import ConfigError
from bastion.site.graph import verify_reachable
from bastion.site.migrations import migrate
from bastion.site.schemas import CURRENT_VERSION, Site, SiteReferenceError

__all__ = ["dump_site", "load_site", "load_site_file"]

_TAG_MAP = "tag:yaml.org,2002:map"
_TAG_SEQ = "tag:yaml.org,2002:seq"
_TAG_MERGE = "tag:yaml.org,2002:merge"


class _SiteYamlLoader(yaml.SafeLoader):
    """A SafeLoader that reads ``17:30`` as a string, not as YAML 1.1 base-60 ``1050``."""


# Copy the SafeLoader resolvers minus int/float, then add them back without the
# sexagesimal forms: schedule times are written bare (``start: 17:30``) by newcomers.
_SiteYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SiteYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_SiteYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


class _Mapping(dict[Any, Any]):
    """A parsed mapping that remembers its own line and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class _Sequence(list[Any]):
    """A parsed sequence that remembers its own line and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _dotted(path: Iterable[object]) -> str:
    return ".".join(str(part) for part in path)


class _Builder:
    """Turn a composed YAML node tree into line-marked plain data."""

    def __init__(self, loader: _SiteYamlLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.done: dict[int, Any] = {}
        self.active: set[int] = set()

    def error(self, message: str, node: yaml.Node, path: list[object]) -> ConfigError:
        return ConfigError(message, file=self.source, line=_line(node), field=_dotted(path) or None)

    def build(self, node: yaml.Node, path: list[object]) -> Any:
        # Aliases share one node object: build it once (no "billion laughs" blow-up) and
        # refuse an alias that refers to a node still being built (a recursive document).
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            raise self.error("a YAML alias refers to itself", node, path)
        self.active.add(key)
        try:
            if isinstance(node, yaml.MappingNode):
                value: Any = self._mapping(node, path)
            elif isinstance(node, yaml.SequenceNode):
                value = self._sequence(node, path)
            else:
                value = self._scalar(node, path)
        finally:
            self.active.discard(key)
        self.done[key] = value
        return value

    def _mapping(self, node: yaml.MappingNode, path: list[object]) -> _Mapping:
        if node.tag != _TAG_MAP:
            raise self.error(f"unsupported YAML tag {node.tag!r}", node, path)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _TAG_MERGE:
                continue
            key = self._key(key_node, path)
            if key in seen:
                raise self.error(
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node,
                    [*path, key],
                )
            seen[key] = _line(key_node)
        # Merge keys (``<<: *defaults``) put the merged pairs first, so explicit keys win.
        self.loader.flatten_mapping(node)
        result = _Mapping(_line(node))
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            result[key] = self.build(value_node, [*path, key])
            result.key_lines[str(key)] = _line(key_node)
        return result

    def _scalar(self, node: yaml.Node, path: list[object]) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            raise self.error(f"invalid YAML value: {exc.problem}", node, path) from None

    def _key(self, node: yaml.Node, path: list[object]) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("mapping keys must be plain scalars", node, path)
        return self._scalar(node, path)

    def _sequence(self, node: yaml.SequenceNode, path: list[object]) -> _Sequence:
        if node.tag != _TAG_SEQ:
            raise self.error(f"unsupported YAML tag {node.tag!r}", node, path)
        result = _Sequence(_line(node))
        for index, item in enumerate(node.value):
            result.append(self.build(item, [*path, index]))
            result.item_lines.append(_line(item))
        return result


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        parts = [exc.problem or "invalid YAML"]
        if exc.context:
            parts.append(f"({exc.context})")
        return ConfigError("invalid YAML: " + " ".join(parts), file=source, line=line)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        return ConfigError(f"invalid YAML: {exc.reason}", file=source, line=line)
    return ConfigError(f"invalid YAML: {exc}", file=source)


def _parse(text: str, source: str) -> _Mapping:
    try:
        # The reader rejects control characters as soon as it is built.
        loader = _SiteYamlLoader(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("the file is empty; expected a site mapping", file=source, line=1)
        if not isinstance(node, yaml.MappingNode):
            kind = "sequence" if isinstance(node, yaml.SequenceNode) else f"scalar ({node.value!r})"
            raise ConfigError(
                f"the top level must be a mapping of site sections, not a {kind}",
                file=source,
                line=_line(node),
            )
        data = _Builder(loader, source).build(node, [])
        assert isinstance(data, _Mapping)  # a MappingNode always builds a _Mapping
        return data
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    finally:
        loader.dispose()


def line_of(data: Any, field: str | None) -> int | None:
    """Return the line of the node at dotted ``field`` in loader data (or its nearest parent)."""
    line = getattr(data, "line", None)
    if not field:
        return line
    node = data
    for part in field.split("."):
        if isinstance(node, _Mapping):
            match = next((key for key in node if str(key) == part), None)
            if match is None:
                return line
            line = node.key_lines.get(part, line)
            node = node[match]
        elif isinstance(node, _Sequence) and part.isdigit() and int(part) < len(node):
            line = node.item_lines[int(part)]
            node = node[int(part)]
        else:
            return line
    return line


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _id_path(data: Any, dotted: str) -> str:
    """Return a dotted field as people name it: ``zones[vault].camera`` for ``zones.3.camera``."""
    out = ""
    node = data
    for part in dotted.split(".") if dotted else []:
        if isinstance(node, list) and part.isdigit():
            index = int(part)
            node = node[index] if index < len(node) else None
            ident = node.get("id") if isinstance(node, dict) else None
            out += f"[{ident}]" if isinstance(ident, str) and ident else f"[{index}]"
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return the models an annotation holds (through lists, tuples, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType) or get_args(annotation):
        return [model for arg in get_args(annotation) for model in _models_in(arg)]
    return []


def _field_names_at(loc: list[str]) -> list[str]:
    """Return the field names (and aliases) allowed at ``loc`` in a site file."""
    models: list[type[BaseModel]] = [Site]
    for part in loc:
        if part.isdigit():
            continue
        inner: list[type[BaseModel]] = []
        for model in models:
            for name, info in model.model_fields.items():
                if part in (name, info.alias):
                    inner.extend(_models_in(info.annotation))
        models = inner
        if not models:
            return []
    return [info.alias or name for model in models for name, info in model.model_fields.items()]


def _describe(error: ErrorDetails) -> tuple[str, str]:
    """Return (dotted field, message) for one pydantic error."""
    loc = [str(part) for part in error["loc"]]
    kind = error["type"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, SiteReferenceError):
        return _dotted([*loc, cause.field]), cause.message
    if kind == "extra_forbidden":
        if not loc:
            return "", "unknown field"
        message = f"unknown field {loc[-1]!r}"
        close = difflib.get_close_matches(loc[-1], _field_names_at(loc[:-1]), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        return _dotted(loc), message
    if kind == "missing":
        return _dotted(loc), f"missing required field {loc[-1]!r}" if loc else "missing field"
    message = error["msg"]
    if kind in ("value_error", "assertion_error"):
        message = message.split(", ", 1)[-1]
    else:
        # The models use tuples so they can be frozen; the file has YAML lists.
        message = message.replace("a valid tuple", "a list").replace("Tuple should", "List should")
        given = error.get("input")
        if isinstance(given, dict):
            message += " (got a mapping)"
        elif not isinstance(given, list):
            message += f" (got {given!r})"
    return _dotted(loc), message


def _problem(message: str, data: Any, source: str, field: str | None) -> ConfigError:
    """Return one located problem: the line from the dotted field, the field by its ids."""
    return ConfigError(
        _one_line(message),
        file=source,
        line=line_of(data, field),
        field=_id_path(data, field) if field else None,
    )


def _validation_error(exc: ValidationError, data: Any, source: str) -> ConfigError:
    """Return every problem pydantic found, the first carrying the others."""
    errors = exc.errors()
    # A list whose items all failed is also "too short"; the items' own errors say why.
    errors = [
        error
        for error in errors
        if error["type"] != "too_short"
        or not any(
            other["loc"][: len(error["loc"])] == error["loc"] != other["loc"] for other in errors
        )
    ] or errors
    problems = [_problem(text, data, source, field) for field, text in map(_describe, errors)]
    first, rest = problems[0], tuple(problems[1:])
    return ConfigError(first.message, file=source, line=first.line, field=first.field, more=rest)


def load_site(text: str, *, source: str = "<string>") -> Site:
    """Parse, migrate and validate site YAML; raise ConfigError naming file, line and field."""
    raw = _parse(text, source)
    try:
        data = migrate(raw)
    except ConfigError as exc:
        raise ConfigError(
            exc.message, file=source, line=line_of(raw, exc.field), field=exc.field
        ) from None
    try:
        site = Site.model_validate(data)
        verify_reachable(site)
    except ValidationError as exc:
        raise _validation_error(exc, data, source) from None
    except SiteReferenceError as exc:
        raise _problem(exc.message, data, source, exc.field) from None
    return site


def load_site_file(path: str | Path) -> Site:
    """Read and load a site YAML file; a missing or unreadable file is a ConfigError too."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("file is not UTF-8 text", file=source) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", file=source) from None
    return load_site(text, source=source)


# --- dumping -----------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A small mapping written on one line (``{x: 3, y: 4}``)."""


class _FlowList(list[Any]):
    """A list of scalars written on one line (``[mon, tue]``)."""


class _SiteDumper(yaml.SafeDumper):
    """A SafeDumper that indents lists under their key and writes small leaves inline."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent block sequences under their parent key."""
        super().increase_indent(flow, False)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping(_TAG_MAP, data.items(), flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence(_TAG_SEQ, data, flow_style=True)


_SiteDumper.add_representer(_Flow, _represent_flow)
_SiteDumper.add_representer(_FlowList, _represent_flow_list)

_SCALARS = (str, int, float, bool, dt.date, type(None))
_FLOW_MAX_KEYS = 4
_EXACT_INT = 2**53


def _plain(value: Any) -> Any:
    """Convert dumped model data to YAML-friendly builtins, choosing inline style for leaves."""
    if isinstance(value, Enum):
        return value.name.lower() if isinstance(value, int) else value.value
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_INT:
        return int(value)  # "width: 60" reads better than "60.0" and loads back equal
    if isinstance(value, dt.time):
        if value.second or value.microsecond or value.tzinfo:
            return value.isoformat()
        return value.strftime("%H:%M")
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        leafy = all(isinstance(v, (*_SCALARS, _FlowList)) for v in items.values())
        return _Flow(items) if leafy and len(items) <= _FLOW_MAX_KEYS else items
    if isinstance(value, list | tuple):
        items_list = [_plain(v) for v in value]
        if items_list and all(isinstance(v, _SCALARS) for v in items_list):
            return _FlowList(items_list)
        return items_list
    return value


def dump_site(site: Site) -> str:
    """Return YAML for ``site`` that loads back to an equal Site (defaults left out)."""
    data = site.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    data.pop("version", None)
    document: dict[str, Any] = {"version": CURRENT_VERSION}
    for key, value in data.items():
        if value in ((), [], {}):
            continue
        document[key] = _plain(value)
    # Top-level sections stay block style even when small, so diffs stay readable.
    document = {k: dict(v) if isinstance(v, _Flow) else v for k, v in document.items()}
    return yaml.dump(
        document,
        Dumper=_SiteDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
