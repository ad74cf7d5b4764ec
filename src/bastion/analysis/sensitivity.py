"""Exact partial derivatives of a path's EASI P(I): where a small improvement pays most.

With ``q_i = p_i Π_{j<i}(1 − p_j)``, ``z_i = (E[T_i] − μ_R)/s_i`` and
``s_i = sqrt(Var[T_i] + σ_R²)``, ``P(I) = c Σ q_i Φ(z_i)``. Then

* ``∂P/∂p_k = c U_k (Φ(z_k) − S_{k+1})`` with ``U_k = Π_{j<k}(1 − p_j)`` and ``S_{k+1}``
  the EASI sum of the path after *k* started afresh (detection at *k* pre-empts later
  detections, so it only helps when it is more timely than what follows);
* ``∂P/∂μ_k = c Σ_{i≤k} q_i φ(z_i) w_ik / s_i`` with ``w_ik = 1`` for ``i < k`` and ``θ_k``
  for ``i = k`` (delay helps every detection before it);
* ``∂P/∂σ_k = −c Σ_{i≤k} q_i φ(z_i) z_i v_ik σ_k / s_i²`` with ``v_ik`` 1 or the variance
  factor of θ_k;
* ``∂P/∂μ_R = −c Σ q_i φ(z_i)/s_i`` and ``∂P/∂σ_R = −c Σ q_i φ(z_i) z_i σ_R / s_i²``.

Where the total standard deviation is zero Φ is a step, and the time derivatives are
reported as zero (they are zero except exactly at a tie, where they do not exist).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.analysis.easi import EasiOptions, Element, remaining_times, timely_probability

__all__ = ["ElementSensitivity", "Sensitivity", "sensitivities"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class ElementSensitivity:
    """∂P(I) with respect to one element's detection probability, delay mean and delay sd."""

    name: str
    d_p_detection: float
    d_delay_mean: float
    d_delay_sd: float


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """Every partial derivative of one path's P(I)."""

    elements: tuple[ElementSensitivity, ...]
    d_response_mean: float
    d_response_sd: float
    d_p_communication: float

    def strongest(self) -> ElementSensitivity | None:
        """Return the element whose P(D) matters most (largest ∂P/∂P(D)), if any helps."""
        best = max(self.elements, key=lambda e: e.d_p_detection, default=None)
        return best if best is not None and best.d_p_detection > 0 else None


def sensitivities(elements: Sequence[Element], options: EasiOptions) -> Sensitivity:
    """Return the partial derivatives of P(I) of the path ``elements`` under ``options``."""
    n = len(elements)
    outer = options.outer_factor
    var_r = options.response.sd**2
    remaining = remaining_times(elements, options)
    p = [options.p_effective(e.p_detection) for e in elements]
    phi_cdf = [timely_probability(m, v, options.response) for m, v in remaining]
    s = [math.sqrt(v + var_r) for _, v in remaining]
    z = [
        (m - options.response.mean) / si if si > 0 else 0.0
        for (m, _), si in zip(remaining, s, strict=True)
    ]
    density = [
        _INV_SQRT_2PI * math.exp(-0.5 * zi * zi) if si > 0 else 0.0
        for zi, si in zip(z, s, strict=True)
    ]

    undetected = [1.0] * n
    q = [0.0] * n
    u = 1.0
    for i in range(n):
        undetected[i] = u
        q[i] = p[i] * u
        u *= 1.0 - p[i]

    # Suffix sums S_k: the EASI sum of elements k.. with detection starting afresh at k.
    suffix = [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = p[i] * phi_cdf[i] + (1.0 - p[i]) * suffix[i + 1]

    # Running sums over i < k of q_i φ_i / s_i and q_i φ_i z_i / s_i².
    mean_terms = [q[i] * density[i] / s[i] if s[i] > 0 else 0.0 for i in range(n)]
    sd_terms = [q[i] * density[i] * z[i] / s[i] ** 2 if s[i] > 0 else 0.0 for i in range(n)]
    dp_scale = options.p_communication if options.pc_placement == "per_element" else 1.0

    out: list[ElementSensitivity] = []
    before_mean = 0.0
    before_sd = 0.0
    for k, element in enumerate(elements):
        theta = element.theta
        d_p = outer * dp_scale * undetected[k] * (phi_cdf[k] - suffix[k + 1])
        d_mean = outer * (before_mean + theta * mean_terms[k])
        sigma = element.delay_sd
        d_sd = -outer * sigma * (before_sd + options.variance_factor(theta) * sd_terms[k])
        out.append(ElementSensitivity(element.name, d_p, d_mean, d_sd))
        before_mean += mean_terms[k]
        before_sd += sd_terms[k]

    d_response_mean = -outer * sum(mean_terms)
    d_response_sd = -outer * options.response.sd * sum(sd_terms)
    if options.pc_placement == "global":
        d_pc = math.fsum(qi * f for qi, f in zip(q, phi_cdf, strict=True))
    else:
        d_pc = math.fsum(
            e.p_detection * undetected[k] * (phi_cdf[k] - suffix[k + 1])
            for k, e in enumerate(elements)
        )
    return Sensitivity(tuple(out), d_response_mean, d_response_sd, d_pc)
