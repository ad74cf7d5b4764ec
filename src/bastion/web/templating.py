"""The console's Jinja2 environment: templates, display filters and the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from bastion import __version__
from bastion.auth.permissions import Permission
from bastion.core.sitetime import default_zone, site_time, zone_name

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


@dataclass(frozen=True)
class NavItem:
    """One console section: label, address and the permission that shows it."""

    label: str
    href: str
    permission: Permission
    unless: Permission | None = None
    """Hide the item from those who hold this (they reach the page another way)."""


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/console", Permission.EVENTS_READ),
    NavItem("Alarms", "/console/alarms", Permission.ALARMS_READ),
    NavItem("Map", "/console/map", Permission.DOORS_READ),
    NavItem("Incidents", "/console/incidents", Permission.ALARMS_READ),
    NavItem("Events", "/console/events", Permission.EVENTS_READ),
    NavItem("People", "/console/people", Permission.PEOPLE_READ),
    NavItem("Visitors", "/console/visitors", Permission.PEOPLE_READ),
    NavItem("Emergency", "/console/emergency", Permission.ALARMS_READ),
    NavItem("Safety", "/console/safety", Permission.SAFETY_SELF),
    NavItem("Cash", "/console/cash", Permission.CASH_READ),
    NavItem("My till", "/console/cash/my-till", Permission.CASH_HANDLE, Permission.CASH_READ),
    NavItem("Rules", "/console/rules", Permission.RULES_READ),
    NavItem("Reports", "/console/reports", Permission.REPORTS_READ),
    NavItem("Analysis", "/console/analysis", Permission.ANALYSIS_READ),
    NavItem("Compliance", "/console/compliance", Permission.COMPLIANCE_READ),
    NavItem("Upkeep", "/console/upkeep", Permission.UPKEEP_READ),
    NavItem("Video", "/console/video", Permission.VIDEO_READ),
    NavItem("Transport", "/console/transport", Permission.TRANSPORT_READ),
    NavItem("Cluster", "/console/cluster", Permission.CLUSTER_READ),
    NavItem("Inventory", "/console/inventory", Permission.INVENTORY_READ),
    NavItem(
        "Cycle count",
        "/console/inventory/count",
        Permission.INVENTORY_HANDLE,
        Permission.INVENTORY_READ,
    ),
)


def nav_items(principal: Any, path: str) -> list[dict[str, Any]]:
    """Return the sections ``principal`` may open, marking the one ``path`` is in."""
    items = []
    for item in NAV:
        if not principal.allows(item.permission):
            continue
        if item.unless is not None and principal.allows(item.unless):
            continue
        if item.href == "/console":
            current = path == "/console"
        else:
            current = path == item.href or path.startswith(item.href + "/")
        items.append({"label": item.label, "href": item.href, "current": current})
    return items


def display_zone(request: Request) -> tzinfo:
    """Return the time zone times are shown in: the first loaded site's, else UTC."""
    sites = getattr(request.app.state, "hub", None)
    return default_zone(sites.extras.get("sites", {}) if sites is not None else {})


def console_settings(request: Request) -> dict[str, Any]:
    """Return what every console page hands to its scripts (time zone, idle timeout)."""
    hub = getattr(request.app.state, "hub", None)
    idle = hub.settings.session_idle_minutes if hub is not None else 15
    zone = display_zone(request)
    return {"tz": zone_name(zone), "idle_minutes": idle}


def clock_time(value: datetime | None, zone: tzinfo | None = None, *, seconds: bool = True) -> str:
    """Format ``value`` as a wall-clock time in ``zone`` (UTC by default), zone named."""
    return site_time(value, zone, seconds=seconds, with_date=False)


def date_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """Format ``value`` as date and time in ``zone``, zone named (the shared site-time text)."""
    return site_time(value, zone, seconds=True)


def duration(seconds: float | None) -> str:
    """Format a number of seconds for people: ``45 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {(whole % 3600) // 60:02d} min"


def iso(value: datetime | None) -> str:
    """Return the ISO 8601 text of ``value`` for ``datetime`` attributes."""
    return value.astimezone(UTC).isoformat() if value is not None else ""


templates.env.globals["version"] = __version__
templates.env.globals["nav_items"] = nav_items
templates.env.globals["console_settings"] = console_settings
templates.env.filters["clock"] = clock_time
templates.env.filters["datetime"] = date_time
templates.env.filters["duration"] = duration
templates.env.filters["iso"] = iso
templates.env.filters["site_time"] = site_time
