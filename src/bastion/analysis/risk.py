"""Combine P(I) with neutralisation and consequence, and rank targets with CARVER."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.core.errors import InvalidInput

__all__ = [
    "CARVER_CRITERIA",
    "CarverScore",
    "Effectiveness",
    "carver_rank",
    "conditional_risk",
    "risk",
    "system_effectiveness",
]

CARVER_CRITERIA = (
    "criticality",
    "accessibility",
    "recuperability",
    "vulnerability",
    "effect",
    "recognizability",
)


def _probability(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInput(f"{what}: {value!r} is not a number")
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{what}: probability {value!r} is outside [0, 1]")
    return float(value)


@dataclass(frozen=True, slots=True)
class Effectiveness:
    """System effectiveness P(E) = P(I)·P(N), flagged when P(N) is the optimistic default."""

    p_interruption: float
    p_neutralization: float
    p_effectiveness: float
    neutralization_assumed: bool


def system_effectiveness(
    p_interruption: float, p_neutralization: float | None = None
) -> Effectiveness:
    """Return P(E) = P(I)·P(N); P(N) defaults to 1, which is optimistic and flagged."""
    p_i = _probability(p_interruption, "p_interruption")
    assumed = p_neutralization is None
    p_n = 1.0 if p_neutralization is None else _probability(p_neutralization, "p_neutralization")
    return Effectiveness(p_i, p_n, p_i * p_n, assumed)


def conditional_risk(p_effectiveness: float, consequence: float) -> float:
    """Return R_c = (1 − P(E))·C."""
    p_e = _probability(p_effectiveness, "p_effectiveness")
    if consequence < 0 or math.isnan(consequence):
        raise InvalidInput(f"consequence: {consequence!r} must be non-negative")
    return (1.0 - p_e) * consequence


def risk(p_attack: float, p_effectiveness: float, consequence: float) -> float:
    """Return R = P(A)·(1 − P(E))·C."""
    return _probability(p_attack, "p_attack") * conditional_risk(p_effectiveness, consequence)


@dataclass(frozen=True, slots=True)
class CarverScore:
    """Six CARVER criteria for one target, each scored on the chosen scale."""

    target: str
    criticality: int
    accessibility: int
    recuperability: int
    vulnerability: int
    effect: int
    recognizability: int
    scale: int = 10

    def __post_init__(self) -> None:
        if self.scale not in (5, 10):
            raise InvalidInput(f"target {self.target!r}: scale must be 5 or 10")
        for name in CARVER_CRITERIA:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(
                    f"target {self.target!r} {name}: {value!r} is not a whole number"
                )
            if not 1 <= value <= self.scale:
                raise InvalidInput(
                    f"target {self.target!r} {name}: {value} is outside 1–{self.scale}"
                )

    @property
    def total(self) -> int:
        """Return the sum of the six scores."""
        return sum(getattr(self, name) for name in CARVER_CRITERIA)


def carver_rank(scores: Sequence[CarverScore]) -> list[tuple[int, CarverScore]]:
    """Return (rank, score) pairs, highest total first; equal totals share a rank."""
    if not scores:
        raise InvalidInput("targets: give at least one target to rank")
    names = [s.target for s in scores]
    for name in names:
        if names.count(name) > 1:
            raise InvalidInput(f"target {name!r}: listed more than once")
    ordered = sorted(scores, key=lambda s: (-s.total, s.target))
    ranked: list[tuple[int, CarverScore]] = []
    for index, score in enumerate(ordered):
        if index and score.total == ordered[index - 1].total:
            ranked.append((ranked[-1][0], score))
        else:
            ranked.append((index + 1, score))
    return ranked
