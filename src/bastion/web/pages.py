"""Console pages: sign-in, static assets and the site map; includes every other console router."""

from __future__ import annotations

import mimetypes
from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from bastion.api.deps import Principal, Public, Require, get_hub
from bastion.api.scope import FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web import alarms, dashboard, sections
from bastion.web.dashboard import visible_sites
from bastion.web.readmodel import pick_site
from bastion.web.render import map_svg, not_found_page, page
from bastion.web.sitemap import SENSOR_LEGEND, STATE_LABEL
from bastion.web.templating import WEB_DIR, templates

__all__ = ["install", "router", "templates"]

STATIC_DIR = (WEB_DIR / "static").resolve()

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Depends(Public())])
async def root() -> RedirectResponse:
    """Send visitors to the console (which asks them to sign in)."""
    return RedirectResponse("/console", status_code=303)


def same_origin_path(target: str, default: str = "/console") -> str:
    """Return ``target`` if it is a path on this server, else ``default``.

    Browsers treat a backslash as a slash and drop tabs and newlines, so
    ``/%5Cevil.example`` or ``/%09/evil.example`` would leave the site; the target is
    checked raw and percent-decoded, and must parse to a bare absolute path.
    """
    if len(target) > 2000:
        return default
    for form in (target, unquote(target)):
        if not form.startswith("/") or form.startswith("//") or "\\" in form:
            return default
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in form):
            return default
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return default
    return target


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(Public())])
async def login_page(
    request: Request, next: str = "/console", expired: bool = False
) -> HTMLResponse:
    """Show the sign-in form (password and TOTP code)."""
    safe_next = same_origin_path(next)
    return templates.TemplateResponse(
        request, "login.html", {"next": safe_next, "expired": expired}
    )


@router.get("/static/{path:path}", dependencies=[Depends(Public())])
async def static(path: str) -> FileResponse:
    """Serve a bundled asset; nothing outside the static folder."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_file() or STATIC_DIR not in target.parents:
        raise NotFound(f"no asset {path!r}")
    media_type, _ = mimetypes.guess_type(target.name)
    return FileResponse(target, media_type=media_type or "application/octet-stream")


MapReader = Annotated[
    Principal,
    Depends(Require(Permission.DOORS_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]


def _map_site(hub: Hub, principal: Principal, site: str | None) -> Site:
    """Return the site asked for, or the first one the caller may see."""
    if site is not None:
        return pick_site(hub, site)
    mine = visible_sites(hub, principal, Permission.DOORS_READ)
    return mine[min(mine)] if mine else pick_site(hub, None)


@router.get("/console/map", response_class=HTMLResponse)
async def map_page(
    request: Request,
    hub: Annotated[Hub, Depends(get_hub)],
    principal: MapReader,
    site: str | None = None,
) -> HTMLResponse:
    """Show the live site map with door control."""
    chosen = _map_site(hub, principal, site)
    return page(
        request,
        "map.html",
        principal,
        {
            "site": chosen,
            "svg": map_svg(hub, principal, chosen),
            "states": STATE_LABEL,
            "sensors": SENSOR_LEGEND,
        },
    )


@router.get("/console/map/svg", response_class=HTMLResponse)
async def map_fragment(
    hub: Annotated[Hub, Depends(get_hub)],
    principal: MapReader,
    site: str | None = None,
) -> HTMLResponse:
    """Return the map SVG alone, for live refreshes."""
    return HTMLResponse(map_svg(hub, principal, _map_site(hub, principal, site)))


router.include_router(dashboard.router)
router.include_router(alarms.router)
router.include_router(sections.router)


def install(app: FastAPI) -> None:
    """Show the console's 404 page (not a problem document) for pages that find nothing."""
    app.state.not_found_page = not_found_page
