"""Cluster routes: node status (all visible sites, or one site) and per-edge chain checks.

Reading needs ``cluster:read``; an edge belongs to its site, so a caller sees only the
edges of sites where they hold it. Central nodes serve every site and are listed for
anyone who may read the cluster. Re-checking a site's replicated chains needs
``ledger:verify`` at that site.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import AnySite, FromPath, loaded_sites
from bastion.auth.permissions import Permission
from bastion.cluster.schemas import ChainRead, NodeRead
from bastion.cluster.status import node_status, verify_node
from bastion.core.errors import NotFound
from bastion.hub import Hub

router = APIRouter(tags=["cluster"])
HubDep = Annotated[Hub, Depends(get_hub)]
Lister = Annotated[Principal, Depends(Require(Permission.CLUSTER_READ, site=AnySite()))]
SiteReader = Annotated[
    Principal, Depends(Require(Permission.CLUSTER_READ, site=FromPath("site_id")))
]
SiteVerifier = Annotated[
    Principal, Depends(Require(Permission.LEDGER_VERIFY, site=FromPath("site_id")))
]


def _known(hub: Hub, site_id: str) -> None:
    if site_id not in loaded_sites(hub):
        raise NotFound(f"no site {site_id!r}")


@router.get("/api/cluster/nodes")
def list_nodes(hub: HubDep, principal: Lister) -> list[NodeRead]:
    """List central nodes and the edges of the caller's sites."""
    sites = principal.sites_with(Permission.CLUSTER_READ)
    return [NodeRead.of(n) for n in node_status(hub.db, sites=sites, now=hub.clock.now())]


@router.get("/api/sites/{site_id}/cluster/nodes")
def site_nodes(site_id: str, hub: HubDep, principal: SiteReader) -> list[NodeRead]:
    """List the edges of one site."""
    _known(hub, site_id)
    return [
        NodeRead.of(n)
        for n in node_status(hub.db, sites={site_id}, now=hub.clock.now())
        if n.role == "edge"
    ]


@router.get("/api/sites/{site_id}/cluster/verify")
def verify_site(site_id: str, hub: HubDep, principal: SiteVerifier) -> list[ChainRead]:
    """Re-check the replicated chain of every edge of one site, each on its own."""
    _known(hub, site_id)
    edges = [
        n for n in node_status(hub.db, sites={site_id}, now=hub.clock.now()) if n.role == "edge"
    ]
    return [ChainRead.of(verify_node(hub.db, n.node_id)) for n in edges]
