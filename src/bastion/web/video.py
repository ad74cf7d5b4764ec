"""Console page for video analytics: cameras, zones, detections, biometrics, face doors.

The latest frame comes from the camera's worker (boxes of tracked objects drawn); the
rules are drawn over it as SVG from their relative coordinates. The enrolment form keeps
what was typed when it is refused, and says why in plain words.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, Forbidden, NotFound
from bastion.hub import Hub
from bastion.people.models import Person
from bastion.site.schemas import Site
from bastion.video import service, views
from bastion.video.runtime import runtime_of
from bastion.video.schemas import EnrolmentWrite
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.visitors import act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.VIDEO_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
Enroller = Annotated[
    Principal, Depends(Require(Permission.BIOMETRICS_MANAGE, site=FromBody("site")))
]
DONE = {
    "enrolled": "Enrolled. The reference is stored encrypted.",
    "revoked": "Revoked and erased.",
}


def site_for(hub: Hub, principal: Principal, wanted: str | None) -> Site:
    """Return the chosen (or first) loaded site where the principal may see video."""
    sites = loaded_sites(hub)
    allowed = sorted(s for s in sites if principal.allows(Permission.VIDEO_READ, s))
    if wanted is not None:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the video:read permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may see video")
    return sites[allowed[0]]


def _context(hub: Hub, session: Session, site: Site, principal: Principal) -> dict[str, Any]:
    site_id = site.site.id
    runtime = runtime_of(hub)
    cameras = views.cameras(
        session, site, service.list_cameras(session=session, site_id=site_id), runtime
    )
    rules = views.rules(site, service.list_rules(session=session, site_id=site_id))
    enrol = principal.allows(Permission.BIOMETRICS_MANAGE, site_id)
    people: list[tuple[str, str]] = []
    if enrol:
        rows = session.query(Person).filter(Person.site_id == site_id, Person.status == "active")
        people = sorted(((p.id, p.name) for p in rows), key=lambda item: item[1])
    doors = {d.id: d.name or d.id for d in site.doors}
    return {
        "site": site,
        "cameras": cameras,
        "rules_by_camera": {
            c.camera_id: [r for r in rules if r.camera_id == c.camera_id] for c in cameras
        },
        "detections": views.detections(
            site, service.recent_detections(session=session, site_id=site_id, limit=30)
        ),
        "can_enrol": enrol,
        "people": people,
        "enrolments": views.enrolments(
            session, service.enrolments(session=session, site_id=site_id)
        )
        if enrol
        else [],
        "face_doors": [
            {
                "door": doors.get(d.door_id, d.door_id),
                "camera": service.camera_name(site, d.camera_id),
                "window_s": d.window_s,
            }
            for d in service.face_doors(session=session, site_id=site_id)
        ],
    }


def _render(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        context = _context(hub, session, site, principal)
    done = request.query_params.get("done")
    context |= {
        "notice": DONE.get(done or "") if not error else None,
        "error": error,
        "typed": typed or {},
    }
    return page(request, "video.html", principal, context, status_code=status_code)


@router.get("/console/video", response_class=HTMLResponse)
def video_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the analysed cameras, their zones and latest frame, and recent detections."""
    site = site_for(hub, principal, request.query_params.get("site"))
    return _render(request, hub, principal, site)


@router.post("/console/video/biometrics", response_class=HTMLResponse)
async def enrol(request: Request, hub: HubDep, principal: Enroller) -> Response:
    """Enrol a fingerprint or face with the person's consent; on refusal keep the form."""
    form = await read_form(request)
    site = site_for(hub, principal, form.text("site", required=False))
    typed = {
        k: form.text(k, required=False) or ""
        for k in ("person_id", "kind", "card", "consent_text", "retain_days")
    }
    try:
        data = EnrolmentWrite(
            person_id=form.text("person_id", required=False) or "",
            kind=form.text("kind", required=False) or "",
            reference=form.text("reference", required=False) or "",
            card=form.text("card", required=False) or None,
            consent=form.flag("consent"),
            consent_text=form.text("consent_text", required=False) or "",
            retain_days=int(form.text("retain_days", required=False) or 365),
        )

        def work(session: Session) -> None:
            service.enrol(
                session=session,
                site_id=site.site.id,
                data=data,
                context=principal.context(),
                now=hub.clock.now(),
                engine=engine_of(hub),
            )

        await act(hub, work)
    except (BastionError, ValidationError, ValueError) as exc:
        if isinstance(exc, ValueError) and not isinstance(exc, ValidationError):
            text = "the number of days to keep the data is not a whole number"
        else:
            text = problem_text(exc)
        return _render(request, hub, principal, site, error=text, typed=typed, status_code=422)
    return RedirectResponse(f"/console/video?site={site.site.id}&done=enrolled", status_code=303)
