"""Standard operating procedures: ordered steps with optional answer branches, loaded from YAML.

A step either lists ``answers`` (each leading to another step id or ``end``) or moves on
to ``next`` (default: the following step). Branches may only point forward in the
graph: a procedure with a cycle is rejected at load time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bastion.core.errors import ConfigError, InvalidInput

END = "end"
SOP_DIR = Path(__file__).parent / "sops"


def _answer_key(value: Any) -> str:
    # YAML 1.1 reads a bare ``yes:`` key as True; operators mean the word.
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value).strip().lower()


class SopStep(BaseModel):
    """One step of a procedure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", title="Step id", description="Stable id.")
    prompt: str = Field(min_length=1, title="Prompt", description="What the operator does.")
    answers: dict[str, str] = Field(
        default_factory=dict,
        title="Answers",
        description="Answer → next step id (or 'end'); empty for a plain checklist step.",
    )
    next: str | None = Field(
        default=None, title="Next", description="Step after this one (default: the following)."
    )
    required: bool = Field(
        default=True, title="Required", description="Skipping needs a reason either way."
    )

    @field_validator("answers", mode="before")
    @classmethod
    def _normalise_answers(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {_answer_key(k): str(v) for k, v in value.items()}
        return value


class Sop(BaseModel):
    """A procedure for one or more alarm types."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", title="SOP id", description="Stable id.")
    title: str = Field(min_length=1, title="Title", description="Display name.")
    alarm_types: tuple[str, ...] = Field(
        min_length=1, title="Alarm types", description="Alarm types this procedure works."
    )
    steps: tuple[SopStep, ...] = Field(min_length=1, title="Steps", description="Ordered steps.")

    @model_validator(mode="after")
    def _verify(self) -> Sop:
        verify_step_refs(self)
        verify_acyclic(self)
        return self

    def step(self, step_id: str) -> SopStep:
        """Return the step called ``step_id`` or raise InvalidInput."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise InvalidInput(f"procedure {self.id!r} has no step {step_id!r}")

    def first(self) -> str:
        """Return the id of the first step."""
        return self.steps[0].id

    def following(self, step_id: str, answer: str) -> str:
        """Return the step after ``step_id`` given ``answer`` (``end`` when finished)."""
        step = self.step(step_id)
        if step.answers:
            key = _answer_key(answer)
            if key not in step.answers:
                choices = ", ".join(sorted(step.answers))
                raise InvalidInput(f"step {step_id!r} expects one of: {choices}")
            return step.answers[key]
        if step.next is not None:
            return step.next
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END

    def successors(self, step_id: str) -> set[str]:
        """Return every step id that can follow ``step_id``."""
        step = self.step(step_id)
        if step.answers:
            return set(step.answers.values())
        return {self.following(step_id, "")}


def verify_step_refs(sop: Sop) -> None:
    """Step ids are unique and every branch names a step of this procedure or ``end``."""
    ids = [s.id for s in sop.steps]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"duplicate step id {dup!r}")
    known = set(ids) | {END}
    for step in sop.steps:
        for target in [*step.answers.values(), *([step.next] if step.next else [])]:
            if target not in known:
                raise ValueError(f"step {step.id!r} leads to unknown step {target!r}")


def verify_acyclic(sop: Sop) -> None:
    """No chain of answers leads back to a step already passed."""
    state: dict[str, int] = {}

    def visit(step_id: str, trail: list[str]) -> None:
        if step_id == END:
            return
        if state.get(step_id) == 1:
            raise ValueError(f"steps form a cycle: {' → '.join([*trail, step_id])}")
        if state.get(step_id) == 2:
            return
        state[step_id] = 1
        for nxt in sorted(sop.successors(step_id)):
            visit(nxt, [*trail, step_id])
        state[step_id] = 2

    for step in sop.steps:
        visit(step.id, [])


@dataclass(frozen=True)
class LoggedStep:
    """A step as the log holds it."""

    step_id: str
    outcome: str
    answer: str


@dataclass(frozen=True)
class Progress:
    """Where an alarm's procedure stands: steps passed and the step now due."""

    sop_id: str
    passed: tuple[LoggedStep, ...]
    current: str | None

    @property
    def complete(self) -> bool:
        """Return True when the procedure reached its end."""
        return self.current is None


def progress(sop: Sop, log: Sequence[LoggedStep]) -> Progress:
    """Replay the step log over the procedure and return the step now due."""
    current: str = sop.first()
    for entry in log:
        if current == END:
            break
        if entry.step_id != current:
            continue
        if entry.outcome == "skipped":
            step = sop.step(current)
            # A skipped question follows its first branch unless an answer was recorded.
            answer = entry.answer or (next(iter(step.answers)) if step.answers else "")
            current = sop.following(current, answer)
        else:
            current = sop.following(current, entry.answer)
    return Progress(sop.id, tuple(log), None if current == END else current)


class SopCatalogue:
    """Procedures by id and by alarm type."""

    def __init__(self, sops: Iterable[Sop] = ()) -> None:
        self.by_id: dict[str, Sop] = {}
        self.by_type: dict[str, Sop] = {}
        for sop in sops:
            self.add(sop)

    def add(self, sop: Sop) -> None:
        """Register ``sop``; a later procedure for the same alarm type replaces the earlier."""
        self.by_id[sop.id] = sop
        for alarm_type in sop.alarm_types:
            self.by_type[alarm_type] = sop

    def for_type(self, alarm_type: str) -> Sop | None:
        """Return the procedure for ``alarm_type`` (or the ``default`` one, if any)."""
        return self.by_type.get(alarm_type) or self.by_type.get("*")

    def get(self, sop_id: str) -> Sop:
        """Return the procedure ``sop_id`` or raise InvalidInput."""
        try:
            return self.by_id[sop_id]
        except KeyError:
            raise InvalidInput(f"unknown procedure {sop_id!r}") from None


def load_sop_file(path: Path) -> Sop:
    """Load one procedure file; raise ConfigError naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read procedure: {exc}", file=str(path)) from None
    try:
        return Sop.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise ConfigError(err["msg"], file=str(path), field=field) from None


def load_sops(*directories: Path) -> SopCatalogue:
    """Load every ``*.yaml`` procedure of the built-in folder and of ``directories``."""
    catalogue = SopCatalogue()
    for directory in (SOP_DIR, *directories):
        for path in sorted(directory.glob("*.yaml")):
            catalogue.add(load_sop_file(path))
    return catalogue
