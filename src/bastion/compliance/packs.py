"""State rule packs: versioned YAML data, validated rule by rule, with local changes.

A pack names its state, regulator and sources; each rule carries an id, a citation, a
one-line requirement in our words, the licence types it applies to, the confidence of
the reference ([T] text seen, [S] secondary, [R] unverified) and one check. A broken
rule is reported as ``file:line: field: message`` and skipped; the rest still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bastion.compliance.checks import KINDS, Params
from bastion.compliance.profile import LicenseType, first_error
from bastion.compliance.yamlread import Lines, line_for, parse_yaml
from bastion.core.errors import ConfigError

STATES = ("CA", "CO", "IL", "MA", "MI", "NV", "OR", "WA")
Area = Literal[
    "premises",
    "physical_security",
    "alarm",
    "video",
    "access",
    "badges_training",
    "inventory",
    "transport",
    "records",
    "cash",
    "incidents",
]
AREAS: tuple[str, ...] = Area.__args__  # type: ignore[attr-defined]
"""Inspection order (what inspectors check, section by section)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleIn(_Strict):
    """A rule as written in a pack file."""

    id: str = Field(pattern=r"^[A-Z]{2,5}-[A-Z]{2,5}-\d{3}$")
    title: str = Field(min_length=5, max_length=200)
    citation: str = Field(min_length=3)
    area: Area
    licenses: list[LicenseType] = Field(min_length=1)
    confidence: Literal["T", "S", "R", "G"]
    severity: Literal["critical", "major", "minor"] = "major"
    check: dict[str, Any]


class PackHeader(_Strict):
    """The pack's own fields."""

    state: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    regulator: str
    source: str
    retrieved_on: str | None = None
    effective_date: str | None = None
    rules: list[Any]


@dataclass(frozen=True)
class Rule:
    """A validated rule with its typed check parameters."""

    id: str
    state: str
    title: str
    citation: str
    area: str
    licenses: tuple[str, ...]
    confidence: str
    severity: str
    kind: str
    params: Params
    origin: str
    override_reason: str | None = None


@dataclass
class Pack:
    """A state's rules, plus the problems met while loading them."""

    state: str
    name: str = ""
    regulator: str = ""
    source: str = ""
    rules: list[Rule] = field(default_factory=list)
    problems: list[ConfigError] = field(default_factory=list)

    def applicable(self, license: str | None) -> list[Rule]:
        """Return the rules for a licence type (all of them when it is not given)."""
        return [r for r in self.rules if license is None or license in r.licenses]


def _rule(item: Any, index: int, state: str, lines: Lines, source: str) -> Rule:
    where = f"rules.{index}"

    def error(sub: str, message: str) -> ConfigError:
        dotted = f"{where}.{sub}" if sub else where
        return ConfigError(message, file=source, line=line_for(lines, dotted), field=dotted)

    if not isinstance(item, dict):
        raise error("", "a rule must be a mapping")
    try:
        rule = RuleIn.model_validate(item)
    except ValidationError as exc:
        sub, message = first_error(exc)
        raise error(sub, message) from None
    if not rule.id.startswith(f"{state}-") and not rule.id.startswith("LOC-"):
        raise error("id", f"rule id {rule.id!r} must start with {state}- (or LOC- for local rules)")
    kind_name = rule.check.get("kind")
    kind = KINDS.get(str(kind_name))
    if kind is None:
        known = ", ".join(sorted(KINDS))
        raise error("check.kind", f"unknown check kind {kind_name!r}; known: {known}")
    try:
        params = kind.params.model_validate({k: v for k, v in rule.check.items() if k != "kind"})
    except ValidationError as exc:
        sub, message = first_error(exc)
        raise error(f"check.{sub}", message) from None
    return Rule(
        id=rule.id,
        state=state,
        title=rule.title,
        citation=rule.citation,
        area=rule.area,
        licenses=tuple(rule.licenses),
        confidence=rule.confidence,
        severity=rule.severity,
        kind=kind.name,
        params=params,
        origin=source,
    )


