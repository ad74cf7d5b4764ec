"""Upkeep routes under ``/api/sites/{site_id}/upkeep`` (thin; logic in the maintenance modules).

Reading needs ``upkeep:read``; running recording and view checks, walk tests and
completing work orders needs ``upkeep:test``; the asset register, schedules and approved
reference views need ``upkeep:manage``. Checks read the recorder or the camera before
the transaction starts, so a slow recorder never holds the database.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bastion.api.deps import Principal, Require, SessionDep, get_hub, run_unit_of_work
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import InvalidInput, NotFound
from bastion.hub import Hub
from bastion.maintenance import checks, hardening, planning, report, uptime, walktests
from bastion.maintenance.recordings import SourceProblem
from bastion.maintenance.runtime import DeviceHealthRuntime
from bastion.maintenance.schemas import (
    AreaRead,
    AssetRead,
    AssetUpdate,
    CoverageReport,
    DayUptime,
    DeviceHealthRead,
    FindingRead,
    HardeningRead,
    RecordingCheckCreate,
    RecordingCheckRead,
    ScheduleCreate,
    ScheduleRead,
    UpgradeRead,
    ViewCheckRead,
    WalkDeviceRead,
    WalkTestCreate,
    WalkTestRead,
    WorkOrderComplete,
    WorkOrderRead,
)
from bastion.maintenance.settings import SETTINGS_KEY, SiteUpkeep
from bastion.site.schemas import DeviceType, Site

PREFIX = "/api/sites/{site_id}/upkeep"
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.UPKEEP_READ, site=FromPath("site_id")))]
Tester = Annotated[Principal, Depends(Require(Permission.UPKEEP_TEST, site=FromPath("site_id")))]
Manager = Annotated[Principal, Depends(Require(Permission.UPKEEP_MANAGE, site=FromPath("site_id")))]
MAX_IMAGE_BYTES = 8 * 1024 * 1024

router = APIRouter(prefix=PREFIX, tags=["upkeep"])


def site_of(hub: Hub, site_id: str) -> Site:
    """Return a loaded site model (404 when the site is unknown)."""
    site = hub.extras.get("sites", {}).get(site_id)
    if site is None:
        raise NotFound(f"no site {site_id!r}")
    return site  # type: ignore[no-any-return]


def settings_of(hub: Hub, site_id: str) -> SiteUpkeep:
    """Return the site's recording and snapshot sources (none configured: defaults)."""
    found = hub.extras.get(SETTINGS_KEY, {}).get(site_id)
    return found if isinstance(found, SiteUpkeep) else SiteUpkeep()


# --- device health ---------------------------------------------------------------------------


def health_board(hub: Hub, site: Site, days: int) -> list[DeviceHealthRead]:
    """Return every device's condition now and its uptime over the last ``days`` days."""
    tz = ZoneInfo(site.site.timezone)
    end = hub.clock.now()
    start = end - timedelta(days=days)
    flips = uptime.transitions_from(hub.ledger, site.site.id, start, end)
    runtime = hub.extras.get("device_health")
    tracker = runtime.tracker if isinstance(runtime, DeviceHealthRuntime) else None
    rows = []
    for entry in uptime.compute(site, flips, start, end, tz):
        condition = tracker.condition(site.site.id, entry.device_id) if tracker else None
        rows.append(
            DeviceHealthRead(
                device_id=entry.device_id,
                name=entry.name,
                kind=entry.kind,
                condition=condition.value if condition is not None else None,
                uptime_pct=round(entry.uptime_pct, 3),
                failures=entry.failures,
                mtbf_h=round(entry.mtbf_h, 2) if entry.mtbf_h is not None else None,
                down_now=entry.down_now,
                days=[
                    DayUptime(day=d, uptime_pct=round(p, 3)) for d, p in sorted(entry.days.items())
                ],
            )
        )
    return rows


@router.get("/health", response_model=list[DeviceHealthRead])
def get_health(
    site_id: str,
    hub: HubDep,
    principal: Reader,
    days: Annotated[int, Query(ge=1, le=400)] = 7,
) -> list[DeviceHealthRead]:
    """List every device with its trouble now, uptime per day and mean time between failures."""
    return health_board(hub, site_of(hub, site_id), days)


