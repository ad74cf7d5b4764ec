"""The dashboard: alarm queue, site map, recent events, device health and threat level at a glance."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bastion.alarms import service as alarms_service
from bastion.api.deps import Authenticated, Principal, Require, get_hub
from bastion.api.resources import alarm_place
from bastion.api.scope import AnySite
from bastion.auth.permissions import Permission
from bastion.core.sitetime import zone_name
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web.charts import Segment, bar_chart, column_chart, stacked_bars
from bastion.web.readmodel import (
    device_health,
    events_per_hour,
    loaded_sites,
    threat_level,
)
from bastion.web.render import map_svg, page
from bastion.web.sitemap import SENSOR_LEGEND, STATE_LABEL
from bastion.web.templating import display_zone

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]


def queue_context(hub: Hub, principal: Principal, limit: int = 50) -> dict[str, Any]:
    """Return the open alarms the principal may see, with who may work each."""
    sites = principal.sites_with(Permission.ALARMS_READ)
    with hub.db.sessions() as session:
        queue = alarms_service.alarm_queue(session=session, site_ids=sites, limit=limit)
    zones = {z.id: z.name for s in loaded_sites(hub).values() for z in s.zones}
    return {
        "queue": queue,
        "zone_names": zones,
        "now": hub.clock.now(),
        "can_work": {
            a.id: principal.may(Permission.ALARMS_WORK, alarm_place(a), reading=False)
            for a in queue
        },
    }


def visible_sites(hub: Hub, principal: Principal, permission: Permission) -> dict[str, Site]:
    """Return the loaded sites where ``permission`` is held, by id."""
    sites = loaded_sites(hub)
    return {sid: sites[sid] for sid in principal.visible(permission, sorted(sites), site=str)}


def status_context(hub: Hub, principal: Principal) -> dict[str, Any]:
    """Return the threat level and the device-health summary of the caller's sites."""
    return {
        "threat": threat_level(hub, principal.sites_with(Permission.EVENTS_READ)),
        "health": device_health(
            hub, visible_sites(hub, principal, Permission.EVENTS_READ).values()
        ),
    }


def events_chart(hub: Hub, request: Request, principal: Principal) -> str:
    """Return the events-per-hour column chart of the caller's sites, last 24 hours."""
    zone = display_zone(request)
    sites = principal.sites_with(Permission.EVENTS_READ)
    points = [
        (start.astimezone(zone).strftime("%H"), float(n))
        for start, n in events_per_hour(hub, hub.clock.now(), sites=sites)
    ]
    return column_chart(
        points,
        label=f"Ledger events per hour, last 24 hours ({zone_name(zone)} time)",
        every=3,
        css_id="chart-events",
    )


def zone_chart(hub: Hub, principal: Principal) -> str:
    """Return the alarms-by-zone bar chart of the last 7 days."""
    since = hub.clock.now() - timedelta(days=7)
    zones = {z.id: z.name for s in loaded_sites(hub).values() for z in s.zones}
    with hub.db.sessions() as session:
        rows = alarms_service.alarms_by_zone(
            session=session, since=since, site_ids=principal.sites_with(Permission.ALARMS_READ)
        )
    points = [(zones.get(z or "", z or "no zone"), float(n)) for z, n in rows[:8]]
    return bar_chart(points, label="Alarms by zone, last 7 days", css_id="chart-zones")


def reaction_chart(hub: Hub, principal: Principal, limit: int = 10) -> str:
    """Return raise→acknowledge and acknowledge→close times of the newest closed alarms."""
    with hub.db.sessions() as session:
        closed = alarms_service.recently_closed(
            session=session, limit=limit, site_ids=principal.sites_with(Permission.ALARMS_READ)
        )
    rows = [
        (
            a.message,
            [
                Segment(a.ack_seconds or 0.0, "seg-ack", "raise → acknowledge"),
                Segment(a.resolve_seconds or 0.0, "seg-resolve", "acknowledge → close"),
            ],
        )
        for a in closed
    ]
    return stacked_bars(
        rows, label="Reaction times of the newest closed alarms", css_id="chart-reactions"
    )


@router.get("/console", response_class=HTMLResponse)
def console(
    request: Request,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Authenticated())],
) -> Response:
    """Show the dashboard: threat, alarm queue, map, device health, recent events, charts.

    A worker whose role has only the personal-security features lands on the Safety page.
    """
    if not principal.allows(Permission.EVENTS_READ):
        if principal.allows(Permission.SAFETY_SELF):
            return RedirectResponse("/console/safety", status_code=303)
        return page(request, "no_sections.html", principal, {})
    mapped = visible_sites(hub, principal, Permission.DOORS_READ)
    site = mapped[min(mapped)] if mapped else None
    can_alarms = principal.allows(Permission.ALARMS_READ)
    context: dict[str, Any] = {
        **status_context(hub, principal),
        "events": hub.ledger.query(limit=40, sites=principal.sites_with(Permission.EVENTS_READ)),
        "events_chart": events_chart(hub, request, principal),
        "can_alarms": can_alarms,
        "site": site,
        "svg": map_svg(hub, principal, site) if site is not None else None,
        "states": STATE_LABEL,
        "sensors": SENSOR_LEGEND,
    }
    if can_alarms:
        context.update(queue_context(hub, principal))
        context["zone_chart"] = zone_chart(hub, principal)
        context["reaction_chart"] = reaction_chart(hub, principal, limit=6)
    return page(request, "console.html", principal, context)


@router.get("/console/fragments/alarm-queue", response_class=HTMLResponse)
def alarm_queue_fragment(
    request: Request,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))],
) -> HTMLResponse:
    """Return the alarm queue alone, for live refreshes."""
    return page(request, "_queue.html", principal, queue_context(hub, principal))


@router.get("/console/fragments/status", response_class=HTMLResponse)
def status_fragment(
    request: Request,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=AnySite()))],
) -> HTMLResponse:
    """Return the threat level and device health alone, for live refreshes."""
    return page(request, "_status.html", principal, status_context(hub, principal))
