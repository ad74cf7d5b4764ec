"""Rule configuration: the YAML/API shape of a rule, parsing with file:line errors, cycle checks.

A rules file is a mapping with ``version`` and ``rules``. Each trigger, condition and
action is validated against its registry; unknown actions and rules that can trigger
themselves (directly or through other rules) are rejected at check time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bastion.automation.actions import ACTIONS, ActionConfig, Emission
from bastion.automation.conditions import ConditionConfig, parse_condition
from bastion.automation.references import Catalog, Ref, find_problems, prefixed
from bastion.automation.triggers import TRIGGERS, EventTriggerConfig, TriggerConfig
from bastion.core.errors import ConfigError
from bastion.core.yamlbounds import Bounded

RULES_VERSION = 1
RunMode = Literal["single", "restart", "queued", "parallel"]


class RuleConfig(BaseModel):
    """One rule: triggers, conditions (all must hold), actions, run mode and bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", title="Rule id", description="Stable.")
    name: str = Field(default="", title="Name", description="Display name.")
    description: str = Field(default="", title="Description", description="What it is for.")
    enabled: bool = Field(default=True, title="Enabled", description="Disabled rules never run.")
    mode: RunMode = Field(
        default="single",
        title="Run mode",
        description="single, restart, queued or parallel (as Home Assistant scripts).",
    )
    max_runs: int = Field(
        default=10, ge=1, le=1000, title="Max runs", description="Bound for queued/parallel runs."
    )
    triggers: tuple[TriggerConfig, ...] = Field(
        min_length=1, title="Triggers", description="Any of them starts the rule."
    )
    conditions: tuple[ConditionConfig, ...] = Field(
        default=(), title="Conditions", description="All must hold."
    )
    actions: tuple[ActionConfig, ...] = Field(
        min_length=1, title="Actions", description="Run in order."
    )