@router.get("/health.csv")
def export_health(
    site_id: str,
    hub: HubDep,
    principal: Reader,
    days: Annotated[int, Query(ge=1, le=400)] = 30,
) -> Response:
    """Export uptime per device per day as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["device", "name", "kind", "day", "uptime_pct", "failures", "mtbf_h"])
    for row in health_board(hub, site_of(hub, site_id), days):
        for day in row.days:
            writer.writerow(
                [
                    row.device_id,
                    row.name,
                    row.kind,
                    day.day.isoformat(),
                    f"{day.uptime_pct:.3f}",
                    row.failures,
                    "" if row.mtbf_h is None else f"{row.mtbf_h:.2f}",
                ]
            )
    headers = {"content-disposition": f'attachment; filename="uptime-{site_id}.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


# --- recording proof -------------------------------------------------------------------------


@router.post("/recordings/check", response_model=CoverageReport)
async def check_recordings(
    site_id: str, data: RecordingCheckCreate, hub: HubDep, principal: Tester
) -> CoverageReport:
    """Check the recordings of cameras over a period; report cameras and required areas."""
    site = site_of(hub, site_id)
    settings = settings_of(hub, site_id)
    cameras = data.camera_ids or [d.id for d in site.devices if d.type is DeviceType.CAMERA]
    for camera_id in cameras:
        checks.camera_of(site, camera_id)
    gathered = {}
    for camera_id in cameras:
        gathered[camera_id] = await run_in_threadpool(
            checks.gather, settings, camera_id, data.start, data.end
        )
    context, now = principal.context(), hub.clock.now()

    def store(session: Session) -> list[RecordingCheckRead]:
        return [
            RecordingCheckRead.model_validate(
                checks.record_recording_check(
                    session=session,
                    site=site,
                    camera_id=camera_id,
                    start=data.start,
                    end=data.end,
                    gathered=gathered[camera_id],
                    settings=settings,
                    context=context,
                    now=now,
                )
            )
            for camera_id in cameras
        ]

    rows = await run_unit_of_work(hub, store)
    found = report.areas(
        site,
        gathered,
        data.start,
        data.end,
        min_gap_s=settings.min_gap_s,
        required_pct=settings.required_coverage_pct,
    )
    return CoverageReport(
        cameras=rows,
        areas=[
            AreaRead(
                zone_id=a.zone_id,
                name=a.name,
                cameras=list(a.cameras),
                state=a.state,
                coverage_pct=a.coverage_pct,
                gaps=[list(g) for g in a.gaps],
                detail=a.detail,
            )
            for a in found
        ],
    )


@router.get("/recordings", response_model=list[RecordingCheckRead])
def list_recording_checks(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    camera_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Any]:
    """List recording checks, newest first (one camera's when asked)."""
    return checks.recording_checks(
        session=session, site_id=site_id, camera_id=camera_id, limit=limit
    )


@router.get("/recordings/{check_id}", response_model=RecordingCheckRead)
def get_recording_check(site_id: str, check_id: str, session: SessionDep, principal: Reader) -> Any:
    """Return one recording check with its gaps."""
    return checks.recording_check(session=session, site_id=site_id, check_id=check_id)


# --- camera view checks ----------------------------------------------------------------------


async def _image_of(request: Request, hub: Hub, site_id: str, camera_id: str) -> bytes:
    body = await request.body()
    if len(body) > MAX_IMAGE_BYTES:
        raise InvalidInput("the image is larger than 8 MB")
    if body:
        return body
    try:
        return await run_in_threadpool(checks.fetch_snapshot, settings_of(hub, site_id), camera_id)
    except SourceProblem as exc:
        raise InvalidInput(f"no image was sent and {exc}") from None


@router.post("/views/{camera_id}/reference", status_code=204)
async def approve_reference(
    site_id: str, camera_id: str, request: Request, hub: HubDep, principal: Manager
) -> Response:
    """Approve a camera's reference view: the image sent (JPEG/PNG), or its snapshot now."""
    site = site_of(hub, site_id)
    checks.camera_of(site, camera_id)
    image = await _image_of(request, hub, site_id, camera_id)
    await run_in_threadpool(
        checks.approve_reference,
        data_dir=hub.settings.data_dir,
        site=site,
        camera_id=camera_id,
        image=image,
    )
    context, now = principal.context(), hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda session: planning.record_reference(
            session=session, site_id=site_id, camera_id=camera_id, context=context, now=now
        ),
    )
    return Response(status_code=204)


