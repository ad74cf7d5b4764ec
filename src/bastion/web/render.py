"""Render helpers shared by the console routers: the page frame and the live map."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from bastion.api.deps import Principal, cached_principal
from bastion.auth.permissions import Permission
from bastion.doors.api import board_of
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.video.feeds import camera_feeds
from bastion.web import banner as _banner  # noqa: F401  (registers the standing-state banner)
from bastion.web.sitemap import render_site_svg
from bastion.web.templating import display_zone, templates


def page(
    request: Request,
    name: str,
    principal: Principal,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a console template with the principal, its CSRF token and the display time zone."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "principal": principal,
            "csrf_token": principal.csrf_token or "",
            "tz": display_zone(request),
            **(context or {}),
        },
        status_code=status_code,
    )


def not_found(request: Request, principal: Principal, what: str) -> HTMLResponse:
    """Render the console's 404 page for an unknown ``what``."""
    return page(request, "not_found.html", principal, {"what": what}, status_code=404)


def not_found_page(request: Request, message: str) -> HTMLResponse | None:
    """Render the console's 404 page for a NotFound raised anywhere (None: not signed in)."""
    principal = cached_principal(request)
    if principal is None:
        return None
    return page(request, "not_found.html", principal, {"detail": message}, status_code=404)


def map_svg(hub: Hub, principal: Principal, site: Site) -> str:
    """Return the site's SVG with the door states now and the principal's door rights."""
    sid = site.site.id
    board = board_of(hub)
    notes: dict[str, str] = {}
    for item in board.lockdowns.active(sid):
        for door in item.doors:
            notes[door] = " and ".join(
                filter(None, [notes.get(door), f"held by the {item.describe()}"])
            )
    for door in board.lockdowns.doors(sid):
        if board.lockdowns.mode_locked(sid, door):
            notes[door] = "in lockdown mode by its access policy"
    for door, override in board.overrides(sid).items():
        notes[door] = f"unlocked by override: {override.reason}"
    return render_site_svg(
        site,
        board.states(sid),
        can_control=principal.allows(Permission.DOORS_CONTROL, sid),
        can_lockdown=principal.allows(Permission.DOORS_LOCKDOWN, sid),
        notes=notes,
        feeds=camera_feeds(site) if principal.allows(Permission.VIDEO_READ, sid) else None,
    )
