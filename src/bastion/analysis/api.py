"""Layered-defence evaluation routes: targets, most vulnerable path, what-if, coverage, reports.

Reading a loaded site's evaluation needs ``analysis:read`` at that site; running what-ifs
and worksheets (caller-supplied models) needs ``analysis:run``. Every input error is a
422 problem whose detail names the element or field at fault.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bastion.analysis.coverage import camera_coverage
from bastion.analysis.easi import EasiOptions, easi_with
from bastion.analysis.easi import Response as ResponseTime
from bastion.analysis.montecarlo import MAX_SAMPLES, monte_carlo
from bastion.analysis.paths import Mode, count_layered_paths, layered_mvp
from bastion.analysis.report import render
from bastion.analysis.risk import carver_rank, conditional_risk, risk
from bastion.analysis.sensitivity import sensitivities
from bastion.analysis.suggest import suggest_upgrades
from bastion.analysis.summary import (
    SiteAnalysis,
    analyse_site,
    analysis_dict,
    monte_carlo_dict,
    sensitivity_dict,
    target_zones,
)
from bastion.analysis.whatif import rank_upgrades
from bastion.analysis.worksheet import (
    coverage_dict,
    easi_dict,
    parse_carver,
    parse_layers,
    parse_options,
    parse_path,
    parse_upgrades,
    path_dict,
    whatif_dict,
)
from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import AnySite, FromPath, Global
from bastion.auth.permissions import Permission
from bastion.core.errors import InvalidInput, NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site

router = APIRouter(tags=["analysis"])
HubDep = Annotated[Hub, Depends(get_hub)]
SiteReader = Annotated[
    Principal, Depends(Require(Permission.ANALYSIS_READ, site=FromPath("site_id")))
]
SiteRunner = Annotated[
    Principal, Depends(Require(Permission.ANALYSIS_RUN, site=FromPath("site_id")))
]
# The worksheets compute on the numbers they are given; no site is read.
Runner = Annotated[Principal, Depends(Require(Permission.ANALYSIS_RUN, site=Global()))]
PREFIX = "/api/analysis"
SITE = f"{PREFIX}/sites/{{site_id}}"

Target = Annotated[str, Query(description="Target zone id, e.g. vault.")]
RespMean = Annotated[float, Query(description="Response-force time mean, s.")]
RespSd = Annotated[float, Query(description="Response-force time sd, s.")]
Pc = Annotated[float, Query(description="Probability of communication P(C).")]
ModeQ = Annotated[Literal["stochastic", "deterministic"], Query(description="Path search mode.")]
ExitQ = Annotated[bool, Query(alias="exit", description="Include the exit path (theft).")]
Samples = Annotated[
    int, Query(ge=0, le=MAX_SAMPLES, description="Monte Carlo samples (0: no check).")
]
Seed = Annotated[int, Query(description="Monte Carlo random seed.")]


def loaded_site(hub: Hub, site_id: str) -> Site:
    """Return the site loaded on the hub, or raise NotFound."""
    sites: dict[str, Site] = hub.extras.get("sites", {})
    if site_id not in sites:
        raise NotFound(f"site {site_id!r} is not loaded")
    return sites[site_id]


def site_options(response_mean: float, response_sd: float, pc: float) -> EasiOptions:
    """Return EASI options from query values (errors name the field)."""
    return EasiOptions(ResponseTime(response_mean, response_sd), pc)


def _analyse(
    hub: Hub,
    site_id: str,
    target: str,
    response_mean: float,
    response_sd: float,
    pc: float,
    mode: Mode,
    include_exit: bool,
    samples: int,
    seed: int,
) -> SiteAnalysis:
    return analyse_site(
        loaded_site(hub, site_id),
        target=target,
        options=site_options(response_mean, response_sd, pc),
        mode=mode,
        include_exit=include_exit,
        samples=samples,
        seed=seed,
    )


class SiteRead(BaseModel):
    """A loaded site that can be analysed."""

    id: str = Field(description="Site id.")
    name: str = Field(description="Display name.")


@router.get(f"{PREFIX}/sites", response_model=list[SiteRead])
def list_sites(
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ANALYSIS_READ, site=AnySite()))],
) -> list[SiteRead]:
    """List the loaded sites the caller may analyse."""
    sites: dict[str, Site] = hub.extras.get("sites", {})
    return [
        SiteRead(id=sid, name=sites[sid].site.name)
        for sid in principal.visible(Permission.ANALYSIS_READ, sorted(sites), site=lambda s: s)
    ]


class TargetRead(BaseModel):
    """A zone that can be analysed as a target."""

    id: str = Field(description="Zone id.")
    name: str = Field(description="Display name.")
    layer: str = Field(description="Protection layer.")


@router.get(f"{SITE}/targets", response_model=list[TargetRead])
def list_targets(site_id: str, hub: HubDep, _: SiteReader) -> list[TargetRead]:
    """List the site's zones as candidate targets, innermost layer first."""
    site = loaded_site(hub, site_id)
    return [TargetRead(id=i, name=n, layer=layer) for i, n, layer in target_zones(site)]


