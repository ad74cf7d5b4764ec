"""Console pages: sign-in, the console shell with its live feed, and static assets."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from bastion import __version__
from bastion.api.deps import Principal, Public, Require, get_hub
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.doors.api import board_of
from bastion.hub import Hub
from bastion.site.graph import SiteGraph
from bastion.site.schemas import Site
from bastion.web.sitemap import STATE_LABEL, render_site_svg

WEB_DIR = Path(__file__).parent
STATIC_DIR = (WEB_DIR / "static").resolve()
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
templates.env.globals["version"] = __version__

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Depends(Public())])
async def root() -> RedirectResponse:
    """Send visitors to the console (which asks them to sign in)."""
    return RedirectResponse("/console", status_code=303)


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(Public())])
async def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    """Show the sign-in form (password and TOTP code)."""
    safe_next = next if next.startswith("/") and not next.startswith("//") else "/console"
    return templates.TemplateResponse(request, "login.html", {"next": safe_next})


@router.get("/static/{path:path}", dependencies=[Depends(Public())])
async def static(path: str) -> FileResponse:
    """Serve a bundled asset; nothing outside the static folder."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_file() or STATIC_DIR not in target.parents:
        raise NotFound(f"no asset {path!r}")
    media_type, _ = mimetypes.guess_type(target.name)
    return FileResponse(target, media_type=media_type or "application/octet-stream")


def _site_overview(hub: Hub) -> list[dict[str, Any]]:
    overview = []
    for site in hub.extras.get("sites", {}).values():
        graph = SiteGraph(site)
        vaults = [z for z in site.zones if z.layer.name == "VAULT"]
        overview.append(
            {
                "site": site.site,
                "zones": len(site.zones),
                "doors": len(site.doors),
                "devices": len(site.devices),
                "cameras": sum(1 for d in site.devices if d.type.value == "camera"),
                "vault_path": [d.name for d in graph.path_from_outside(vaults[0].id)]
                if vaults
                else [],
            }
        )
    return overview


@router.get("/console", response_class=HTMLResponse)
async def console(
    request: Request,
    hub: Annotated[Hub, Depends(get_hub)],
    principal: Annotated[Principal, Depends(Require(Permission.EVENTS_READ))],
) -> HTMLResponse:
    """Show the console shell: sites, recent events and the live feed."""
    rows = hub.ledger.query(limit=50)
    return templates.TemplateResponse(
        request,
        "console.html",
        {
            "principal": principal,
            "sites": _site_overview(hub),
            "events": rows,
            "csrf_token": principal.csrf_token or "",
        },
    )


def _pick_site(hub: Hub, site_id: str | None) -> Site:
    sites: dict[str, Site] = hub.extras.get("sites", {})
    if site_id is not None:
        if site_id not in sites:
            raise NotFound(f"no site {site_id!r}")
        return sites[site_id]
    if not sites:
        raise NotFound("no site is loaded; import one with 'bastion site import FILE'")
    return sites[sorted(sites)[0]]


def _map_svg(hub: Hub, principal: Principal, site: Site) -> str:
    sid = site.site.id
    return render_site_svg(
        site,
        board_of(hub).states(sid),
        can_control=principal.allows(Permission.DOORS_CONTROL, sid),
        can_lockdown=principal.allows(Permission.DOORS_LOCKDOWN, sid),
    )


@router.get("/console/map", response_class=HTMLResponse)
async def map_page(
    request: Request,
    hub: Annotated[Hub, Depends(get_hub)],
    principal: Annotated[Principal, Depends(Require(Permission.DOORS_READ))],
    site: str | None = None,
) -> HTMLResponse:
    """Show the live site map with door control."""
    chosen = _pick_site(hub, site)
    return templates.TemplateResponse(
        request,
        "map.html",
        {
            "principal": principal,
            "site": chosen,
            "svg": _map_svg(hub, principal, chosen),
            "states": STATE_LABEL,
            "csrf_token": principal.csrf_token or "",
        },
    )


@router.get("/console/map/svg", response_class=HTMLResponse)
async def map_fragment(
    hub: Annotated[Hub, Depends(get_hub)],
    principal: Annotated[Principal, Depends(Require(Permission.DOORS_READ))],
    site: str | None = None,
) -> HTMLResponse:
    """Return the map SVG alone, for live refreshes."""
    return HTMLResponse(_map_svg(hub, principal, _pick_site(hub, site)))
