"""Playbook files: strict YAML with ``file:line: field`` errors, reusing the rule registries.

A playbook is a set of triggers (the automation trigger kinds), inline message
templates, and ordered steps. Automatic steps run when the playbook starts (automation
actions, door commands chosen by selector, lockdowns, a call tree, mustering); manual
steps are SOP prompts an operator completes, each with a target time. Nothing here
touches a database or a bus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.automation.actions import ACTIONS, ActionConfig
from bastion.automation.config import _line, _LineLoader, _validate, line_at
from bastion.automation.references import Catalog, Ref, find_problems, prefixed
from bastion.automation.triggers import TRIGGERS, TriggerConfig
from bastion.core.errors import ConfigError
from bastion.notify import templates as tpl
from bastion.site.schemas import Layer, Site

PLAYBOOKS_VERSION = 1
LIBRARY = Path(__file__).with_name("library")
"""The playbooks shipped with Bastion, one file per scenario."""

StepKind = Literal[
    "manual", "actions", "doors", "lockdown", "notify", "muster", "form", "timeline", "cash_count"
]
AUTOMATIC_KINDS = frozenset({"actions", "doors", "lockdown", "notify", "muster"})
DoorSelect = Literal["egress", "perimeter", "zones", "all"]
ZoneSelect = Literal["building", "zones"]
FORMS = ("threat_call",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemplateSpec(_Strict):
    """An inline message template (strict Jinja2, as notification templates)."""

    title: str = Field(min_length=1, max_length=300, title="Title", description="Jinja2.")
    body: str = Field(min_length=1, max_length=10000, title="Body", description="Jinja2.")
    variables: tuple[str, ...] = Field(
        default=(), title="Variables", description="Extra variables beyond site, zone, time."
    )


class NotifySpec(_Strict):
    """Which call tree to start with which template."""

    call_tree: str = Field(
        min_length=1, max_length=120, title="Call tree", description="Call tree name or id."
    )
    template: str = Field(
        min_length=1,
        max_length=64,
        title="Template",
        description="An inline template of this playbook, or a notification template id.",
    )
    variables: dict[str, str] = Field(
        default_factory=dict, title="Variables", description="Values for the template."
    )
    emergency: bool = Field(
        default=True, title="Emergency", description="Override quiet hours and rate limits."
    )


class StepConfig(_Strict):
    """One step of a playbook: automatic (runs at start) or manual (an operator completes it)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", title="Step id", description="Stable.")
    title: str = Field(min_length=1, max_length=200, title="Title", description="One line.")
    kind: StepKind = Field(default="manual", title="Kind", description="What the step does.")
    prompt: str = Field(default="", max_length=2000, title="Prompt", description="What to do.")
    target_s: float | None = Field(
        default=None,
        gt=0,
        le=7 * 86400,
        title="Target",
        description="Seconds after the start by which the step should be done (drill gaps).",
    )
    after: bool = Field(
        default=False,
        title="After the incident",
        description="A follow-up task (e.g. a full count), not part of the immediate response.",
    )
    actions: tuple[ActionConfig, ...] = Field(
        default=(), title="Actions", description="Automation actions (kind 'actions')."
    )
    command: Literal["lock", "unlock"] | None = Field(
        default=None, title="Command", description="Door command (kind 'doors')."
    )
    select: DoorSelect | ZoneSelect | None = Field(
        default=None,
        title="Select",
        description="doors: egress, perimeter, zones or all; lockdown: building or zones.",
    )
    zones: tuple[str, ...] = Field(
        default=(),
        title="Zones",
        description="Zone ids for select 'zones' (each must exist at one of the loaded sites).",
    )
    notify: NotifySpec | None = Field(
        default=None, title="Notify", description="Call tree and template (kind 'notify')."
    )
    form: Literal["threat_call"] | None = Field(
        default=None, title="Form", description="Checklist form to fill in (kind 'form')."
    )
    roll_call: bool = Field(
        default=False,
        title="Roll call",
        description=(
            "Completing this manual step says everyone is accounted for: while anyone is "
            "unaccounted or missing it needs an explicit confirmation."
        ),
    )

    @model_validator(mode="after")
    def verify_kind_fields(self) -> StepConfig:
        """Require the fields each kind needs and refuse the ones it ignores."""
        kind = self.kind
        if (kind == "actions") != bool(self.actions):
            raise ValueError("'actions' is needed by kind 'actions' and only there")
        if (kind == "notify") != (self.notify is not None):
            raise ValueError("'notify' is needed by kind 'notify' and only there")
        if (kind == "form") != (self.form is not None):
            raise ValueError("'form' is needed by kind 'form' and only there")
        if (kind == "doors") != (self.command is not None):
            raise ValueError("'command' is needed by kind 'doors' and only there")
        if kind == "doors" and self.select not in ("egress", "perimeter", "zones", "all"):
            raise ValueError("kind 'doors' needs select: egress, perimeter, zones or all")
        if kind == "lockdown" and self.select not in ("building", "zones"):
            raise ValueError("kind 'lockdown' needs select: building or zones")
        if kind not in ("doors", "lockdown") and self.select is not None:
            raise ValueError("'select' belongs to kinds 'doors' and 'lockdown'")
        if self.select == "zones" and not self.zones:
            raise ValueError("select 'zones' needs a 'zones' list")
        if self.roll_call and kind != "manual":
            raise ValueError("'roll_call' belongs to kind 'manual'")
        return self

    def references(self) -> list[Ref]:
        """Return the zones, doors, cameras, call tree and template the step names."""
        refs = [Ref("zone", zone, f"zones.{i}") for i, zone in enumerate(self.zones)]
        for i, action in enumerate(self.actions):
            refs += prefixed(f"actions.{i}", action.references())
        if self.notify is not None:
            refs += [
                Ref("call_tree", self.notify.call_tree, "notify.call_tree"),
                Ref("template", self.notify.template, "notify.template"),
            ]
        return refs

    @property
    def automatic(self) -> bool:
        """Return True when the step runs by itself at the start of the playbook."""
        return self.kind in AUTOMATIC_KINDS