@router.post("/views/{camera_id}/check", response_model=ViewCheckRead)
async def check_view(
    site_id: str, camera_id: str, request: Request, hub: HubDep, principal: Tester
) -> Any:
    """Compare a snapshot (the image sent, or the camera's own) with the reference view."""
    site = site_of(hub, site_id)
    checks.camera_of(site, camera_id)
    body = await request.body()
    if len(body) > MAX_IMAGE_BYTES:
        raise InvalidInput("the image is larger than 8 MB")
    snapshot, problem = (body or None), None
    if snapshot is None:
        try:
            snapshot = await run_in_threadpool(
                checks.fetch_snapshot, settings_of(hub, site_id), camera_id
            )
        except SourceProblem as exc:
            problem = str(exc)
    context, now = principal.context(), hub.clock.now()

    def store(session: Session) -> ViewCheckRead:
        row = checks.run_view_check(
            session=session,
            site=site,
            camera_id=camera_id,
            snapshot=snapshot,
            problem=problem,
            data_dir=hub.settings.data_dir,
            context=context,
            now=now,
        )
        return ViewCheckRead.model_validate(row)

    return await run_unit_of_work(hub, store)


@router.get("/views", response_model=list[ViewCheckRead])
def list_view_checks(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    camera_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Any]:
    """List view checks, newest first."""
    return checks.view_checks(session=session, site_id=site_id, camera_id=camera_id, limit=limit)


@router.get("/views/{check_id}/{which}.jpg")
def view_image(
    site_id: str, check_id: str, which: str, session: SessionDep, hub: HubDep, principal: Reader
) -> FileResponse:
    """Return the snapshot or the reference image of a view check."""
    row = checks.view_check(session=session, site_id=site_id, check_id=check_id)
    name = {"snapshot": row.snapshot_file, "reference": row.reference_file}.get(which)
    if name is None:
        raise NotFound(f"view check {check_id} has no {which} image")
    path = checks.image_dir(hub.settings.data_dir, site_id) / name
    if not path.is_file():
        raise NotFound(f"the {which} image of view check {check_id} is no longer kept")
    return FileResponse(path, media_type="image/jpeg")


# --- walk tests ------------------------------------------------------------------------------


def _walk_read(session: Session, test: Any) -> WalkTestRead:
    out = WalkTestRead.model_validate(test)
    out.devices = [
        WalkDeviceRead.model_validate(d)
        for d in walktests.results(session=session, test_id=test.id)
    ]
    return out