def parse_pack(text: str, source: str, *, expect_state: str | None = None) -> Pack:
    """Parse one pack; header errors raise, rule errors are collected and the rule skipped."""
    data, lines = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError(
            "a rule pack must be a mapping with state, name and rules", file=source, line=1
        )
    try:
        header = PackHeader.model_validate(data)
    except ValidationError as exc:
        where, message = first_error(exc)
        raise ConfigError(message, file=source, line=line_for(lines, where), field=where) from None
    if header.state not in STATES:
        raise ConfigError(
            f"no rule pack for state {header.state!r}; we have {', '.join(STATES)}",
            file=source,
            line=line_for(lines, "state"),
            field="state",
        )
    if expect_state is not None and header.state != expect_state:
        raise ConfigError(
            f"file is for {header.state}, expected {expect_state}",
            file=source,
            line=line_for(lines, "state"),
            field="state",
        )
    pack = Pack(header.state, header.name, header.regulator, header.source)
    seen: set[str] = set()
    for index, item in enumerate(header.rules):
        try:
            rule = _rule(item, index, header.state, lines, source)
        except ConfigError as exc:
            pack.problems.append(exc)
            continue
        if rule.id in seen:
            pack.problems.append(
                ConfigError(
                    f"duplicate rule id {rule.id!r}",
                    file=source,
                    line=line_for(lines, f"rules.{index}.id"),
                    field=f"rules.{index}.id",
                )
            )
            continue
        seen.add(rule.id)
        pack.rules.append(rule)
    return pack


def builtin_pack(state: str) -> Pack:
    """Return the shipped pack of a state."""
    state = state.upper()
    if state not in STATES:
        raise ConfigError(f"no rule pack for state {state!r}; we have {', '.join(STATES)}")
    ref = resources.files("bastion.compliance.states").joinpath(f"{state.lower()}.yaml")
    return parse_pack(ref.read_text(encoding="utf-8"), f"states/{state.lower()}.yaml")


class OverrideIn(_Strict):
    """A local change to one rule's parameters, with the reason it was made."""

    rule: str
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field(min_length=3)


def apply_override(pack: Pack, rule_id: str, params: dict[str, Any], reason: str) -> Rule:
    """Replace a rule's parameters; unknown rules and bad parameters raise ConfigError."""
    for index, rule in enumerate(pack.rules):
        if rule.id != rule_id:
            continue
        merged = rule.params.model_dump() | params
        try:
            new = KINDS[rule.kind].params.model_validate(merged)
        except ValidationError as exc:
            where, message = first_error(exc)
            raise ConfigError(message, field=f"params.{where}") from None
        changed = Rule(**{**rule.__dict__, "params": new, "override_reason": reason})
        pack.rules[index] = changed
        return changed
    raise ConfigError(f"no rule {rule_id!r} in the {pack.state} pack", field="rule")


def load_pack(state: str, data_dir: Path | None = None) -> Pack:
    """Return a state's pack with the local rules and overrides of ``data_dir/compliance``."""
    pack = builtin_pack(state)
    base = data_dir / "compliance" if data_dir is not None else None
    if base is None or not base.is_dir():
        return pack
    for path in sorted((base / "rules").glob("*.yaml")) if (base / "rules").is_dir() else []:
        try:
            local = parse_pack(path.read_text(encoding="utf-8"), str(path))
        except ConfigError as exc:
            pack.problems.append(exc)
            continue
        pack.problems.extend(local.problems)
        if local.state != pack.state:
            continue
        taken = {r.id for r in pack.rules}
        for rule in local.rules:
            if rule.id in taken:
                pack.problems.append(
                    ConfigError(f"local rule {rule.id!r} repeats a pack rule", file=str(path))
                )
                continue
            pack.rules.append(rule)
    overrides = base / "overrides.yaml"
    if overrides.is_file():
        data, lines = parse_yaml(overrides.read_text(encoding="utf-8"), str(overrides))
        for index, item in enumerate(
            (data or {}).get("overrides", []) if isinstance(data, dict) else []
        ):
            where = f"overrides.{index}"
            try:
                parsed = OverrideIn.model_validate(item)
                if parsed.rule.split("-")[0] == pack.state:
                    apply_override(pack, parsed.rule, parsed.params, parsed.reason)
            except ValidationError as exc:
                sub, message = first_error(exc)
                pack.problems.append(
                    ConfigError(
                        message,
                        file=str(overrides),
                        line=line_for(lines, f"{where}.{sub}"),
                        field=f"{where}.{sub}",
                    )
                )
            except ConfigError as exc:
                dotted = f"{where}.{exc.field}" if exc.field else where
                pack.problems.append(
                    ConfigError(
                        exc.message, file=str(overrides), line=line_for(lines, dotted), field=dotted
                    )
                )
    return pack
