"""Run the whole evaluation of one site target once, for the API, the console, the CLI and reports.

One function, :func:`analyse_site`, gathers the most vulnerable path, P(E), its
sensitivities, an optional Monte Carlo check and the camera-coverage gaps, so every
surface shows the same numbers for the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bastion.analysis.asd import SitePath, site_mvp
from bastion.analysis.coverage import CoverageReport, camera_coverage
from bastion.analysis.easi import EasiOptions
from bastion.analysis.library import DEFAULT_LIBRARY, ComponentLibrary
from bastion.analysis.montecarlo import MonteCarloResult, monte_carlo
from bastion.analysis.paths import Mode
from bastion.analysis.risk import Effectiveness, system_effectiveness
from bastion.analysis.sensitivity import Sensitivity, sensitivities
from bastion.analysis.whatif import WhatIf
from bastion.analysis.worksheet import coverage_dict, site_path_dict, whatif_dict
from bastion.core.errors import InvalidInput
from bastion.site.schemas import Layer, Site

__all__ = [
    "SiteAnalysis",
    "analyse_site",
    "analysis_dict",
    "monte_carlo_dict",
    "sensitivity_dict",
    "target_zones",
]


@dataclass(frozen=True, slots=True)
class SiteAnalysis:
    """Everything known about one target of one site under one set of response inputs."""

    site: Site
    target: str
    options: EasiOptions
    mode: Mode
    include_exit: bool
    path: SitePath
    effectiveness: Effectiveness
    sensitivity: Sensitivity
    coverage: CoverageReport
    monte_carlo: MonteCarloResult | None = None
    whatif: tuple[WhatIf, ...] = ()

    @property
    def p_interruption(self) -> float:
        """Return P(I) of the most vulnerable path."""
        return self.path.p_interruption


def target_zones(site: Site) -> list[tuple[str, str, str]]:
    """Return (zone id, name, layer) of every zone, innermost layer first: likely targets."""
    ordered = sorted(site.zones, key=lambda z: (-int(z.layer), z.id))
    return [(z.id, z.name, Layer(z.layer).name.lower()) for z in ordered]


def analyse_site(
    site: Site,
    *,
    target: str,
    options: EasiOptions,
    mode: Mode = "stochastic",
    include_exit: bool = False,
    samples: int = 0,
    seed: int | None = 0,
    p_neutralization: float | None = None,
    library: ComponentLibrary = DEFAULT_LIBRARY,
    whatif: Sequence[WhatIf] = (),
) -> SiteAnalysis:
    """Return the evaluation of ``target``; ``samples`` > 0 adds the Monte Carlo check."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise InvalidInput(f"samples: {samples!r} must be a whole number ≥ 0")
    path = site_mvp(
        site, target=target, options=options, mode=mode, include_exit=include_exit, library=library
    )
    scoring = options.deterministic() if mode == "deterministic" else options
    elements = path.path.elements
    return SiteAnalysis(
        site=site,
        target=target,
        options=options,
        mode=mode,
        include_exit=include_exit,
        path=path,
        effectiveness=system_effectiveness(path.p_interruption, p_neutralization),
        sensitivity=sensitivities(elements, scoring),
        coverage=camera_coverage(site),
        monte_carlo=(
            monte_carlo(elements, scoring, samples=samples, seed=seed) if samples > 0 else None
        ),
        whatif=tuple(whatif),
    )


def sensitivity_dict(result: Sensitivity) -> dict[str, Any]:
    """Return a JSON-ready dict of the partial derivatives of P(I)."""
    return {
        "elements": [
            {
                "name": e.name,
                "d_p_detection": e.d_p_detection,
                "d_delay_mean": e.d_delay_mean,
                "d_delay_sd": e.d_delay_sd,
            }
            for e in result.elements
        ],
        "d_response_mean": result.d_response_mean,
        "d_response_sd": result.d_response_sd,
        "d_p_communication": result.d_p_communication,
    }


def monte_carlo_dict(result: MonteCarloResult | None) -> dict[str, Any] | None:
    """Return a JSON-ready dict of a Monte Carlo estimate (None when not run)."""
    if result is None:
        return None
    return {
        "p_interruption": result.p_interruption,
        "low": result.low,
        "high": result.high,
        "confidence": result.confidence,
        "samples": result.samples,
        "interrupted": result.interrupted,
        "seed": result.seed,
    }


def analysis_dict(analysis: SiteAnalysis) -> dict[str, Any]:
    """Return a JSON-ready dict of a whole site evaluation."""
    options = analysis.options
    eff = analysis.effectiveness
    return {
        "site": analysis.site.site.id,
        "target": analysis.target,
        "mode": analysis.mode,
        "include_exit": analysis.include_exit,
        "response": {"mean": options.response.mean, "sd": options.response.sd},
        "p_communication": options.p_communication,
        "variance": options.variance,
        "pc_placement": options.pc_placement,
        "most_vulnerable": site_path_dict(analysis.path),
        "p_interruption": analysis.p_interruption,
        "p_effectiveness": eff.p_effectiveness,
        "p_neutralization": eff.p_neutralization,
        "p_neutralization_assumed": eff.neutralization_assumed,
        "sensitivity": sensitivity_dict(analysis.sensitivity),
        "monte_carlo": monte_carlo_dict(analysis.monte_carlo),
        "coverage": coverage_dict(analysis.coverage),
        "whatif": whatif_dict(analysis.whatif),
    }
