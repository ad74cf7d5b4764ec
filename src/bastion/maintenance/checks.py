"""Recording proof and camera view checks: gather outside the transaction, then record.

A check reads the recorder or a snapshot first (slow, may fail), then stores what it
found in one unit of work with its ledger event. A source that cannot be read is a
check with state ``unknown`` and the reason — never an "OK". A camera whose view check
fails, or whose recording has gaps, raises a trouble alarm (``device.health``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from ulid import ULID

from bastion.core.context import Context
from bastion.core.errors import InvalidInput, NotFound
from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_RECORDING_CHECK,
    EVENT_VIEW_CHECK,
    DeviceHealthPayload,
    RecordingCheckPayload,
    ViewCheckPayload,
    make_event,
)
from bastion.maintenance import gaps, views
from bastion.maintenance.models import RecordingCheck, ViewCheck
from bastion.maintenance.recordings import (
    FrigateRecordings,
    Segments,
    SourceProblem,
    folder_segments,
)
from bastion.maintenance.settings import SiteUpkeep
from bastion.site.schemas import DeviceType, Site
from bastion.store.files import secure_dir
from bastion.store.ledger import stage

_LOGGER = logging.getLogger(__name__)
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class Gathered:
    """What a recording source gave: segments, or why there are none to trust."""

    source: str
    segments: Segments | None
    problem: str | None = None


def camera_of(site: Site, camera_id: str) -> None:
    """Refuse a camera the site does not have."""
    try:
        device = site.device(camera_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no camera {camera_id!r}") from None
    if device.type is not DeviceType.CAMERA:
        raise InvalidInput(f"{camera_id!r} is a {device.type.value}, not a camera")


def gather(settings: SiteUpkeep, camera_id: str, start: datetime, end: datetime) -> Gathered:
    """Read a camera's segments from the site's recorder (Frigate first, else the folder)."""
    if end <= start:
        raise InvalidInput("the period must end after it starts")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"check at most {MAX_PERIOD_DAYS} days at a time")
    name = settings.cameras.get(camera_id, camera_id)
    try:
        if settings.frigate_url:
            source = FrigateRecordings(settings.frigate_url, settings.timeout_s)
            return Gathered("frigate", source.segments(name, start, end))
        if settings.segment_folder is not None:
            found = folder_segments(
                settings.segment_folder, name, start, end, nominal_s=settings.segment_seconds
            )
            return Gathered("folder", found)
    except SourceProblem as exc:
        _LOGGER.warning("recordings of %s unreadable: %s", camera_id, exc)
        return Gathered("frigate" if settings.frigate_url else "folder", None, str(exc))
    return Gathered("none", None, "no recorder is configured for this site")


def record_recording_check(
    *,
    session: Session,
    site: Site,
    camera_id: str,
    start: datetime,
    end: datetime,
    gathered: Gathered,
    settings: SiteUpkeep,
    context: Context,
    now: datetime,
) -> RecordingCheck:
    """Scan the gathered segments, store the proof and ledger it; alarm on gaps."""
    camera_of(site, camera_id)
    row = RecordingCheck(
        id=str(ULID()),
        site_id=site.site.id,
        camera_id=camera_id,
        source=gathered.source,
        period_start=start,
        period_end=end,
        state="unknown",
        segments=0,
        gaps=[],
        warnings=[],
        checked_at=now,
        checked_by=context.actor,
    )
    if gathered.segments is None:
        row.warnings = [gathered.problem or "recordings could not be read"]
    else:
        found = gathered.segments
        coverage = gaps.scan(
            found.starts,
            found.ends,
            start.timestamp(),
            end.timestamp(),
            min_gap_s=settings.min_gap_s,
        )
        row.segments = coverage.segments
        row.recorded_s = coverage.recorded_s
        row.coverage_pct = round(coverage.percent, 4)
        row.gaps = [[g.start, g.end] for g in coverage.gaps]
        warnings = list(found.warnings)
        if coverage.overlap_s >= 0.5:  # less is rounding at segment edges
            warnings.append(f"segments overlap by {coverage.overlap_s:.0f} s in all (counted once)")
        row.warnings = warnings
        short = coverage.percent < settings.required_coverage_pct
        row.state = "gaps" if coverage.gaps or short else "ok"
    session.add(row)
    session.flush()
    stage(
        session,
        make_event(
            EVENT_RECORDING_CHECK,
            RecordingCheckPayload(
                check_id=row.id,
                camera_id=camera_id,
                state=row.state,
                coverage_pct=row.coverage_pct,
                gaps=len(row.gaps),
                period_start=start,
                period_end=end,
            ),
            context=context,
            time=now,
            site=site.site.id,
        ),
    )
    if row.state == "gaps":
        longest = max((b - a for a, b in row.gaps), default=0.0)
        detail = f"recording gaps: {len(row.gaps)} (longest {longest:.0f} s), {row.coverage_pct:.2f}% recorded"
        _trouble(session, site, camera_id, detail, context, now)
    return row


def recording_checks(
    *, session: Session, site_id: str, camera_id: str | None = None, limit: int = 100
) -> list[RecordingCheck]:
    """Return a site's recording checks, newest first."""
    stmt = select(RecordingCheck).where(RecordingCheck.site_id == site_id)
    if camera_id is not None:
        stmt = stmt.where(RecordingCheck.camera_id == camera_id)
    return list(
        session.execute(stmt.order_by(RecordingCheck.checked_at.desc()).limit(limit)).scalars()
    )