class PlaybookConfig(_Strict):
    """One emergency scenario: triggers, inline templates and ordered steps."""

    version: int = Field(default=PLAYBOOKS_VERSION, title="Version", description="File format.")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", title="Id", description="Stable.")
    name: str = Field(min_length=1, max_length=120, title="Name", description="Display name.")
    scenario: str = Field(min_length=1, max_length=64, title="Scenario", description="Kind.")
    description: str = Field(default="", max_length=4000, title="Description", description="Why.")
    triggers: tuple[TriggerConfig, ...] = Field(
        default=(), title="Triggers", description="Events that start the playbook by themselves."
    )
    templates: dict[str, TemplateSpec] = Field(
        default_factory=dict, title="Templates", description="Inline message templates by id."
    )
    steps: tuple[StepConfig, ...] = Field(min_length=1, title="Steps", description="In order.")

    def references(self) -> list[Ref]:
        """Return everything the playbook names, with fields relative to the file."""
        refs: list[Ref] = []
        for i, trigger in enumerate(self.triggers):
            refs += prefixed(f"triggers.{i}", trigger.references())
        for i, step in enumerate(self.steps):
            refs += prefixed(f"steps.{i}", step.references())
        return refs

    def step(self, step_id: str) -> StepConfig:
        """Return the step called ``step_id`` or raise KeyError."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True)
class Loaded:
    """A playbook with where it came from (and its line-marked YAML, for error lines)."""

    config: PlaybookConfig
    source: str
    shipped: bool
    raw: Any = None


def check_playbook_references(
    config: PlaybookConfig,
    catalog: Catalog,
    *,
    source: str | None = None,
    raw: Any = None,
    reachability: bool = True,
) -> list[ConfigError]:
    """Return an error naming file, line and field for every reference nothing has.

    The playbook's inline templates count as known templates.
    """
    known = catalog.with_templates(config.templates)
    return [
        ConfigError(
            message,
            file=source,
            line=line_at(raw, ref.field) if raw is not None else None,
            field=ref.field,
        )
        for ref, message in find_problems(config.references(), known, reachability=reachability)
    ]


# --- parsing ---------------------------------------------------------------------------------


def _shipped_template_ids() -> dict[str, dict[str, Any]]:
    return {str(t["id"]): t for t in tpl.load_template_file()}


def _parse_list(
    raw: Any, registry: dict[str, Any], key: str, *, source: str, field: str, what: str
) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"'{field.rsplit('.', 1)[-1]}' must be a list", file=source, field=field)
    parsed = []
    for i, item in enumerate(raw):
        path = f"{field}.{i}"
        name = item.get(key, "event" if key == "kind" else None) if isinstance(item, dict) else None
        if name not in registry:
            raise ConfigError(
                f"unknown {what} {name!r} (known: {', '.join(sorted(registry))})",
                file=source,
                line=_line(item) or _line(raw),
                field=path,
            )
        model = registry[name] if key == "kind" else registry[name].config_model
        parsed.append(_validate(model, item, source, path))
    return parsed


def parse_playbook(raw: Any, *, source: str = "<string>") -> PlaybookConfig:
    """Validate one raw playbook mapping; raise ConfigError naming file, line and field."""
    if not isinstance(raw, dict):
        raise ConfigError("a playbook file holds a mapping", file=source)
    version = raw.get("version", PLAYBOOKS_VERSION)
    if version != PLAYBOOKS_VERSION:
        raise ConfigError(f"unsupported playbook version {version!r}", file=source, field="version")
    triggers = _parse_list(
        raw.get("triggers"), TRIGGERS, "kind", source=source, field="triggers", what="trigger kind"
    )
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise ConfigError("a playbook needs a non-empty 'steps' list", file=source, field="steps")
    steps = []
    for i, step in enumerate(steps_raw):
        path = f"steps.{i}"
        if not isinstance(step, dict):
            raise ConfigError("a step must be a mapping", file=source, line=_line(raw), field=path)
        actions = _parse_list(
            step.get("actions"),
            ACTIONS,
            "action",
            source=source,
            field=f"{path}.actions",
            what="action",
        )
        rest = {k: v for k, v in step.items() if k != "actions"}
        if actions:
            rest["actions"] = actions
        steps.append(_validate(StepConfig, rest, source, path))
    rest = {k: v for k, v in raw.items() if k not in ("triggers", "steps")}
    rest.update(triggers=triggers, steps=steps)
    playbook: PlaybookConfig = _validate(PlaybookConfig, rest, source, "playbook")
    verify_steps(playbook, source=source, lines=[_line(s) for s in steps_raw])
    return playbook


def verify_steps(
    playbook: PlaybookConfig, *, source: str | None = None, lines: list[int | None] | None = None
) -> None:
    """Reject duplicate step ids and templates that are unknown, undeclared or left unfilled."""
    shipped = _shipped_template_ids()
    for tid, spec in playbook.templates.items():
        try:
            tpl.check_template(
                template_id=tid, title=spec.title, body=spec.body, variables=spec.variables
            )
        except ConfigError as exc:
            raise ConfigError(exc.message, file=source, field=f"templates.{tid}") from None
    seen: set[str] = set()
    for i, step in enumerate(playbook.steps):
        line = lines[i] if lines and i < len(lines) else None
        if step.id in seen:
            raise ConfigError(
                f"duplicate step id {step.id!r}", file=source, line=line, field=f"steps.{i}.id"
            )
        seen.add(step.id)
        if step.notify is None:
            continue
        where = f"steps.{i}.notify.template"
        name = step.notify.template
        if name in playbook.templates:
            declared: Iterable[str] = playbook.templates[name].variables
        elif name in shipped:
            declared = shipped[name].get("variables") or ()
        else:
            raise ConfigError(
                f"unknown template {name!r}: define it under 'templates' or use one of "
                f"{', '.join(sorted(shipped))}",
                file=source,
                line=line,
                field=where,
            )
        missing = sorted(set(declared) - set(step.notify.variables))
        if missing:
            raise ConfigError(
                f"template {name!r} needs variable(s) {', '.join(missing)}; give them "
                "under notify.variables",
                file=source,
                line=line,
                field=f"steps.{i}.notify.variables",
            )


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None


def parse_playbook_text(text: str, *, source: str = "<string>") -> PlaybookConfig:
    """Parse playbook YAML text."""
    return parse_playbook(_load_yaml(text, source), source=source)


def read_playbook_file(path: str | Path, *, shipped: bool = False) -> Loaded:
    """Read and parse one playbook file, keeping its line-marked YAML for later checks."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read playbook: {exc.strerror}", file=str(path)) from None
    raw = _load_yaml(text, str(path))
    return Loaded(parse_playbook(raw, source=str(path)), str(path), shipped, raw)


