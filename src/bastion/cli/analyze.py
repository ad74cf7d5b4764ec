"""The ``bastion analyze`` commands: EASI worksheets, most vulnerable paths, what-if, CARVER."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bastion.analysis.easi import EasiOptions, Response, easi_with
from bastion.analysis.montecarlo import monte_carlo
from bastion.analysis.paths import Mode, count_layered_paths, layered_mvp
from bastion.analysis.report import write_report
from bastion.analysis.risk import carver_rank
from bastion.analysis.sensitivity import sensitivities
from bastion.analysis.summary import (
    SiteAnalysis,
    analyse_site,
    analysis_dict,
    monte_carlo_dict,
    sensitivity_dict,
)
from bastion.analysis.whatif import rank_upgrades
from bastion.analysis.worksheet import (
    easi_dict,
    load_json,
    parse_carver,
    parse_layers,
    parse_path,
    parse_upgrades,
    path_dict,
    whatif_dict,
)
from bastion.cli.common import console, one_line_errors
from bastion.core.errors import ConfigError, InvalidInput
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

app = typer.Typer(
    help="Evaluate the layered defence: EASI P(I), most vulnerable path, what-if, CARVER.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FileArg = Annotated[Path, typer.Argument(help="JSON worksheet file.")]
SamplesOption = Annotated[
    int,
    typer.Option(
        "--monte-carlo",
        min=0,
        help="Also estimate P(I) by Monte Carlo with this many samples (0: off).",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Monte Carlo random seed.")]


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _load_site(path: Path) -> Site:
    try:
        return load_site_file(path)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None


@app.command("easi")
@one_line_errors
def easi_command(
    file: FileArg,
    as_json: JsonOption = False,
    samples: SamplesOption = 0,
    seed: SeedOption = 0,
) -> None:
    """Compute P(I) of one path from an EASI worksheet, with sensitivities."""
    sheet = parse_path(load_json(file))
    result = easi_with(sheet.elements, sheet.options)
    sens = sensitivities(sheet.elements, sheet.options)
    check = (
        monte_carlo(sheet.elements, sheet.options, samples=samples, seed=seed)
        if samples > 0
        else None
    )
    if as_json:
        data = easi_dict(result)
        data["sensitivity"] = sensitivity_dict(sens)
        data["monte_carlo"] = monte_carlo_dict(check)
        _print_json(data)
        return
    table = Table(title=f"EASI  P(I) = {result.p_interruption:.4f}")
    for column in ("element", "P(first det.)", "P(R|A)", "term", "remaining s"):
        table.add_column(column)
    table.add_column("∂P(I)/∂P(D)")
    table.add_column("∂P(I)/∂μ")
    for term, d in zip(result.terms, sens.elements, strict=True):
        table.add_row(
            term.name,
            f"{term.p_first_detection:.4f}",
            f"{term.p_timely:.4f}",
            f"{term.contribution:.4f}",
            f"{term.remaining_mean:.1f} ± {term.remaining_sd:.1f}",
            f"{d.d_p_detection:+.4f}",
            f"{d.d_delay_mean:+.2e}",
        )
    console.print(table)
    console.print(
        f"∂P(I)/∂(response mean) = {sens.d_response_mean:+.2e} per s, "
        f"∂P(I)/∂P(C) = {sens.d_p_communication:+.4f}",
        highlight=False,
    )
    if check is not None:
        console.print(
            f"Monte Carlo: P(I) ≈ {check.p_interruption:.4f}, {check.confidence:.0%} interval "
            f"[{check.low:.4f}, {check.high:.4f}] from {check.samples:,} samples",
            highlight=False,
        )


@app.command("layers")
@one_line_errors
def layers_command(
    file: FileArg,
    as_json: JsonOption = False,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Treat all standard deviations as zero.")
    ] = False,
) -> None:
    """Find the most vulnerable path through layers of alternative elements."""
    sheet = parse_layers(load_json(file))
    mode: Mode = "deterministic" if deterministic else "stochastic"
    result = layered_mvp(sheet.layers, sheet.options, mode=mode)
    if as_json:
        _print_json(
            {
                "most_vulnerable": path_dict(result),
                "paths": count_layered_paths(sheet.layers),
                "mode": mode,
            }
        )
        return
    _path_table(result.p_interruption, path_dict(result))


def _path_table(p_interruption: float, data: dict[str, Any]) -> None:
    table = Table(
        title=f"Most vulnerable path  P(I) = {p_interruption:.4f}  "
        f"(CDP: element {data['critical_detection_point']})"
    )
    for column in ("#", "element", "P(D)", "start s", "end s", "remaining s", "timely"):
        table.add_column(column)
    for index, step in enumerate(data["timeline"]):
        table.add_row(
            str(index),
            step["name"],
            f"{step['p_detection']:.3f}",
            f"{step['start_s']:.1f}",
            f"{step['end_s']:.1f}",
            f"{step['remaining_s']:.1f}",
            "yes" if step["timely"] else "no",
        )
    console.print(table)


def _site_options(mean: float, sd: float, pc: float) -> EasiOptions:
    return EasiOptions(Response(mean, sd), pc)


ResponseMean = Annotated[float, typer.Option("--response-mean", help="Response time mean, s.")]
ResponseSd = Annotated[float, typer.Option("--response-sd", help="Response time sd, s.")]
PcOption = Annotated[float, typer.Option("--pc", help="Probability of communication P(C).")]
TargetOption = Annotated[str, typer.Option("--target", help="Target zone id, e.g. vault.")]
SiteArg = Annotated[Path, typer.Argument(help="Site YAML file.")]
ExitOption = Annotated[
    bool, typer.Option("--exit/--no-exit", help="Include the exit path (theft).")
]
DeterministicOption = Annotated[bool, typer.Option("--deterministic")]


def _analyse(
    site_file: Path,
    target: str,
    options: EasiOptions,
    mode: Mode,
    include_exit: bool,
    samples: int,
    seed: int,
) -> SiteAnalysis:
    """Load the site file and analyse it as the ``site`` and ``report`` commands both do."""
    return analyse_site(
        _load_site(site_file),
        target=target,
        options=options,
        mode=mode,
        include_exit=include_exit,
        samples=samples,
        seed=seed,
    )


@app.command("site")
@one_line_errors
def site_command(
    site_file: SiteArg,
    target: TargetOption,
    as_json: JsonOption = False,
    response_mean: ResponseMean = 300.0,
    response_sd: ResponseSd = 90.0,
    pc: PcOption = 0.95,
    exit_path: ExitOption = False,
    deterministic: DeterministicOption = False,
    samples: SamplesOption = 0,
    seed: SeedOption = 0,
) -> None:
    """Find the site's most vulnerable path to a target zone, with sensitivities and gaps."""
    options = _site_options(response_mean, response_sd, pc)
    mode: Mode = "deterministic" if deterministic else "stochastic"
    analysis = _analyse(site_file, target, options, mode, exit_path, samples, seed)
    if as_json:
        _print_json(analysis_dict(analysis))
        return
    _path_table(analysis.p_interruption, path_dict(analysis.path.path))
    console.print(
        f"P(E) = {analysis.effectiveness.p_effectiveness:.4f} (P(N) = 1 assumed: optimistic)",
        highlight=False,
    )
    check = analysis.monte_carlo
    if check is not None:
        console.print(
            f"Monte Carlo: P(I) ≈ {check.p_interruption:.4f}, {check.confidence:.0%} interval "
            f"[{check.low:.4f}, {check.high:.4f}] from {check.samples:,} samples",
            highlight=False,
        )
    sens = analysis.sensitivity
    best = sens.strongest()
    if best is not None:
        console.print(
            f"Most sensitive detection: {best.name} (∂P(I)/∂P(D) = {best.d_p_detection:+.4f}); "
            f"∂P(I)/∂(response mean) = {sens.d_response_mean:+.2e} per s",
            highlight=False,
        )
    coverage = analysis.coverage
    for zone in coverage.zones:
        fraction = "n/a" if zone.fraction is None else f"{zone.fraction:.0%}"
        state = "UNCOVERED" if zone.zone in coverage.uncovered else "covered"
        console.print(f"camera coverage {zone.zone}: {state}, view cones {fraction}")


