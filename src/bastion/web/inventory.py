"""Console pages for inventory: stock, findings, the report and today's blind count sheet.

Stock is grouped by zone; each finding shows its evidence and clip. The count sheet shows tags, items and places only (never the book quantity) and only to
the counters named when the count started; an entry form keeps what was typed when a
figure is refused. Times are in the site's time zone.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.inventory import counts, recon, report, views
from bastion.inventory.models import InvCount
from bastion.site.schemas import Site
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.visitors import act, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.INVENTORY_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
Handler = Annotated[
    Principal,
    Depends(Require(Permission.INVENTORY_HANDLE, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
HandlerForm = Annotated[
    Principal, Depends(Require(Permission.INVENTORY_HANDLE, site=FromBody("site")))
]
SEVERITY = {"high": "High", "medium": "Medium", "low": "Low", "info": "Info"}


def site_for(hub: Hub, principal: Principal, permission: Permission, wanted: str | None) -> Site:
    """Return the chosen (or first) loaded site where the principal holds ``permission``."""
    sites = loaded_sites(hub)
    allowed = sorted(sid for sid in sites if principal.allows(permission, sid))
    if wanted is not None:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the {permission.value} permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may see inventory")
    return sites[allowed[0]]


def _bars(values: dict[str, int]) -> list[dict[str, Any]]:
    """Return bars for a horizontal chart: label, dollars, width in percent of the largest."""
    top = max((abs(v) for v in values.values()), default=0) or 1
    return [
        {
            "label": k,
            "dollars": f"{v / 100:,.2f}",
            "width": round(abs(v) * 100 / top),
            "loss": v < 0,
        }
        for k, v in sorted(values.items())
    ]


@router.get("/console/inventory", response_class=HTMLResponse)
def inventory_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show stock by zone, the findings queue with evidence and clips, and the report charts."""
    site = site_for(hub, principal, Permission.INVENTORY_READ, request.query_params.get("site"))
    now = hub.clock.now()
    with hub.db.sessions() as session:
        stock = views.stock(session, site)
        findings = [views.finding(f) for f in recon.list_findings(session, site.site.id)][:100]
        figures = report.figures(session, site=site, now=now)
    return page(
        request,
        "inventory.html",
        principal,
        {
            "site": site,
            "stock": stock,
            "findings": findings,
            "severity": SEVERITY,
            "by_location": _bars(figures.by_location),
            "by_week": _bars(figures.by_week),
            "reasons": sorted(figures.reasons.items()),
            "csv": f"/api/sites/{site.site.id}/inventory/report.csv",
        },
    )


def _open_count(session: Session, site_id: str, user_id: int) -> InvCount | None:
    rows = session.execute(
        select(InvCount)
        .where(InvCount.site_id == site_id, InvCount.status == "open")
        .order_by(InvCount.started_at.desc())
    ).scalars()
    return next((c for c in rows if user_id in c.counters), None)


def _count_page(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        count = _open_count(session, site.site.id, principal.user_id)
        lines = counts.blind(session, count, principal.user_id) if count else []
    return page(
        request,
        "inventory_count.html",
        principal,
        {
            "site": site,
            "count": count,
            "lines": lines,
            "error": error,
            "typed": typed or {},
            "notice": "Figure recorded." if request.query_params.get("done") else None,
        },
        status_code=status_code,
    )


@router.get("/console/inventory/count", response_class=HTMLResponse)
def count_page(request: Request, hub: HubDep, principal: Handler) -> HTMLResponse:
    """Show today's blind count sheet to one of its counters (tags and places only)."""
    site = site_for(hub, principal, Permission.INVENTORY_HANDLE, request.query_params.get("site"))
    return _count_page(request, hub, principal, site)


@router.post("/console/inventory/count", response_class=HTMLResponse)
async def count_entry(request: Request, hub: HubDep, principal: HandlerForm) -> Response:
    """Record a counter's figure for one tag; a refusal keeps what was typed."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.INVENTORY_HANDLE, form.text("site"))
    tag = form.text("tag", required=False) or ""
    typed = {"tag": tag, "quantity": form.text("quantity", required=False) or ""}
    try:
        try:
            quantity = Decimal(typed["quantity"])
        except InvalidOperation:
            raise InvalidInput(f"tag {tag}: {typed['quantity']!r} is not a number") from None
        now = hub.clock.now()

        def work(session: Session) -> None:
            count = _open_count(session, site.site.id, principal.user_id)
            if count is None:
                raise NotFound("there is no open count for you to enter figures in")
            counts.enter(
                session=session,
                count=count,
                user_id=principal.user_id,
                tag=tag,
                counted=quantity,
                context=principal.context(),
                now=now,
            )

        await act(hub, work)
    except BastionError as exc:
        return _count_page(
            request, hub, principal, site, error=exc.message, typed=typed, status_code=422
        )
    return RedirectResponse(f"/console/inventory/count?site={site.site.id}&done=1", status_code=303)
