"""Console pages for inventory: stock, findings, the report and today's blind count sheet.

Stock is grouped by zone; each finding shows its evidence in words (no ids, money in
dollars, times local), and each flagged movement the person, the places and the camera
clip. The count sheet shows tags, items and places only (never the book quantity) and
only to the counters named when the count started; an entry form keeps what was typed
when a figure is refused. Times are in the site's own time zone, which is named.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.inventory import counts, recon, report, views
from bastion.inventory.models import InvCount, InvItem, InvLocation, InvMovement, InvPackage
from bastion.people.models import Person
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
    """Return table rows for a report section: label, dollars, whether it is a loss."""
    return [
        {"label": k, "dollars": f"{'-' if v < 0 else ''}${abs(v) / 100:,.2f}", "loss": v < 0}
        for k, v in sorted(values.items())
    ]


EVIDENCE_LABEL = {
    "tag": "Tag",
    "book": "Books",
    "counted": "Counted",
    "value_cents": "Value",
    "loss_cents": "Count losses",
    "monthly_sales_cents": "Sales, last 30 days",
    "day": "Day",
    "pos": "POS sold",
    "state": "State system has",
    "receipt": "Receipt",
    "local_time": "Time",
    "harvest": "Harvest",
    "wet": "Wet",
    "waste": "Waste",
    "packaged": "Packaged",
    "current": "Left",
    "quantity": "Package shows",
    "log": "Movements add up to",
    "made_g": "Made (g)",
    "consumed_g": "Consumed (g)",
    "batch": "Batch",
    "accounted": "Accounted for",
    "manifest": "Manifest",
    "shipped": "Shipped",
    "received": "Received",
    "departed": "Departed",
    "actor": "Who",
    "week": "Week",
    "reason": "Reason",
    "user": "User",
    "license": "Licence",
    "last": "Last exchange",
}
HIDDEN = {"count"}  # internal ids: the finding's text already names what was counted


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """Return a moment as the site's date and time with its zone abbreviation."""
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _evidence_value(key: str, value: Any, tz: ZoneInfo) -> str:
    if key.endswith("_cents") and isinstance(value, int):
        return f"{'-' if value < 0 else ''}${abs(value) / 100:,.2f}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            return local_time(datetime.fromisoformat(value), tz)
        except ValueError:
            return value
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return f"{number.normalize():f}" if number.is_finite() else value
    return "—" if value is None else str(value)


def evidence_rows(evidence: list[dict[str, Any]], tz: ZoneInfo) -> list[list[tuple[str, str]]]:
    """Return each evidence row as (label, text) pairs for people: no ids, dollars, local time."""
    return [
        [
            (EVIDENCE_LABEL.get(k, k.replace("_", " ").capitalize()), _evidence_value(k, v, tz))
            for k, v in row.items()
            if k not in HIDDEN and k != "clip_url"
        ]
        for row in evidence
    ]


def _flag_text(site: Site, flag: str) -> str:
    kind, _, zone = flag.partition(":")
    place = views.zone_name(site, zone) or zone
    if kind == "no_badge":
        return f"nobody badged in at the {place} door beforehand"
    if kind == "zone_armed":
        return f"{place} was armed"
    if kind == "unconfirmed":
        return "no second person has confirmed it"
    return flag.replace("_", " ")