@app.command("whatif")
@one_line_errors
def whatif_command(
    site_file: SiteArg,
    upgrades_file: Annotated[Path, typer.Argument(help="JSON file of candidate upgrades.")],
    target: TargetOption,
    as_json: JsonOption = False,
    response_mean: ResponseMean = 300.0,
    response_sd: ResponseSd = 90.0,
    pc: PcOption = 0.95,
) -> None:
    """Rank candidate upgrades by the gain in P(I) of the most vulnerable path."""
    site = _load_site(site_file)
    upgrades = parse_upgrades(load_json(upgrades_file))
    ranked = rank_upgrades(
        site,
        target=target,
        options=_site_options(response_mean, response_sd, pc),
        upgrades=upgrades,
    )
    rows = whatif_dict(ranked)
    if as_json:
        _print_json({"ranked": rows})
        return
    table = Table(title="Upgrades ranked by ΔP(I) of the most vulnerable path")
    for column in ("upgrade", "cost", "P(I) before", "P(I) after", "ΔP(I)", "Δ/cost"):
        table.add_column(column)
    for row in rows:
        per_cost = row["gain_per_cost"]
        table.add_row(
            row["name"],
            "" if row["cost"] is None else f"{row['cost']:g}",
            f"{row['p_interruption_before']:.4f}",
            f"{row['p_interruption_after']:.4f}",
            f"{row['delta']:+.4f}",
            "" if per_cost is None else f"{per_cost:.2e}",
        )
    console.print(table)


