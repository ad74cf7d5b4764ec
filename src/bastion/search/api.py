"""Search a site's events over the API, and export them as CSV or PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.hub import Hub
from bastion.search import export, service
from bastion.search.query import KINDS, EventLine
from bastion.site.schemas import Site

router = APIRouter(tags=["events"])
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=FromPath("site_id")))]
Kinds = Annotated[
    list[str], Query(description=f"Kinds of event: {', '.join(KINDS)}; several allowed.")
]
Page = Annotated[int, Query(ge=1, le=100_000, strict=True, description="Page, from 1.")]


class EventLineRead(BaseModel):
    """One event with names and the site's local time."""

    seq: int = Field(description="Position in the ledger.")
    time: datetime = Field(description="When it happened (UTC).")
    local_time: str = Field(description="When it happened, in the site's time zone.")
    type: str = Field(description="Event type.")
    what: str = Field(description="What happened, in words.")
    where: str = Field(description="Door or device, and zone, by name.")
    who: str = Field(description="Person, account or device, by name.")
    outcome: str = Field(description="granted or denied for access decisions; else empty.")

    @classmethod
    def of(cls, line: EventLine) -> EventLineRead:
        """Convert a search line."""
        return cls(**line.__dict__)


class EventSearchRead(BaseModel):
    """One page of matching events, newest first."""

    lines: list[EventLineRead]
    page: int
    has_more: bool = Field(description="True when another page follows.")


def _site(hub: Hub, site_id: str) -> Site:
    sites: dict[str, Site] = hub.extras.get("sites", {})
    if site_id not in sites:
        raise NotFound(f"no site {site_id!r} is loaded")
    return sites[site_id]


@router.get("/api/sites/{site_id}/events/search", response_model=EventSearchRead)
def search_events(
    site_id: str,
    request: Request,
    hub: HubDep,
    principal: Reader,
    kind: Kinds = [],  # noqa: B006 - FastAPI copies query defaults
    page: Page = 1,
) -> EventSearchRead:
    """Filter the site's events by time (site-local), kind, zone, door, person, outcome, text.

    Other query parameters: ``since`` and ``until`` (``2026-12-01T08:00``, the site's
    time), ``zone``, ``door`` (ids), ``person`` (part of a name), ``outcome``
    (``granted``/``denied``), ``text``.
    """
    site = _site(hub, site_id)
    filters = service.filters_from(request.query_params, kind, site)
    found = service.search(hub, site, filters, page)
    return EventSearchRead(
        lines=[EventLineRead.of(line) for line in found.lines],
        page=found.page,
        has_more=found.has_more,
    )


@router.get("/api/sites/{site_id}/events/export.{fmt}")
def export_events(
    site_id: str,
    fmt: str,
    request: Request,
    hub: HubDep,
    principal: Reader,
    kind: Kinds = [],  # noqa: B006
) -> Response:
    """Every matching event (up to 10,000) as ``csv`` or ``pdf``; same filters as search."""
    site = _site(hub, site_id)
    if fmt not in ("csv", "pdf"):
        raise NotFound(f"no export format {fmt!r}; use csv or pdf")
    filters = service.filters_from(request.query_params, kind, site)
    lines = service.export_lines(hub, site, filters)
    stamp = hub.clock.now().astimezone(service.site_zone(site))
    name = f"events-{site_id}-{stamp:%Y%m%d-%H%M}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(export.to_csv(lines), media_type="text/csv", headers=headers)
    zone_name = service.site_zone(site).key
    pdf = export.to_pdf(
        lines,
        title=f"Events at {site.site.name}",
        subtitle=export.describe_filters(filters, zone_name),
        made=stamp,
    )
    return Response(pdf, media_type="application/pdf", headers=headers)