def flagged_movements(
    session: Session, site: Site, now: datetime, tz: ZoneInfo, *, days: int = 30
) -> list[dict[str, Any]]:
    """Return the last ``days`` days' flagged or unconfirmed movements, newest first, for people."""
    rows = list(
        session.execute(
            select(InvMovement)
            .where(
                InvMovement.site_id == site.site.id,
                InvMovement.at >= now - timedelta(days=days),
                (cast(InvMovement.flags, String) != "[]") | (InvMovement.status == "pending"),
            )
            .order_by(InvMovement.at.desc())
            .limit(50)
        ).scalars()
    )
    places = dict(
        session.execute(
            select(InvLocation.id, InvLocation.name).where(InvLocation.site_id == site.site.id)
        ).all()
    )
    people = {
        p.id: p.name
        for p in session.execute(
            select(Person).where(Person.id.in_({r.person_id for r in rows if r.person_id}))
        ).scalars()
    }
    items = dict(
        session.execute(
            select(InvPackage.id, InvItem.name)
            .join(InvItem, InvItem.id == InvPackage.item_id)
            .where(InvPackage.id.in_({r.package_id for r in rows}))
        ).all()
    )
    actors = report.actor_names(session, {r.actor for r in rows})
    cameras = {d.id: d.name or d.id for d in site.devices}
    out = []
    for r in rows:
        clip = r.clip or {}
        flags = list(r.flags) + (["unconfirmed"] if r.status == "pending" else [])
        out.append(
            {
                "id": r.id,
                "when": local_time(r.at, tz),
                "kind": r.kind,
                "tag": r.tag,
                "item": items.get(r.package_id, ""),
                "from": places.get(r.from_location or ""),
                "to": places.get(r.to_location or ""),
                "who": people.get(r.person_id or "") or actors.get(r.actor, r.actor),
                "flags": _sentence([_flag_text(site, f) for f in dict.fromkeys(flags)]),
                "camera": cameras.get(str(clip.get("camera_id", "")), clip.get("camera_id")),
                "clip_url": clip.get("url") or None,
                "clip_from": _clip_time(clip.get("from"), tz),
                "clip_to": _clip_time(clip.get("to"), tz),
            }
        )
    return out


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _clip_time(value: Any, tz: ZoneInfo) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(tz).strftime("%H:%M:%S")
    except ValueError:
        return ""


@router.get("/console/inventory", response_class=HTMLResponse)
def inventory_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show stock by zone and the findings queue with evidence, flagged movements and clips."""
    site = site_for(hub, principal, Permission.INVENTORY_READ, request.query_params.get("site"))
    now = hub.clock.now()
    tz = ZoneInfo(site.site.timezone)
    with hub.db.sessions() as session:
        stock = views.stock(session, site)
        findings = [views.finding(f) for f in recon.list_findings(session, site.site.id)][:100]
        flagged = flagged_movements(session, site, now, tz)
    return page(
        request,
        "inventory.html",
        principal,
        {
            "site": site,
            "tz": tz,
            "zone_name": site.site.timezone,
            "stock": stock,
            "findings": [
                {
                    "f": f,
                    "when": local_time(f.created_at, tz),
                    "due": local_time(f.notice_due_at, tz) if f.notice_due_at else None,
                    "evidence": evidence_rows(f.evidence, tz),
                }
                for f in findings
            ],
            "flagged": flagged,
            "severity": SEVERITY,
        },
    )


@router.get("/console/inventory/report", response_class=HTMLResponse)
def report_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the reconciliation report: the charts, their figures and the PDF and CSV files."""
    site = site_for(hub, principal, Permission.INVENTORY_READ, request.query_params.get("site"))
    now = hub.clock.now()
    with hub.db.sessions() as session:
        figures = report.figures(session, site=site, now=now)
    chart = base64.b64encode(report.chart_png(figures, dpi=100)).decode()
    return page(
        request,
        "inventory_report.html",
        principal,
        {
            "site": site,
            "tz": ZoneInfo(site.site.timezone),
            "produced": report.stamp(now, site.site.timezone),
            "days": 90,
            "chart": f"data:image/png;base64,{chart}",
            "by_location": _bars(figures.by_location),
            "by_week": _bars(figures.by_week),
            "reasons": sorted(figures.reasons.items()),
            "findings": sorted(
                (recon.CHECK_LABEL.get(k, k), n) for k, n in figures.findings.items()
            ),
            "csv": f"/api/sites/{site.site.id}/inventory/report.csv",
            "pdf": f"/api/sites/{site.site.id}/inventory/report.pdf",
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
            "tz": ZoneInfo(site.site.timezone),
            "zone_name": site.site.timezone,
            "can_read": principal.allows(Permission.INVENTORY_READ, site.site.id),
            "started": local_time(count.started_at, ZoneInfo(site.site.timezone))
            if count
            else None,
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