@app.command("report")
@one_line_errors
def report_command(
    site_file: SiteArg,
    target: TargetOption,
    out: Annotated[Path, typer.Option("--out", help="Report file: .pdf or .png.")],
    response_mean: ResponseMean = 300.0,
    response_sd: ResponseSd = 90.0,
    pc: PcOption = 0.95,
    exit_path: ExitOption = False,
    deterministic: DeterministicOption = False,
    samples: SamplesOption = 20_000,
    seed: SeedOption = 0,
) -> None:
    """Write a PDF or PNG report: the most vulnerable path on the map and its timeline."""
    options = _site_options(response_mean, response_sd, pc)
    mode: Mode = "deterministic" if deterministic else "stochastic"
    analysis = _analyse(site_file, target, options, mode, exit_path, samples, seed)
    written = write_report(analysis, out, made=datetime.now(UTC))
    console.print(
        f"wrote {written}: P(I) = {analysis.p_interruption:.4f} along "
        f"{len(analysis.path.steps)} elements",
        highlight=False,
    )


@app.command("carver")
@one_line_errors
def carver_command(file: FileArg, as_json: JsonOption = False) -> None:
    """Rank targets by CARVER total."""
    ranked = carver_rank(parse_carver(load_json(file)))
    if as_json:
        _print_json(
            {"ranking": [{"rank": r, "target": s.target, "total": s.total} for r, s in ranked]}
        )
        return
    table = Table(title="CARVER ranking")
    for column in ("rank", "target", "C", "A", "R", "V", "E", "R", "total"):
        table.add_column(column)
    for rank, s in ranked:
        table.add_row(
            str(rank),
            s.target,
            *(
                str(v)
                for v in (
                    s.criticality,
                    s.accessibility,
                    s.recuperability,
                    s.vulnerability,
                    s.effect,
                    s.recognizability,
                )
            ),
            str(s.total),
        )
    console.print(table)
