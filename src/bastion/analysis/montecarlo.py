"""Estimate P(I) of one path by Monte Carlo, independently of the EASI closed form.

Each trial draws every element's delay and the response-force time from the same
normal models EASI assumes, draws which sensors fire, finds the first detection and
checks whether the response arrives before the adversary finishes. The fraction of
interrupted trials, with an exact (Clopper–Pearson) confidence interval, is a check on
the analytic P(I): if the two disagree beyond the interval, one of them is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from bastion.analysis.easi import EasiOptions, Element
from bastion.core.errors import InvalidInput

__all__ = ["MAX_SAMPLES", "MonteCarloResult", "clopper_pearson", "monte_carlo"]

MAX_SAMPLES = 2_000_000
_CHUNK = 100_000


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """A sampled estimate of P(I) with its two-sided confidence interval."""

    p_interruption: float
    low: float
    high: float
    samples: int
    interrupted: int
    confidence: float
    seed: int | None

    def contains(self, value: float) -> bool:
        """Return True when ``value`` lies inside the confidence interval."""
        return self.low <= value <= self.high


def clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Return the exact two-sided binomial interval for ``successes`` out of ``trials``."""
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = (
        1.0
        if successes == trials
        else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return low, high


def _check(samples: int, confidence: float, elements: Sequence[Element]) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise InvalidInput(f"samples: {samples!r} must be a whole number from 1 to {MAX_SAMPLES}")
    if not 0.0 < confidence < 1.0 or math.isnan(confidence):
        raise InvalidInput(f"confidence: {confidence!r} must be strictly between 0 and 1")
    if len(elements) == 0:
        raise InvalidInput("path: an adversary path needs at least one element")


def _interrupted(
    rng: np.random.Generator,
    n: int,
    elements: Sequence[Element],
    options: EasiOptions,
) -> int:
    """Return how many of ``n`` simulated attacks were interrupted."""
    mean = np.array([e.delay_mean for e in elements])
    sd = np.array([e.delay_sd for e in elements])
    theta = np.array([e.theta for e in elements])
    own_sd = np.sqrt(np.array([options.variance_factor(t) for t in theta])) * sd
    p = np.array([options.p_effective(e.p_detection) for e in elements])

    z = rng.standard_normal((n, len(elements)))
    delays = mean + sd * z
    # Delay still ahead after detection at i: the remaining share of element i (drawn with
    # the chosen variance convention, from the same noise) plus every later element.
    after = np.cumsum(delays[:, ::-1], axis=1)[:, ::-1] - delays
    remaining = theta * mean + own_sd * z + after

    detected = rng.random((n, len(elements))) < p
    any_detected = detected.any(axis=1)
    first = detected.argmax(axis=1)
    remaining_at_first = remaining[np.arange(n), first]

    response = options.response.mean + options.response.sd * rng.standard_normal(n)
    timely = response <= remaining_at_first  # a tie counts as timely, as in EASI
    communicated = rng.random(n) < options.outer_factor
    return int(np.count_nonzero(any_detected & timely & communicated))


def monte_carlo(
    elements: Sequence[Element],
    options: EasiOptions,
    *,
    samples: int = 100_000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Return a Monte Carlo estimate of the path's P(I) under EASI's own assumptions."""
    _check(samples, confidence, elements)
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < samples:
        n = min(_CHUNK, samples - done)
        hits += _interrupted(rng, n, elements, options)
        done += n
    low, high = clopper_pearson(hits, samples, confidence)
    return MonteCarloResult(hits / samples, low, high, samples, hits, confidence, seed)
