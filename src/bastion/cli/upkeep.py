"""``bastion upkeep``: offline checks a technician runs on a laptop (no server needed).

``gaps`` proves the recording of a folder of segment files over a period; ``view``
compares a camera snapshot with its approved reference view. Both print what they found
in plain words and exit 1 when they found a problem (or could not tell).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.common import console, fail, one_line_errors
from bastion.maintenance import gaps, views
from bastion.maintenance.recordings import SourceProblem, folder_segments

app = typer.Typer(help="Upkeep checks: recording gaps in a segment folder, camera views.")


def _moment(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{what} {text!r} is not a date and time (e.g. 2026-03-07T14:00)")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("gaps")
@one_line_errors
def gaps_command(
    folder: Annotated[Path, typer.Argument(help="Folder of timestamped segment files.")],
    start: Annotated[
        str, typer.Option("--from", help="Start of the period (ISO; UTC if no zone).")
    ],
    end: Annotated[str, typer.Option("--to", help="End of the period (ISO; UTC if no zone).")],
    camera: Annotated[
        str | None, typer.Option(help="Only files whose path names this camera.")
    ] = None,
    min_gap: Annotated[float, typer.Option(help="Ignore holes this short (seconds).")] = 2.0,
    segment_seconds: Annotated[
        float | None, typer.Option(help="Trust this segment length instead of reading each file.")
    ] = None,
) -> None:
    """List the gaps in the recording of a period and the share recorded."""
    began, ended = _moment(start, "--from"), _moment(end, "--to")
    if ended <= began:
        fail("--to must be after --from")
    try:
        found = folder_segments(folder, camera, began, ended, nominal_s=segment_seconds)
    except SourceProblem as exc:
        fail(f"recording unknown: {exc}", code=1)
    coverage = gaps.scan(
        found.starts, found.ends, began.timestamp(), ended.timestamp(), min_gap_s=min_gap
    )
    for warning in found.warnings:
        console.print(f"warning: {warning}", highlight=False)
    console.print(
        f"{coverage.segments} segments, {coverage.percent:.3f}% recorded,"
        f" {len(coverage.gaps)} gap(s) longer than {min_gap:g} s",
        highlight=False,
    )
    for gap in coverage.gaps:
        first = datetime.fromtimestamp(gap.start, UTC).isoformat(timespec="seconds")
        last = datetime.fromtimestamp(gap.end, UTC).isoformat(timespec="seconds")
        console.print(f"gap {first} – {last} ({gap.seconds:.0f} s)", highlight=False)
    if coverage.gaps or found.warnings:
        raise typer.Exit(1)


@app.command("view")
@one_line_errors
def view_command(
    reference: Annotated[Path, typer.Argument(help="The approved reference view (image).")],
    snapshot: Annotated[Path, typer.Argument(help="The camera's snapshot now (image).")],
) -> None:
    """Say whether a camera is covered, defocused, moved or partly blocked."""
    try:
        prepared = views.Reference(views.decode(reference.read_bytes()))
        result = prepared.check(views.decode(snapshot.read_bytes()))
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror}")
    except ValueError as exc:
        fail(str(exc))
    console.print(f"{result.verdict.value}: {result.detail}", highlight=False)
    if result.verdict is not views.Verdict.OK:
        raise typer.Exit(1)
