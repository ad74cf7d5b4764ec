"""The Events page: search a site's ledger with filters, page through it, export it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import InvalidInput
from bastion.core.ports import clip_source_of
from bastion.hub import Hub
from bastion.search import service
from bastion.search.query import KINDS, EventFilter
from bastion.search.reports import REPORTS, run_report
from bastion.video.feeds import camera_feeds
from bastion.web.charts import bar_chart
from bastion.web.readmodel import loaded_sites, site_for
from bastion.web.render import not_found, page

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.EVENTS_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
FIELDS = ("since", "until", "zone", "door", "person", "outcome", "text")


@router.get("/console/events", response_class=HTMLResponse)
def events_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the filter form and one page of matching events; a bad filter keeps the form."""
    params = request.query_params
    site = site_for(hub, principal, Permission.EVENTS_READ, params.get("site"))
    kinds = [k for k in params.getlist("kind") if k]
    typed = {name: params.get(name, "") for name in FIELDS}
    error = None
    found = None
    try:
        page_no = int(params.get("page") or 1)
        filters = service.filters_from(params, kinds, site)
        found = service.search(hub, site, filters, page_no)
    except ValueError:
        error = "The page number must be a whole number."
    except InvalidInput as exc:
        error = str(exc)
    can_see_video = principal.allows(Permission.VIDEO_READ, site.site.id)
    query = [("site", site.site.id), *((k, v) for k, v in typed.items() if v)]
    query += [("kind", k) for k in kinds]
    sites = [
        s
        for sid, s in sorted(loaded_sites(hub).items())
        if principal.allows(Permission.EVENTS_READ, sid)
    ]
    return page(
        request,
        "events.html",
        principal,
        {
            "site": site,
            "sites": sites,
            "kinds": KINDS,
            "chosen_kinds": set(kinds),
            "typed": typed,
            "found": found,
            "error": error,
            "filters": found.filters if found else EventFilter(),
            "zone_name": service.site_zone(site).key,
            "feeds": camera_feeds(site) if can_see_video else {},
            "clips": bool(can_see_video and clip_source_of(hub.extras, site.site.id)),
            "query": urlencode(query),
            "prev_query": urlencode([*query, ("page", str(found.page - 1))]) if found else "",
            "next_query": urlencode([*query, ("page", str(found.page + 1))]) if found else "",
        },
        status_code=422 if error else 200,
    )


ReportReader = Annotated[
    Principal,
    Depends(Require(Permission.REPORTS_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]


@router.get("/console/reports/{report_id}", response_class=HTMLResponse)
def saved_report_page(
    report_id: str, request: Request, hub: HubDep, principal: ReportReader
) -> HTMLResponse:
    """Show one saved report: its chart, its figures and the newest events behind it."""
    site = site_for(hub, principal, Permission.REPORTS_READ, request.query_params.get("site"))
    if report_id not in REPORTS:
        return not_found(request, principal, "report")
    result = run_report(hub, site, report_id)
    chart = bar_chart(
        [(label, value) for label, value, _ in result.groups[:15]],
        label=f"{result.report.title}, last {result.report.days} days",
        css_id="report-chart",
    )
    return page(
        request,
        "saved_report.html",
        principal,
        {
            "site": site,
            "result": result,
            "chart": chart,
            "reports": REPORTS,
            "zone_name": service.site_zone(site).key,
        },
    )
