"""Compute Sandia's EASI probability of interruption along one adversary path.

The maths follows the PPS reference note §1: for element *i* in the adversary's order,
``P(I) = P(C) · Σ P(D_i) Π_{j<i}(1 − P(D_j)) · Φ((E[T_i] − μ_R) / sqrt(Var[T_i] + σ_R²))``
where ``T_i = θ_i t_i + Σ_{k>i} t_k`` is the adversary's remaining task time after
detection and θ is 1, 0.5 or 0 for detection at the beginning, middle or end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bastion.core.errors import InvalidInput

__all__ = [
    "THETA",
    "EasiOptions",
    "EasiResult",
    "Element",
    "ElementTerm",
    "Location",
    "PcPlacement",
    "Response",
    "VarianceConvention",
    "critical_detection_point",
    "easi",
    "normal_cdf",
    "p_interruption_deterministic",
    "remaining_times",
    "timely_probability",
]

Location = Literal["B", "M", "E"]
VarianceConvention = Literal["theta_squared", "theta"]
PcPlacement = Literal["global", "per_element"]

THETA: dict[str, float] = {"B": 1.0, "M": 0.5, "E": 0.0}
"""Fraction of an element's delay still ahead of the adversary when detection happens."""


def _check_probability(value: float, what: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise InvalidInput(f"{what}: probability must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{what}: probability {value!r} is outside [0, 1]")


def _check_time(value: float, what: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(f"{what}: time must be a finite number, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{what}: time {value!r} is negative")


@dataclass(frozen=True, slots=True)
class Element:
    """One path element: detection probability, where detection happens, delay mean and sd."""

    name: str
    p_detection: float
    location: Location = "B"
    delay_mean: float = 0.0
    delay_sd: float = 0.0

    def __post_init__(self) -> None:
        label = f"element {self.name!r}"
        _check_probability(self.p_detection, f"{label} p_detection")
        if self.location not in THETA:
            raise InvalidInput(f"{label} location: {self.location!r} is not one of B, M, E")
        _check_time(self.delay_mean, f"{label} delay mean")
        _check_time(self.delay_sd, f"{label} delay sd")

    @property
    def theta(self) -> float:
        """Return the fraction of the delay that remains after detection."""
        return THETA[self.location]

    def deterministic(self) -> Element:
        """Return a copy with a zero standard deviation."""
        return Element(self.name, self.p_detection, self.location, self.delay_mean, 0.0)


@dataclass(frozen=True, slots=True)
class Response:
    """Response-force time (from alarm to interruption): mean and standard deviation."""

    mean: float
    sd: float = 0.0

    def __post_init__(self) -> None:
        _check_time(self.mean, "response mean")
        _check_time(self.sd, "response sd")


@dataclass(frozen=True, slots=True)
class EasiOptions:
    """Global EASI inputs and the two documented modelling choices."""

    response: Response
    p_communication: float = 1.0
    variance: VarianceConvention = "theta_squared"
    pc_placement: PcPlacement = "global"

    def __post_init__(self) -> None:
        _check_probability(self.p_communication, "p_communication")
        if self.variance not in ("theta_squared", "theta"):
            raise InvalidInput(f"variance: {self.variance!r} is not theta_squared or theta")
        if self.pc_placement not in ("global", "per_element"):
            raise InvalidInput(f"pc_placement: {self.pc_placement!r} is not global or per_element")

    def p_effective(self, p_detection: float) -> float:
        """Return the detection probability as used inside the sum (P(C) folded in or not)."""
        if self.pc_placement == "per_element":
            return self.p_communication * p_detection
        return p_detection

    @property
    def outer_factor(self) -> float:
        """Return the factor applied to the whole sum (P(C) for the global placement)."""
        return self.p_communication if self.pc_placement == "global" else 1.0

    def variance_factor(self, theta: float) -> float:
        """Return the factor on an element's own variance for its detection location."""
        return theta * theta if self.variance == "theta_squared" else theta

    def deterministic(self) -> EasiOptions:
        """Return a copy with a zero response-time standard deviation."""
        return EasiOptions(
            Response(self.response.mean, 0.0),
            self.p_communication,
            self.variance,
            self.pc_placement,
        )


@dataclass(frozen=True, slots=True)
class ElementTerm:
    """One element's share of P(I)."""

    name: str
    p_first_detection: float
    p_timely: float
    contribution: float
    remaining_mean: float
    remaining_sd: float


@dataclass(frozen=True, slots=True)
class EasiResult:
    """P(I) of one path with its per-element terms."""

    p_interruption: float
    terms: tuple[ElementTerm, ...]
    p_detection_cumulative: float
    options: EasiOptions

    @property
    def p_timely_detection(self) -> float:
        """Return P(I) before the communication factor (the sum of the terms)."""
        return sum(term.contribution for term in self.terms)


def normal_cdf(z: float) -> float:
    """Return the standard normal CDF Φ(z), accurate in both tails."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def timely_probability(remaining_mean: float, remaining_var: float, response: Response) -> float:
    """Return P(T_R < T): the response arrives before the adversary finishes.

    With zero total variance this is a step, and a tie counts as timely (≥), as the
    reference recommends.
    """
    total = remaining_var + response.sd * response.sd
    diff = remaining_mean - response.mean
    if total <= 0.0:
        return 1.0 if diff >= 0.0 else 0.0
    return normal_cdf(diff / math.sqrt(total))


def remaining_times(
    elements: Sequence[Element], options: EasiOptions | None = None
) -> list[tuple[float, float]]:
    """Return (E[T_i], Var[T_i]) of the remaining task time after detection at each element."""
    variance = options.variance if options is not None else "theta_squared"
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(elements)
    suffix_mean = 0.0
    suffix_var = 0.0
    for index in range(len(elements) - 1, -1, -1):
        element = elements[index]
        theta = element.theta
        factor = theta * theta if variance == "theta_squared" else theta
        out[index] = (
            theta * element.delay_mean + suffix_mean,
            factor * element.delay_sd * element.delay_sd + suffix_var,
        )
        suffix_mean += element.delay_mean
        suffix_var += element.delay_sd * element.delay_sd
    return out


def _check_path(elements: Sequence[Element]) -> None:
    if len(elements) == 0:
        raise InvalidInput("path: an adversary path needs at least one element")
    for element in elements:
        if not isinstance(element, Element):
            raise InvalidInput(f"path: {element!r} is not an Element")


def easi(
    elements: Sequence[Element],
    response: Response,
    *,
    p_communication: float = 1.0,
    variance: VarianceConvention = "theta_squared",
    pc_placement: PcPlacement = "global",
) -> EasiResult:
    """Compute the EASI probability of interruption of one path."""
    options = EasiOptions(response, p_communication, variance, pc_placement)
    return easi_with(elements, options)


def easi_with(elements: Sequence[Element], options: EasiOptions) -> EasiResult:
    """Compute EASI P(I) of one path with pre-built options."""
    _check_path(elements)
    remaining = remaining_times(elements, options)
    terms: list[ElementTerm] = []
    p_undetected = 1.0
    for element, (mean, var) in zip(elements, remaining, strict=True):
        p = options.p_effective(element.p_detection)
        first = p * p_undetected
        timely = timely_probability(mean, var, options.response)
        terms.append(
            ElementTerm(
                name=element.name,
                p_first_detection=first,
                p_timely=timely,
                contribution=first * timely,
                remaining_mean=mean,
                remaining_sd=math.sqrt(var),
            )
        )
        p_undetected *= 1.0 - p
    total = options.outer_factor * math.fsum(term.contribution for term in terms)
    return EasiResult(
        p_interruption=min(1.0, max(0.0, total)),
        terms=tuple(terms),
        p_detection_cumulative=1.0 - p_undetected,
        options=options,
    )


def critical_detection_point(elements: Sequence[Element], response_time: float) -> int | None:
    """Return the index of the last element whose detection is still timely, or None.

    Detection at element *i* is timely when ``θ_i t_i + Σ_{k>i} t_k ≥ RFT`` (mean delays).
    Remaining time never increases along a path, so the timely elements form a prefix and
    the critical detection point (CDP) is its last element.
    """
    _check_path(elements)
    _check_time(response_time, "response time")
    cdp: int | None = None
    for index, (mean, _var) in enumerate(remaining_times(elements)):
        if mean >= response_time:
            cdp = index
    return cdp


def p_interruption_deterministic(
    elements: Sequence[Element],
    response_time: float,
    *,
    p_communication: float = 1.0,
    pc_placement: PcPlacement = "global",
) -> float:
    """Return P(I) = P(C)·[1 − Π_{i ≤ CDP}(1 − P(D_i))] with fixed times (the CDP formula)."""
    _check_probability(p_communication, "p_communication")
    cdp = critical_detection_point(elements, response_time)
    if cdp is None:
        return 0.0
    missed = 1.0
    for element in elements[: cdp + 1]:
        p = element.p_detection
        if pc_placement == "per_element":
            p *= p_communication
        missed *= 1.0 - p
    outer = p_communication if pc_placement == "global" else 1.0
    return outer * (1.0 - missed)