def recording_check(*, session: Session, site_id: str, check_id: str) -> RecordingCheck:
    """Return one recording check of a site."""
    row = session.get(RecordingCheck, check_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no recording check {check_id!r} at site {site_id}")
    return row


# --- view checks -----------------------------------------------------------------------------


def image_dir(data_dir: Path, site_id: str) -> Path:
    """Return the private folder of a site's reference views and snapshots."""
    path = data_dir / "upkeep" / site_id
    secure_dir(path, create=True)
    return path


def reference_path(data_dir: Path, site_id: str, camera_id: str) -> Path:
    """Return where a camera's approved reference view is kept."""
    return image_dir(data_dir, site_id) / f"{camera_id}.reference.jpg"


def approve_reference(*, data_dir: Path, site: Site, camera_id: str, image: bytes) -> Path:
    """Keep an image as a camera's approved reference view (it must be a usable view)."""
    camera_of(site, camera_id)
    try:
        views.Reference(views.decode(image))
    except ValueError as exc:
        raise InvalidInput(f"not a usable reference view: {exc}") from None
    path = reference_path(data_dir, site.site.id, camera_id)
    path.write_bytes(image)
    path.chmod(0o600)
    return path


def fetch_snapshot(settings: SiteUpkeep, camera_id: str) -> bytes:
    """Read a camera's current snapshot: its configured URL or file, else Frigate's latest.jpg."""
    where = settings.snapshots.get(camera_id)
    if where is None and settings.frigate_url:
        name = settings.cameras.get(camera_id, camera_id)
        where = f"{settings.frigate_url.rstrip('/')}/api/{name}/latest.jpg"
    if where is None:
        raise SourceProblem("no snapshot source is configured for this camera")
    if where.startswith(("http://", "https://")):
        try:
            reply = httpx.get(where, timeout=settings.timeout_s)
        except httpx.HTTPError as exc:
            raise SourceProblem(
                f"the snapshot could not be fetched ({type(exc).__name__})"
            ) from None
        if reply.status_code != 200:
            raise SourceProblem(f"the snapshot source answered {reply.status_code}")
        return reply.content
    try:
        return Path(where).read_bytes()
    except OSError as exc:
        raise SourceProblem(f"the snapshot file could not be read ({exc.strerror})") from None


def run_view_check(
    *,
    session: Session,
    site: Site,
    camera_id: str,
    snapshot: bytes | None,
    problem: str | None,
    data_dir: Path,
    context: Context,
    now: datetime,
) -> ViewCheck:
    """Compare a snapshot with the camera's reference view; store, ledger, alarm on tamper."""
    camera_of(site, camera_id)
    reference = reference_path(data_dir, site.site.id, camera_id)
    row = ViewCheck(
        id=str(ULID()),
        site_id=site.site.id,
        camera_id=camera_id,
        verdict=views.Verdict.UNKNOWN.value,
        detail="",
        scores={},
        checked_at=now,
        checked_by=context.actor,
    )
    result: views.ViewResult | None = None
    if snapshot is None:
        row.detail = problem or "no snapshot"
    elif not reference.exists():
        row.detail = "no approved reference view for this camera yet"
    else:
        try:
            result = views.Reference(views.decode(reference.read_bytes())).check(
                views.decode(snapshot)
            )
        except ValueError as exc:
            row.detail = f"the snapshot could not be checked: {exc}"
    if snapshot is not None:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{camera_id}.{stamp}.{row.id[-6:]}.jpg"
        path = image_dir(data_dir, site.site.id) / name
        path.write_bytes(snapshot)
        path.chmod(0o600)
        row.snapshot_file = name
    if reference.exists():
        row.reference_file = reference.name
    if result is not None:
        summary = views.summary(result)
        row.verdict, row.detail, row.scores = result.verdict.value, result.detail, summary
    row.detail = row.detail[:300]
    session.add(row)
    session.flush()
    stage(
        session,
        make_event(
            EVENT_VIEW_CHECK,
            ViewCheckPayload(
                check_id=row.id,
                camera_id=camera_id,
                verdict=row.verdict,
                detail=row.detail,
            ),
            context=context,
            time=now,
            site=site.site.id,
        ),
    )
    if row.verdict not in ("ok", "unknown"):
        _trouble(
            session,
            site,
            camera_id,
            f"view {row.verdict}: {row.detail} (check {row.id})",
            context,
            now,
            status="tamper",
        )
    return row


def view_checks(
    *, session: Session, site_id: str, camera_id: str | None = None, limit: int = 100
) -> list[ViewCheck]:
    """Return a site's view checks, newest first."""
    stmt = select(ViewCheck).where(ViewCheck.site_id == site_id)
    if camera_id is not None:
        stmt = stmt.where(ViewCheck.camera_id == camera_id)
    return list(session.execute(stmt.order_by(ViewCheck.checked_at.desc()).limit(limit)).scalars())


def view_check(*, session: Session, site_id: str, check_id: str) -> ViewCheck:
    """Return one view check of a site."""
    row = session.get(ViewCheck, check_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no view check {check_id!r} at site {site_id}")
    return row


def _trouble(
    session: Session,
    site: Site,
    camera_id: str,
    detail: str,
    context: Context,
    now: datetime,
    *,
    status: str = "trouble",
) -> None:
    stage(
        session,
        make_event(
            EVENT_DEVICE_HEALTH,
            DeviceHealthPayload(device_id=camera_id, status=status, detail=detail[:500]),
            context=context,
            time=now,
            site=site.site.id,
        ),
    )
