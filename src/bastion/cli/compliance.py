"""``bastion compliance``: check a site against its state's rules, list packs, mock audits.

The check works on files alone (site YAML, its profile, the data directory's local
rules, overrides and records), so auditors and scripts can run it anywhere; given an
initialised data directory, it also reads the site's stored records and overrides. Exit
status: 0 when no rule fails, 1 when one does, 2 on bad input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bastion.cli.common import (
    DataDirOption,
    console,
    has_database,
    hub_for,
    one_line_errors,
    settings_for,
)
from bastion.compliance import engine
from bastion.compliance.packs import STATES, apply_override, builtin_pack, load_pack
from bastion.compliance.profile import LicenseType, Profile, load_profile
from bastion.compliance.records import Records, load_records
from bastion.core.errors import ConfigError
from bastion.site.loader import load_site_file

app = typer.Typer(
    help="Compliance: state rule packs, checks and mock audits.", no_args_is_help=True
)
StateOption = Annotated[str, typer.Option("--state", help="Two-letter state code, e.g. IL.")]
LicenseOption = Annotated[
    LicenseType | None, typer.Option("--license", help="Licence type (default: from the site).")
]
SiteArg = Annotated[Path, typer.Argument(help="Site YAML file.")]


def _profile_for(site_path: Path, data_dir: Path | None) -> Profile:
    sibling = site_path.with_name(f"{site_path.stem}.compliance.yaml")
    if sibling.is_file():
        return load_profile(sibling)
    if data_dir is not None and (data_dir / "compliance" / "profile.yaml").is_file():
        return load_profile(data_dir / "compliance" / "profile.yaml")
    return Profile()


def _records_for(
    data_dir: Path | None, site_id: str
) -> tuple[Records, list[tuple[str, dict[str, Any], str]]]:
    """Return the records (and stored rule overrides) for a site.

    A ``records.yaml`` in the data directory wins; else an initialised data directory's
    database gives the site's stored records, visits, training and counts.
    """
    if data_dir is not None and (data_dir / "compliance" / "records.yaml").is_file():
        return load_records(data_dir / "compliance" / "records.yaml"), []
    if data_dir is None or not has_database(settings_for(data_dir)):
        return Records(), []
    from bastion.compliance import service
    from bastion.compliance.models import ComplianceOverride

    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        overrides = [
            (o.rule, o.params, o.reason)
            for o in session.query(ComplianceOverride).filter_by(site_id=site_id)
        ]
        return service.gather(session, site_id), overrides


def build_report(
    site_path: Path, state: str, license: str | None, data_dir: Path | None
) -> engine.Report:
    """Load everything from files and run the state's rules."""
    state = state.upper()
    if state not in STATES:
        raise ConfigError(
            f"no rule pack for state {state!r}; we have {', '.join(STATES)}", field="--state"
        )
    site = load_site_file(site_path)
    records, overrides = _records_for(data_dir, site.site.id)
    pack = load_pack(state, data_dir)
    for rule, params, reason in overrides:
        if rule.split("-")[0] == state:
            apply_override(pack, rule, params, reason)
    return engine.run(
        pack=pack,
        site=site,
        profile=_profile_for(site_path, data_dir),
        records=records,
        now=datetime.now(UTC),
        license=license,
    )


@app.command("check")
@one_line_errors
def check(
    site: SiteArg,
    state: StateOption,
    license: LicenseOption = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check a site against its state's rules; exit 1 when any rule fails."""
    report = build_report(site, state, license, data_dir)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        table = Table(title=f"{report.site_name} — {report.state} ({report.license or 'all'})")
        for column in ("Rule", "Status", "Conf.", "Requirement", "Citation", "Evidence"):
            table.add_column(column)
        for f in report.findings:
            table.add_row(
                f.rule, f.status, f.confidence, f.title, f.citation, (f.evidence or [""])[0]
            )
        console.print(table)
        counts = report.counts()
        console.print(
            f"{counts['pass']} pass, {counts['fail']} fail, {counts['unknown']} unknown, "
            f"{counts['manual']} manual; score {report.score()}%"
        )
        for problem in report.problems:
            console.print(f"[yellow]warning:[/] {problem}", highlight=False)
    if report.counts()["fail"]:
        raise typer.Exit(1)


@app.command("packs")
@one_line_errors
def packs() -> None:
    """List the state rule packs and how many rules each holds."""
    table = Table(title="Compliance rule packs")
    for column in ("State", "Name", "Regulator", "Rules", "[T]", "[S]", "[R]"):
        table.add_column(column)
    for state in STATES:
        pack = builtin_pack(state)
        conf = [r.confidence for r in pack.rules]
        table.add_row(
            state,
            pack.name,
            pack.regulator,
            str(len(pack.rules)),
            *(str(conf.count(c)) for c in ("T", "S", "R")),
        )
    console.print(table)


@app.command("audit")
@one_line_errors
def audit(
    site: SiteArg,
    state: StateOption,
    out: Annotated[Path, typer.Option("--out", help="PDF file to write.")],
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML copy.")] = None,
    license: LicenseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write an inspector-style mock-audit report (PDF, optionally HTML) of a site."""
    from bastion.compliance.audit import AuditInput, render_html, render_pdf

    report = build_report(site, state, license, data_dir)
    data = AuditInput(
        report=report, site=load_site_file(site), regulator=builtin_pack(state.upper()).regulator
    )
    out.write_bytes(render_pdf(data))
    if html is not None:
        html.write_text(render_html(data), encoding="utf-8")
    counts = report.counts()
    console.print(
        f"wrote {out}: score {report.score()}%, {counts['fail']} fail, "
        f"{counts['unknown']} not testable, {counts['manual']} manual"
    )
