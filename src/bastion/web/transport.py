"""Console page for transport: trips on the road on a map, with their alarms, refreshed live.

Trips that have not left are listed only for dispatchers (their time and route stay
secret until departure); everyone with ``transport:read`` sees trips on the road and
done. The map panel refreshes every few seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import Forbidden, NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.transport import service, views
from bastion.transport.runtime import runtime_of
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.TRANSPORT_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
ALARM_WORDS = {
    "deviation": "off route",
    "unscheduled_stop": "unscheduled stop",
    "overdue": "overdue",
    "tracker_silent": "tracker silent",
    "compartment_opened": "compartment opened",
    "panic": "panic",
    "manifest_mismatch": "manifest mismatch",
}


def _site(hub: Hub, principal: Principal, wanted: str | None) -> Site:
    sites = loaded_sites(hub)
    allowed = sorted(s for s in sites if principal.allows(Permission.TRANSPORT_READ, s))
    if wanted is not None:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the transport:read permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may see transport")
    return sites[allowed[0]]


def _context(hub: Hub, principal: Principal, site: Site) -> dict[str, Any]:
    site_id = site.site.id
    dispatcher = principal.allows(Permission.TRANSPORT_DISPATCH, site_id)
    with hub.db.sessions() as session:
        trips = service.list_trips(session=session, site_id=site_id)
        shown = [t for t in trips if dispatcher or t.status != "planned"][:30]
        trip_views = views.trip_views(session, site_id, shown)
    runtime = runtime_of(hub)
    return {
        "site": site,
        "trips": trip_views,
        "dispatcher": dispatcher,
        "alarm_words": ALARM_WORDS,
        "view": views.VIEW,
        "refused": dict(runtime.rejects) if runtime else {},
        "accepted": runtime.accepted if runtime else 0,
    }


@router.get("/console/transport", response_class=HTMLResponse)
def transport_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the trips on the road on a map with their alarms; planned ones for dispatchers."""
    site = _site(hub, principal, request.query_params.get("site"))
    return page(request, "transport.html", principal, _context(hub, principal, site))


@router.get("/console/transport/live", response_class=HTMLResponse)
def transport_live(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Return the trips panel alone, for the page's periodic refresh."""
    site = _site(hub, principal, request.query_params.get("site"))
    return page(request, "_transport_trips.html", principal, _context(hub, principal, site))