@router.post("/walk-tests", response_model=WalkTestRead, status_code=201)
def start_walk_test(
    site_id: str, data: WalkTestCreate, session: SessionDep, hub: HubDep, principal: Tester
) -> WalkTestRead:
    """Start a walk test of a zone: its devices are held and must each report in the window."""
    started = walktests.start(
        session=session,
        site=site_of(hub, site_id),
        zone_id=data.zone_id,
        minutes=data.minutes,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return _walk_read(session, started.test)


@router.post("/walk-tests/{test_id}/{action}", response_model=WalkTestRead)
def end_walk_test(
    site_id: str,
    test_id: str,
    action: str,
    session: SessionDep,
    hub: HubDep,
    principal: Tester,
) -> WalkTestRead:
    """Finish a walk test now (silent devices fail) or cancel it; the hold is released."""
    if action not in ("finish", "cancel"):
        raise NotFound(f"no walk-test action {action!r}")
    test = walktests.finish(
        session=session,
        site=site_of(hub, site_id),
        test_id=test_id,
        context=principal.context(),
        now=hub.clock.now(),
        cancel=action == "cancel",
    )
    return _walk_read(session, test)


@router.get("/walk-tests", response_model=list[WalkTestRead])
def list_walk_tests(site_id: str, session: SessionDep, principal: Reader) -> list[WalkTestRead]:
    """List walk tests, newest first, with each device's result."""
    return [_walk_read(session, t) for t in walktests.recent(session=session, site_id=site_id)]


@router.get("/walk-tests/{test_id}", response_model=WalkTestRead)
def get_walk_test(
    site_id: str, test_id: str, session: SessionDep, principal: Reader
) -> WalkTestRead:
    """Return a walk test and each device's result."""
    test = walktests.get(session=session, test_id=test_id)
    if test.site_id != site_id:
        raise NotFound(f"no walk test {test_id!r} at site {site_id}")
    return _walk_read(session, test)


# --- schedules, work orders, assets ----------------------------------------------------------


@router.get("/schedules", response_model=list[ScheduleRead])
def list_schedules(site_id: str, session: SessionDep, principal: Reader) -> list[Any]:
    """List the site's maintenance schedules, soonest due first."""
    return planning.list_schedules(session=session, site_id=site_id)


@router.post("/schedules", response_model=ScheduleRead, status_code=201)
def add_schedule(
    site_id: str, data: ScheduleCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> Any:
    """Add a recurring task (assessment, camera check, battery or UPS test, firmware, walk test)."""
    return planning.add_schedule(
        session=session,
        site=site_of(hub, site_id),
        task=data.task,
        every_days=data.every_days,
        first_due=data.first_due,
        zone_id=data.zone_id,
        context=principal.context(),
        now=hub.clock.now(),
    )


@router.post("/schedules/defaults", response_model=list[ScheduleRead])
def add_default_schedules(
    site_id: str, session: SessionDep, hub: HubDep, principal: Manager
) -> list[Any]:
    """Give the site every standard schedule it lacks (all due now)."""
    return planning.ensure_default_schedules(
        session=session,
        site=site_of(hub, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )


@router.get("/work-orders", response_model=list[WorkOrderRead])
def list_work_orders(
    site_id: str, session: SessionDep, principal: Reader, state: str | None = None
) -> list[Any]:
    """List work orders, soonest due first (``state=open`` for the ones to do)."""
    return planning.work_orders(session=session, site_id=site_id, state=state)


@router.post("/work-orders/{order_id}/complete", response_model=WorkOrderRead)
def complete_work_order(
    site_id: str,
    order_id: str,
    data: WorkOrderComplete,
    session: SessionDep,
    hub: HubDep,
    principal: Tester,
) -> Any:
    """Complete a work order; every checklist item must be ticked."""
    return planning.complete(
        session=session,
        site_id=site_id,
        order_id=order_id,
        done_items=data.done,
        note=data.note,
        context=principal.context(),
        now=hub.clock.now(),
    )


@router.get("/assets", response_model=list[AssetRead])
def list_assets(site_id: str, session: SessionDep, hub: HubDep, principal: Reader) -> list[Any]:
    """Return the asset register (every device of the site model)."""
    site = site_of(hub, site_id)
    known = planning.registered(session=session, site_id=site_id)
    return planning.blank_assets(site, known)


@router.patch("/assets/{device_id}", response_model=AssetRead)
def update_asset(
    site_id: str,
    device_id: str,
    data: AssetUpdate,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> Any:
    """Record a device's model, firmware, install date, warranty, end of life or cost."""
    return planning.update_asset(
        session=session,
        site=site_of(hub, site_id),
        device_id=device_id,
        changes=data.model_dump(exclude_unset=True),
        context=principal.context(),
        now=hub.clock.now(),
    )


@router.get("/upgrades", response_model=list[UpgradeRead])
def upgrade_plan(
    site_id: str, session: SessionDep, hub: HubDep, principal: Reader
) -> list[UpgradeRead]:
    """List devices to plan replacing (end of life, poor uptime, failing out of warranty)."""
    site = site_of(hub, site_id)
    assets = planning.blank_assets(site, planning.registered(session=session, site_id=site_id))
    end = hub.clock.now()
    start = end - timedelta(days=90)
    flips = uptime.transitions_from(hub.ledger, site_id, start, end)
    health = uptime.compute(site, flips, start, end, ZoneInfo(site.site.timezone))
    items = planning.upgrade_plan(
        assets, health, end.astimezone(ZoneInfo(site.site.timezone)).date()
    )
    return [
        UpgradeRead(
            device_id=i.device_id,
            name=i.name,
            reasons=list(i.reasons),
            replacement_cents=i.replacement_cents,
        )
        for i in items
    ]


# --- hardening score -------------------------------------------------------------------------


def _hardening(hub: Hub, session: Session, site_id: str) -> hardening.Assessment:
    return hardening.assess(
        session=session,
        ledger=hub.ledger,
        site=site_of(hub, site_id),
        settings=settings_of(hub, site_id),
        host=hub.settings.host,
        cookie_secure=hub.settings.cookie_secure,
        now=hub.clock.now(),
    )


def _hardening_read(hub: Hub, site_id: str, found: hardening.Assessment) -> HardeningRead:
    return HardeningRead(
        score=found.score,
        findings=[
            FindingRead(kind=f.kind, target=f.target, problem=f.problem, fix=f.fix, weight=f.weight)
            for f in found.findings
        ],
        trend=hardening.trend(hub.ledger, site_id),
    )


@router.get("/hardening", response_model=HardeningRead)
def get_hardening(
    site_id: str, session: SessionDep, hub: HubDep, principal: Reader
) -> HardeningRead:
    """Return the hardening score now, what weakens the site (each with its fix), the trend."""
    return _hardening_read(hub, site_id, _hardening(hub, session, site_id))


@router.post("/hardening", response_model=HardeningRead)
def record_hardening(
    site_id: str, session: SessionDep, hub: HubDep, principal: Tester
) -> HardeningRead:
    """Score the site now and record the score in the ledger (a point of the trend)."""
    found = _hardening(hub, session, site_id)
    hardening.record(
        session=session,
        site_id=site_id,
        assessment=found,
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    read = _hardening_read(hub, site_id, found)
    read.trend.append((hub.clock.now(), found.score))
    return read
