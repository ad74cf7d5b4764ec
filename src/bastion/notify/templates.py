"""Message templates: strict, sandboxed Jinja2 checked when saved and rendered when sent.

A template may use the standard variables (site, zone, time, operator_note) and the
extra ones it declares; anything else is a configuration error when it is saved,
and a variable left out at send time is an error before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from bastion.core.errors import ConfigError, InvalidInput
from bastion.core.sitetime import site_time

STANDARD_VARIABLES = ("site", "address", "zone", "time", "operator_note")
"""Variables every template may use; callers pass them (``time`` defaults to now).

When the call tree's site is known, ``site``, ``address`` and ``time`` default to its
name, street address and local time.
"""

DEFAULT_TEMPLATES_FILE = Path(__file__).with_name("scenarios.yaml")

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def local_time(moment: datetime, timezone: str | None) -> str:
    """Return ``moment`` as people read it in messages: local date, time and zone abbreviation."""
    return site_time(moment, timezone)


def variables_used(source: str, *, field: str) -> set[str]:
    """Return the variables ``source`` reads; raise ConfigError on a syntax error."""
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"template syntax error: {exc}", field=field, line=line) from None


def check_template(
    *, template_id: str, title: str, body: str, variables: Iterable[str] = ()
) -> list[str]:
    """Raise ConfigError when the template uses an undeclared variable; return the ones it uses."""
    allowed = set(STANDARD_VARIABLES) | set(variables)
    used = variables_used(title, field="title") | variables_used(body, field="body")
    unknown = sorted(used - allowed)
    if unknown:
        raise ConfigError(
            f"template {template_id!r} uses undeclared variable(s) {', '.join(unknown)}; "
            f"declare them in 'variables' or use {', '.join(STANDARD_VARIABLES)}",
            field="variables",
        )
    return sorted(used)


def render(
    *, template_id: str, title: str, body: str, values: Mapping[str, Any]
) -> tuple[str, str]:
    """Render title and body; raise InvalidInput naming every missing variable."""
    needed = variables_used(title, field="title") | variables_used(body, field="body")
    missing = sorted(needed - set(values))
    if missing:
        raise InvalidInput(
            f"template {template_id!r} needs variable(s) {', '.join(missing)} to be given"
        )
    try:
        return _ENV.from_string(title).render(values).strip(), _ENV.from_string(body).render(
            values
        ).strip()
    except UndefinedError as exc:
        raise InvalidInput(f"template {template_id!r}: {exc.message}") from None
    except TemplateError as exc:
        raise InvalidInput(f"template {template_id!r} failed to render: {exc}") from None


def load_template_file(path: Path = DEFAULT_TEMPLATES_FILE) -> list[dict[str, Any]]:
    """Read a YAML list of templates (id, scenario, title, body, variables) and check each."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read templates: {exc}", file=str(path)) from None
    items = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError("expected a 'templates:' list", file=str(path))
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not {"id", "title", "body"} <= set(item):
            raise ConfigError(
                "each template needs id, title and body",
                file=str(path),
                field=f"templates[{index}]",
            )
        try:
            check_template(
                template_id=str(item["id"]),
                title=str(item["title"]),
                body=str(item["body"]),
                variables=item.get("variables", ()),
            )
        except ConfigError as exc:
            raise ConfigError(exc.message, file=str(path), field=f"templates[{index}]") from None
    return items
