"""The console's cluster page: each site's edges (connected, backlog, lag), the central nodes.

An operator sees the edges of their own sites only; times are shown in each edge's
site time zone, and sites by name. The page reloads itself every few seconds.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import AnySite
from bastion.auth.permissions import Permission
from bastion.cluster.status import node_status
from bastion.hub import Hub
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.CLUSTER_READ, site=AnySite()))]


@router.get("/console/cluster", response_class=HTMLResponse)
def cluster_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the nodes the caller may see, with what each holds and how far behind it is."""
    sites = loaded_sites(hub)
    rows: list[dict[str, Any]] = []
    for node in node_status(
        hub.db, sites=principal.sites_with(Permission.CLUSTER_READ), now=hub.clock.now()
    ):
        site = sites.get(node.site_id or "")
        zone = ZoneInfo(site.site.timezone) if site is not None else None
        rows.append(
            {
                "node": node,
                "site_name": site.site.name if site is not None else (node.site_id or ""),
                "zone": zone or UTC,
            }
        )
    edges = [r for r in rows if r["node"].role == "edge"]
    centrals = [r for r in rows if r["node"].role != "edge"]
    return page(request, "cluster.html", principal, {"edges": edges, "centrals": centrals})