class _LineDict(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(Bounded, yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping and of each of its keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    value = _LineDict({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    value.line = node.start_mark.line + 1
    value.key_lines = {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }
    return value


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(value: Any) -> int | None:
    return getattr(value, "line", None)


def line_at(raw: Any, field: str) -> int | None:
    """Return the line of dotted ``field`` in line-marked YAML data (or of its nearest parent)."""
    line = _line(raw)
    node = raw
    for part in field.split(".") if field else ():
        if isinstance(node, dict) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            line = _line(node) or line
        else:
            break
    return line


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _validate(model: type[BaseModel], raw: Any, source: str | None, field: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        sub = ".".join(str(p) for p in err["loc"])
        where = f"{field}.{sub}" if sub else field
        node: Any = raw
        for part in err["loc"]:
            node = _child(node, part)
            if node is None:
                node = raw
                break
        raise ConfigError(
            err["msg"], file=source, line=_line(node) or _line(raw), field=where
        ) from None


def parse_rule(raw: Any, *, source: str | None = None, field: str = "rule") -> RuleConfig:
    """Validate one raw rule mapping, resolving each part through its registry."""
    if not isinstance(raw, dict):
        raise ConfigError("a rule must be a mapping", file=source, field=field)
    line = _line(raw)
    triggers: list[TriggerConfig] = []
    for i, trig in enumerate(raw.get("triggers") or []):
        path = f"{field}.triggers.{i}"
        kind = trig.get("kind", "event") if isinstance(trig, dict) else None
        if kind not in TRIGGERS:
            raise ConfigError(
                f"unknown trigger kind {kind!r} (known: {', '.join(sorted(TRIGGERS))})",
                file=source,
                line=_line(trig) or line,
                field=path,
            )
        triggers.append(_validate(TRIGGERS[kind], trig, source, path))
    conditions: list[ConditionConfig] = []
    for i, cond in enumerate(raw.get("conditions") or []):
        path = f"{field}.conditions.{i}"
        try:
            conditions.append(parse_condition(cond, path))
        except ConfigError as exc:
            raise ConfigError(
                exc.message, file=source, line=_line(cond) or line, field=path
            ) from None
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                err["msg"], file=source, line=_line(cond) or line, field=path
            ) from None
    actions: list[ActionConfig] = []
    for i, act in enumerate(raw.get("actions") or []):
        path = f"{field}.actions.{i}"
        name = act.get("action") if isinstance(act, dict) else None
        if name not in ACTIONS:
            raise ConfigError(
                f"unknown action {name!r} (known: {', '.join(sorted(ACTIONS))})",
                file=source,
                line=_line(act) or line,
                field=path,
            )
        actions.append(_validate(ACTIONS[name].config_model, act, source, path))
    rest = {k: v for k, v in raw.items() if k not in ("triggers", "conditions", "actions")}
    rest.update(triggers=triggers, conditions=conditions, actions=actions)
    rule: RuleConfig = _validate(RuleConfig, rest, source, field)
    return rule


def rule_to_dict(rule: RuleConfig) -> dict[str, Any]:
    """Return the JSON-able form of a rule (as stored and as the API returns it)."""
    return {
        **rule.model_dump(mode="json", exclude={"triggers", "conditions", "actions"}),
        "triggers": [t.model_dump(mode="json") for t in rule.triggers],
        "conditions": [c.model_dump(mode="json") for c in rule.conditions],
        "actions": [a.model_dump(mode="json") for a in rule.actions],
    }


@dataclass(frozen=True)
class RuleSet:
    """Rules parsed from one source, with the line each rule starts on and its raw YAML."""

    rules: tuple[RuleConfig, ...]
    source: str | None = None
    lines: tuple[int | None, ...] = ()
    raw: tuple[Any, ...] = ()
    stored: bool = False
    """Rules from the database (named ``rule <id>``, not ``rules.<index>``)."""

    def field_of(self, index: int) -> str:
        """Return the field path of the rule at ``index``."""
        return f"rule {self.rules[index].id}" if self.stored else f"rules.{index}"


def rule_references(rule: RuleConfig) -> list[Ref]:
    """Return everything a rule names, with fields relative to the rule."""
    refs: list[Ref] = []
    for i, trigger in enumerate(rule.triggers):
        refs += prefixed(f"triggers.{i}", trigger.references())
    for i, condition in enumerate(rule.conditions):
        refs += prefixed(f"conditions.{i}", condition.references())
    for i, action in enumerate(rule.actions):
        refs += prefixed(f"actions.{i}", action.references())
    return refs


def check_rule_references(
    ruleset: RuleSet, catalog: Catalog, *, enabled_only: bool = False, reachability: bool = True
) -> list[ConfigError]:
    """Return an error naming file, line and field for every reference nothing has."""
    errors: list[ConfigError] = []
    for i, rule in enumerate(ruleset.rules):
        if enabled_only and not rule.enabled:
            continue
        raw = ruleset.raw[i] if i < len(ruleset.raw) else None
        for ref, message in find_problems(
            rule_references(rule), catalog, reachability=reachability
        ):
            errors.append(
                ConfigError(
                    message,
                    file=ruleset.source,
                    line=line_at(raw, ref.field) if raw is not None else None,
                    field=f"{ruleset.field_of(i)}.{ref.field}",
                )
            )
    return errors


def parse_rules(text: str, *, source: str = "<string>") -> RuleSet:
    """Parse a rules document (``version`` + ``rules``) and check it for cycles."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if isinstance(data, list):
        data = {"version": RULES_VERSION, "rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError("a rules file holds a mapping with a 'rules' list", file=source)
    version = data.get("version", RULES_VERSION)
    if version != RULES_VERSION:
        raise ConfigError(f"unsupported rules version {version!r}", file=source, field="version")
    unknown = set(data) - {"version", "rules"}
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))}", file=source)
    rules = [
        parse_rule(raw, source=source, field=f"rules.{i}") for i, raw in enumerate(data["rules"])
    ]
    lines = tuple(_line(raw) for raw in data["rules"])
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise ConfigError(
                f"duplicate rule id {rule.id!r}", file=source, line=lines[i], field=f"rules.{i}.id"
            )
        seen[rule.id] = i
    ruleset = RuleSet(tuple(rules), source, lines, tuple(data["rules"]))
    verify_no_cycles(ruleset.rules, source=source, lines=dict(zip(seen, lines, strict=False)))
    return ruleset


def load_rules_file(path: str | Path) -> RuleSet:
    """Read and parse one rules file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rules: {exc.strerror}", file=str(path)) from None
    return parse_rules(text, source=str(path))


def load_rule_sets(paths: Iterable[str | Path]) -> list[RuleSet]:
    """Read the rule files of ``paths`` (files, and directories of ``*.yaml``), one set each."""
    sets: list[RuleSet] = []
    for entry in paths:
        entry = Path(entry)
        files = sorted(entry.glob("*.yaml")) if entry.is_dir() else [entry]
        sets.extend(load_rules_file(file) for file in files)
    return sets


def load_rules(paths: Iterable[str | Path]) -> list[RuleConfig]:
    """Load rules from files and directories (``*.yaml``), rejecting duplicate ids and cycles."""
    rules = [rule for ruleset in load_rule_sets(paths) for rule in ruleset.rules]
    verify_unique_ids(rules)
    verify_no_cycles(rules)
    return rules


def verify_unique_ids(rules: Sequence[RuleConfig]) -> None:
    """Reject a rule id given twice (across files)."""
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise ConfigError(f"rule id {rule_id!r} is defined more than once")


def _emissions(rule: RuleConfig) -> list[Emission]:
    found: list[Emission] = []
    for action in rule.actions:
        found.extend(ACTIONS[action.action].emits(action))
    return found


def _can_trigger(emission: Emission, trigger: TriggerConfig) -> bool:
    if not isinstance(trigger, EventTriggerConfig) or trigger.event_type != emission.event_type:
        return False
    for name, wanted in trigger.filter.items():
        allowed = set(wanted) if isinstance(wanted, list) else {wanted}
        known = emission.known.get(name)
        if known is not None and not (known & allowed):
            return False
    return True


def verify_no_cycles(
    rules: Sequence[RuleConfig],
    *,
    source: str | None = None,
    lines: dict[str, int | None] | None = None,
) -> None:
    """Reject rules whose actions can (transitively) trigger the same rule again."""
    edges: dict[str, list[tuple[str, str]]] = {r.id: [] for r in rules}
    for rule in rules:
        emissions = _emissions(rule)
        for other in rules:
            for emission in emissions:
                if any(_can_trigger(emission, t) for t in other.triggers):
                    edges[rule.id].append((other.id, emission.event_type))
                    break
    state: dict[str, int] = {}

    def visit(rule_id: str, trail: list[tuple[str, str]]) -> None:
        state[rule_id] = 1
        for target, via in edges[rule_id]:
            if state.get(target) == 1:
                start = next((i for i, (r, _) in enumerate(trail) if r == target), len(trail))
                loop = [*trail[start:], (rule_id, via)]
                line = (lines or {}).get(target)
                if len(loop) == 1:
                    message = f"rule {target!r} triggers itself (it emits {via} and listens for it)"
                else:
                    chain = " → ".join(f"{r} ({v})" for r, v in loop) + f" → {target}"
                    message = f"rules form a cycle: {chain}"
                raise ConfigError(message, file=source, line=line, field=f"rule {target}")
            if state.get(target) is None:
                visit(target, [*trail, (rule_id, via)])
        state[rule_id] = 2

    for rule in rules:
        if state.get(rule.id) is None:
            visit(rule.id, [])