def load_playbook_file(path: str | Path) -> PlaybookConfig:
    """Read and parse one playbook file."""
    return read_playbook_file(path).config


def load_library(
    folders: Iterable[Path] = (), *, errors: list[ConfigError] | None = None
) -> dict[str, Loaded]:
    """Load the shipped playbooks, then those of ``folders`` (same id replaces the shipped one).

    A broken file in ``folders`` is reported in ``errors`` (when given) and skipped, so one
    bad edit never takes the other playbooks down; without ``errors`` it raises.
    """
    found: dict[str, Loaded] = {}
    for path in sorted(LIBRARY.glob("*.yaml")):
        loaded = read_playbook_file(path, shipped=True)
        found[loaded.config.id] = loaded
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                loaded = read_playbook_file(path)
            except ConfigError as exc:
                if errors is None:
                    raise
                errors.append(exc)
                continue
            found[loaded.config.id] = loaded
    return found


# --- site-dependent selections ---------------------------------------------------------------


def select_doors(site: Site, select: str, zones: Iterable[str] = ()) -> list[str]:
    """Return the door ids a selector names at ``site`` (unknown zones select nothing)."""
    wanted = set(zones)
    perimeter = {z.id for z in site.zones if z.layer is Layer.PERIMETER} | {"outside"}
    chosen = []
    for door in site.doors:
        if (
            select == "all"
            or (select == "egress" and door.emergency_egress)
            or (select == "perimeter" and door.from_zone in perimeter)
            or (select == "zones" and door.to_zone in wanted)
        ):
            chosen.append(door.id)
    return chosen


def select_zones(site: Site, select: str, zones: Iterable[str] = ()) -> list[str]:
    """Return the zone ids a lockdown selector names at ``site`` (unknown zones skipped)."""
    known = {z.id for z in site.zones}
    if select == "building":
        return [z.id for z in site.zones if z.layer > Layer.PERIMETER]
    return [z for z in zones if z in known]
