"""Inventory routes for blind cycle counts, reconciliation, findings, imports and exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, SessionDep, run_unit_of_work
from bastion.core.errors import InvalidInput
from bastion.inventory import ccrs, counts, imports, metrc, recon, report, views
from bastion.inventory.api.common import (
    PREFIX,
    Handler,
    HubDep,
    Manager,
    Reader,
    body_of,
    import_reply,
    site_of,
)
from bastion.inventory.models import InvCount
from bastion.inventory.schemas import (
    CountCreate,
    CountEntry,
    CountLineRead,
    CountRead,
    FindingRead,
    ReconcileRead,
)

router = APIRouter(prefix=PREFIX, tags=["inventory"])


def _count_read(session: Session, count: InvCount, user_id: int | None) -> CountRead:
    lines = counts.blind(session, count, user_id)
    return CountRead(
        id=count.id,
        day=count.day,
        status=count.status,
        lines=[CountLineRead(**line.__dict__) for line in lines],
    )


@router.post("/counts", response_model=CountRead, status_code=201)
def start_count(
    site_id: str, data: CountCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> CountRead:
    """Start today's blind count: the sample is drawn now and shown only to the counters."""
    site = site_of(session, site_id)
    count = counts.start(
        session=session,
        site=site,
        counters=data.counters,
        size=data.size,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return _count_read(session, count, None)


@router.get("/counts/{count_id}", response_model=CountRead)
def get_count(site_id: str, count_id: str, session: SessionDep, principal: Handler) -> CountRead:
    """Return the count sheet: tags and places only, to the named counters only."""
    count = counts.get_count(session, site_id, count_id)
    return _count_read(session, count, principal.user_id)


@router.post("/counts/{count_id}/lines", status_code=204)
def enter_count(
    site_id: str,
    count_id: str,
    data: CountEntry,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> Response:
    """Enter a counter's figure for one tag (blind: the book quantity is never shown)."""
    counts.enter(
        session=session,
        count=counts.get_count(session, site_id, count_id),
        user_id=principal.user_id,
        tag=data.tag,
        counted=data.quantity,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.post("/counts/{count_id}/complete")
def complete_count(
    site_id: str, count_id: str, session: SessionDep, hub: HubDep, principal: Handler
) -> dict[str, int]:
    """Close the count as its witness (someone who did not count)."""
    differ = counts.complete(
        session=session,
        count=counts.get_count(session, site_id, count_id),
        witness_user_id=principal.user_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return {"variances": differ}


@router.post("/reconcile", response_model=ReconcileRead)
def reconcile(site_id: str, session: SessionDep, hub: HubDep, principal: Manager) -> ReconcileRead:
    """Run the ten checks now and store what is new."""
    site = site_of(session, site_id)
    found, new = recon.run(session, site=site, context=principal.context(), now=hub.clock.now())
    by: dict[str, int] = {}
    for f in found:
        by[f.check] = by.get(f.check, 0) + 1
    return ReconcileRead(found=len(found), new=len(new), by_check=by)


@router.get("/findings", response_model=list[FindingRead])
def list_findings(
    site_id: str, session: SessionDep, principal: Reader, status: str | None = "open"
) -> list[FindingRead]:
    """List findings, most severe first."""
    site_of(session, site_id)
    return [views.finding(r) for r in recon.list_findings(session, site_id, status=status or None)]


@router.post("/findings/{finding_id}/incident", response_model=FindingRead)
def open_incident(
    site_id: str, finding_id: str, session: SessionDep, hub: HubDep, principal: Manager
) -> FindingRead:
    """Open the finding's incident with the regulator-notice deadline."""
    site = site_of(session, site_id)
    row = recon.get_finding(session, site_id, finding_id)
    recon.open_incident(
        session, site=site, finding=row, context=principal.context(), now=hub.clock.now()
    )
    return views.finding(row)


@router.post("/findings/{finding_id}/close", response_model=FindingRead)
def close_finding(
    site_id: str, finding_id: str, session: SessionDep, hub: HubDep, principal: Manager
) -> FindingRead:
    """Close a finding once explained or handled."""
    row = recon.get_finding(session, site_id, finding_id)
    recon.close(session, finding=row, context=principal.context(), now=hub.clock.now())
    return views.finding(row)


async def _import(hub: HubDep, principal: Principal, site_id: str, work: Any) -> JSONResponse:
    return import_reply(await run_unit_of_work(hub, work))


@router.post("/imports/metrc/{kind}")
async def import_metrc(
    site_id: str,
    kind: str,
    request: Request,
    hub: HubDep,
    principal: Manager,
    license: str = "",
    manifest: str | None = None,
    filename: str = "",
) -> JSONResponse:
    """Import a Metrc v2 list response (the body) fetched for ``license``; all or nothing."""
    data = await body_of(request)
    now = hub.clock.now()

    def work(session: Session) -> imports.Result:
        return metrc.import_file(
            session,
            site=site_of(session, site_id),
            kind=kind,
            data=data,
            license_no=license,
            context=principal.context(),
            now=now,
            filename=filename,
            manifest=manifest,
        )

    return await _import(hub, principal, site_id, work)


@router.post("/imports/ccrs/{kind}")
async def import_ccrs(
    site_id: str,
    kind: Literal["Inventory", "InventoryAdjustment", "Sale"],
    request: Request,
    hub: HubDep,
    principal: Manager,
    unit: str = "g",
    filename: str = "",
) -> JSONResponse:
    """Import a Washington CCRS CSV file (the body); all or nothing."""
    data = await body_of(request)
    now = hub.clock.now()

    def work(session: Session) -> imports.Result:
        return ccrs.import_file(
            session,
            site=site_of(session, site_id),
            kind=kind,
            data=data,
            context=principal.context(),
            now=now,
            filename=filename,
            unit=unit,
        )

    return await _import(hub, principal, site_id, work)


@router.get("/imports/{import_id}/rejected")
def rejected(
    site_id: str, import_id: str, session: SessionDep, principal: Manager
) -> list[dict[str, str]]:
    """Return the records an import refused, with the raw text kept for review."""
    rows = [r for r in imports.rejected_rows(session, import_id) if r.site_id == site_id]
    return [
        {"record": r.record, "field": r.field, "message": r.message, "raw": r.raw} for r in rows
    ]


def _period(hub: HubDep, days: int) -> tuple[datetime, datetime]:
    if not 1 <= days <= 366:
        raise InvalidInput("days: between 1 and 366")
    now = hub.clock.now()
    return now - timedelta(days=days), now + timedelta(seconds=1)


@router.get("/exports/metrc/{kind}")
def export_metrc(
    site_id: str,
    kind: Literal["adjustments", "receipts", "packages"],
    session: SessionDep,
    hub: HubDep,
    principal: Reader,
    days: int = 7,
) -> Any:
    """Return Metrc request bodies (adjustments, receipts) or the package list envelope."""
    site = site_of(session, site_id)
    since, until = _period(hub, days)
    if kind == "packages":
        body: Any = metrc.export_packages(session, site=site)
    elif kind == "adjustments":
        body = metrc.export_adjustments(session, site=site, since=since, until=until)
    else:
        body = metrc.export_receipts(session, site=site, since=since, until=until)
    return body


@router.get("/exports/ccrs/{kind}")
def export_ccrs(
    site_id: str,
    kind: Literal["Inventory", "InventoryAdjustment", "Sale"],
    session: SessionDep,
    hub: HubDep,
    principal: Reader,
    days: int = 7,
    integrator_key: str = "BASTION",
) -> Response:
    """Return a CCRS CSV file named as CCRS expects."""
    site = site_of(session, site_id)
    since, _ = _period(hub, days)
    now = hub.clock.now()
    data = ccrs.export(session, site=site, kind=kind, now=now, since=since)
    name = ccrs.filename(kind, integrator_key, now.strftime("%Y%m%d%H%M%S"))
    return Response(
        data,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/report.csv")
def report_csv(site_id: str, session: SessionDep, hub: HubDep, principal: Reader) -> Response:
    """Return the reconciliation report as CSV (variance by location and week, reasons by user)."""
    site = site_of(session, site_id)
    data = report.csv_report(session, site=site, now=hub.clock.now())
    return Response(
        data,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="inventory-reconciliation.csv"'},
    )


@router.get("/report.pdf")
def report_pdf(site_id: str, session: SessionDep, hub: HubDep, principal: Reader) -> Response:
    """Return the reconciliation report as a PDF with its charts (for the inspector's file)."""
    site = site_of(session, site_id)
    data = report.pdf_report(session, site=site, now=hub.clock.now())
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="inventory-reconciliation.pdf"'},
    )