@router.get(f"{SITE}/path")
def most_vulnerable_path(
    site_id: str,
    hub: HubDep,
    _: SiteReader,
    target: Target,
    response_mean: RespMean = 300.0,
    response_sd: RespSd = 90.0,
    pc: Pc = 0.95,
    mode: ModeQ = "stochastic",
    include_exit: ExitQ = False,
    samples: Samples = 0,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Return the most vulnerable path to ``target`` with P(I), CDP, timeline and sensitivities."""
    analysis = _analyse(
        hub, site_id, target, response_mean, response_sd, pc, mode, include_exit, samples, seed
    )
    return analysis_dict(analysis)


@router.get(f"{SITE}/coverage")
def coverage(site_id: str, hub: HubDep, _: SiteReader) -> dict[str, Any]:
    """Return camera-required zones that no camera covers, with view-cone fractions."""
    return coverage_dict(camera_coverage(loaded_site(hub, site_id)))


@router.get(f"{SITE}/risk")
def site_risk(
    site_id: str,
    hub: HubDep,
    _: SiteReader,
    target: Target,
    consequence: Annotated[float, Query(description="Consequence C (e.g. 0–1).")] = 1.0,
    p_neutralization: Annotated[float | None, Query(description="P(N); 1 if not given.")] = None,
    p_attack: Annotated[float, Query(description="P(A); 1 gives conditional risk.")] = 1.0,
    response_mean: RespMean = 300.0,
    response_sd: RespSd = 90.0,
    pc: Pc = 0.95,
    include_exit: ExitQ = False,
) -> dict[str, Any]:
    """Return P(I), P(E) = P(I)·P(N), conditional risk and risk for ``target``."""
    analysis = analyse_site(
        loaded_site(hub, site_id),
        target=target,
        options=site_options(response_mean, response_sd, pc),
        include_exit=include_exit,
        p_neutralization=p_neutralization,
    )
    eff = analysis.effectiveness
    return {
        "target": target,
        "p_interruption": eff.p_interruption,
        "p_neutralization": eff.p_neutralization,
        "p_neutralization_assumed": eff.neutralization_assumed,
        "p_effectiveness": eff.p_effectiveness,
        "consequence": consequence,
        "conditional_risk": conditional_risk(eff.p_effectiveness, consequence),
        "p_attack": p_attack,
        "risk": risk(p_attack, eff.p_effectiveness, consequence),
    }


@router.get(f"{SITE}/report")
def report(
    site_id: str,
    hub: HubDep,
    _: SiteReader,
    target: Target,
    fmt: Annotated[Literal["png", "pdf"], Query(alias="format", description="png or pdf.")] = "pdf",
    response_mean: RespMean = 300.0,
    response_sd: RespSd = 90.0,
    pc: Pc = 0.95,
    mode: ModeQ = "stochastic",
    include_exit: ExitQ = False,
    samples: Samples = 20_000,
    seed: Seed = 0,
) -> Response:
    """Download the report: the path on the site map and the timeline (PNG or PDF)."""
    analysis = _analyse(
        hub, site_id, target, response_mean, response_sd, pc, mode, include_exit, samples, seed
    )
    data = render(analysis, fmt, made=hub.clock.now())
    media = "image/png" if fmt == "png" else "application/pdf"
    name = f"bastion-analysis-{site_id}-{target}.{fmt}"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _body_options(body: dict[str, Any]) -> EasiOptions:
    """Return options from an optional ``response``/``p_communication`` in a request body."""
    doc = {"response": {"mean": 300.0, "sd": 90.0}, "p_communication": 0.95, **body}
    return parse_options(doc)


@router.post(f"{SITE}/whatif")
def whatif(
    site_id: str,
    hub: HubDep,
    _: SiteRunner,
    body: Annotated[dict[str, Any], Body(description="target, response, upgrades (optional).")],
) -> dict[str, Any]:
    """Rank candidate upgrades (given, or suggested from the path) by ΔP(I) of the MVP."""
    site = loaded_site(hub, site_id)
    target = body.get("target")
    if not isinstance(target, str) or not target:
        raise InvalidInput("target: give the target zone id")
    options = _body_options({k: v for k, v in body.items() if k in ("response", "p_communication")})
    mode = body.get("mode", "stochastic")
    if mode not in ("stochastic", "deterministic"):
        raise InvalidInput(f"mode: {mode!r} is not stochastic or deterministic")
    include_exit = bool(body.get("exit", False))
    if "upgrades" in body:
        upgrades = parse_upgrades({"upgrades": body["upgrades"]})
        suggested = False
    else:
        base = analyse_site(
            site, target=target, options=options, mode=mode, include_exit=include_exit
        )
        upgrades = suggest_upgrades(site, base.path, options)
        suggested = True
    ranked = rank_upgrades(
        site,
        target=target,
        options=options,
        upgrades=upgrades,
        mode=mode,
        include_exit=include_exit,
    )
    return {"target": target, "suggested": suggested, "ranked": whatif_dict(ranked)}


def _mc(elements: Any, options: EasiOptions, samples: int, seed: int) -> dict[str, Any] | None:
    return monte_carlo_dict(
        monte_carlo(elements, options, samples=samples, seed=seed) if samples > 0 else None
    )


@router.post(f"{PREFIX}/easi")
def easi_worksheet(
    _: Runner,
    body: Annotated[Any, Body(description="EASI worksheet: p_communication, response, elements.")],
    samples: Samples = 0,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Compute P(I) of one path from an EASI worksheet, with sensitivities."""
    sheet = parse_path(body)
    result = easi_with(sheet.elements, sheet.options)
    out = easi_dict(result)
    out["sensitivity"] = sensitivity_dict(sensitivities(sheet.elements, sheet.options))
    out["monte_carlo"] = _mc(sheet.elements, sheet.options, samples, seed)
    return out


@router.post(f"{PREFIX}/layers")
def layers_worksheet(
    _: Runner,
    body: Annotated[Any, Body(description="Layered worksheet: global fields and layers.")],
    deterministic: Annotated[bool, Query(description="Treat all sds as zero.")] = False,
    samples: Samples = 0,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Find the most vulnerable path through layers (one element chosen per layer)."""
    sheet = parse_layers(body)
    mode: Mode = "deterministic" if deterministic else "stochastic"
    result = layered_mvp(sheet.layers, sheet.options, mode=mode)
    scoring = sheet.options.deterministic() if deterministic else sheet.options
    return {
        "most_vulnerable": path_dict(result),
        "paths": count_layered_paths(sheet.layers),
        "mode": mode,
        "sensitivity": sensitivity_dict(sensitivities(result.elements, scoring)),
        "monte_carlo": _mc(result.elements, scoring, samples, seed),
    }


@router.post(f"{PREFIX}/carver")
def carver(
    _: Runner,
    body: Annotated[Any, Body(description='CARVER sheet: {"scale": 10, "targets": [...]}.')],
) -> dict[str, Any]:
    """Rank targets by CARVER total, to choose which to analyse first."""
    ranked = carver_rank(parse_carver(body))
    return {
        "ranking": [
            {"rank": rank, "target": s.target, "total": s.total, "scale": s.scale}
            for rank, s in ranked
        ]
    }
