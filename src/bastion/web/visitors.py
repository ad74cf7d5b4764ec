"""Console page for visitors: who is expected, who is on site, and the reception actions.

Anyone with ``people:read`` sees the page; pre-registering, checking in and out,
printing badges and exporting the log need ``visitors:manage``. Actions are plain
HTML forms (CSRF token in a hidden field); a success redirects back with a fixed
message code, a refusal re-renders the page with the reason and loses nothing typed
into the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, get_hub, run_unit_of_work
from bastion.api.resources import VISIT
from bastion.api.scope import AnySite, FromBody, FromResource
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, Forbidden, InvalidInput
from bastion.hub import Hub
from bastion.people import employees, visitors
from bastion.people.api import render_badge
from bastion.people.models import Visit, VisitStatus
from bastion.site import service as site_service
from bastion.site.schemas import Layer, Site
from bastion.web.render import page
from bastion.web.templating import display_zone

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=AnySite()))]
Registration = Annotated[
    Principal, Depends(Require(Permission.VISITORS_MANAGE, site=FromBody("site_id")))
]
Reception = Annotated[
    Principal, Depends(Require(Permission.VISITORS_MANAGE, site=FromResource("visit_id", VISIT)))
]
LogExport = Annotated[Principal, Depends(Require(Permission.VISITORS_MANAGE, site=AnySite()))]
T = TypeVar("T")

DONE = {
    "registered": "Visitor pre-registered; the host is told.",
    "checked_in": "Visitor checked in; print the badge.",
    "checked_out": "Visitor checked out; the badge no longer opens anything.",
    "cancelled": "Visit cancelled.",
    "refused": "The visitor matches the watchlist: do not admit them. Security was alerted.",
}


# --- shared form helpers (also used by the people and safety pages) ---------------------------


class Form:
    """The fields of a submitted HTML form, with strict getters."""

    def __init__(self, data: Mapping[str, list[str]]) -> None:
        self.data = data

    def text(self, name: str, *, required: bool = True) -> str | None:
        """Return a stripped field; a missing required one is InvalidInput."""
        values = self.data.get(name) or [""]
        value = values[0].strip()
        if not value:
            if required:
                raise InvalidInput(f"fill in {name.replace('_', ' ')}")
            return None
        return value

    def req(self, name: str) -> str:
        """Return a required field."""
        value = self.text(name)
        assert value is not None
        return value

    def many(self, name: str) -> list[str]:
        """Return every value of a multi-valued field."""
        return [v.strip() for v in self.data.get(name, []) if v.strip()]

    def flag(self, name: str) -> bool:
        """Return True when a checkbox was ticked."""
        return bool(self.data.get(name))

    def when(self, name: str, zone: Any, *, required: bool = True) -> datetime | None:
        """Return a ``datetime-local`` field read in ``zone`` as an aware datetime."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name.replace('_', ' ')}: not a date and time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)

    def day(self, name: str) -> date:
        """Return a required ``date`` field."""
        value = self.req(name)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name.replace('_', ' ')}: not a date (YYYY-MM-DD)") from None


async def read_form(request: Request) -> Form:
    """Return the request's form fields."""
    form = await request.form()
    data: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            data.setdefault(key, []).append(value)
    return Form(data)


def problem_text(exc: Exception) -> str:
    """Return a short, safe message for a refused action (never the submitted values)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    if isinstance(exc, BastionError):
        return exc.message
    return "the action failed"


async def act(hub: Hub, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction and deliver its events (the console's write path)."""
    return await run_unit_of_work(hub, work)


# --- the page ---------------------------------------------------------------------------------


def _sites(session: Session, principal: Principal) -> dict[str, Site]:
    allowed = principal.sites_with(Permission.PEOPLE_READ)
    return {
        sid: site
        for sid, site in site_service.load_all(session=session).items()
        if allowed is None or sid in allowed
    }


def _context(hub: Hub, principal: Principal, session: Session) -> dict[str, Any]:
    sites = _sites(session, principal)
    engine = engine_of(hub)
    rows = visitors.list_visits(session=session, site_ids=frozenset(sites), limit=200)
    staff = employees.list_staff(session=session)
    hosts = {p.id: p for p in principal.visible(Permission.PEOPLE_READ, staff)}
    on_site = {sid: visitors.visitors_on_site(session, sid, engine=engine) for sid in sites}
    zones = {
        sid: [
            {"id": z.id, "name": z.name, "restricted": z.layer >= Layer.RESTRICTED}
            for z in site.zones
            if z.layer < Layer.VAULT
        ]
        for sid, site in sites.items()
    }
    return {
        "sites": sites,
        "zones": zones,
        "expected": [v for v in rows if v.status == VisitStatus.EXPECTED],
        "on_site": on_site,
        "recent": [v for v in rows if v.status not in (VisitStatus.EXPECTED, VisitStatus.ON_SITE)][
            :50
        ],
        "hosts": [p for p in hosts.values() if p.status == "active"],
        "host_names": {pid: p.name for pid, p in hosts.items()},
        "can_manage": principal.allows(Permission.VISITORS_MANAGE),
        "can_approve": principal.allows(Permission.ACCESS_MANAGE),
        "id_types": list(visitors.ID_FORMATS),
        "now": hub.clock.now(),
    }


def _render(
    request: Request,
    hub: Hub,
    principal: Principal,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        ctx = _context(hub, principal, session)
    done = request.query_params.get("done")
    ctx["notice"] = DONE.get(done or "")
    ctx["error"] = error
    return page(request, "visitors.html", principal, ctx, status_code=status_code)


@router.get("/console/visitors", response_class=HTMLResponse)
def visitors_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show expected and on-site visitors, recent visits, and the reception forms."""
    return _render(request, hub, principal)


def _back(code: str) -> RedirectResponse:
    return RedirectResponse(f"/console/visitors?done={code}", status_code=303)


def _document(form: Form) -> visitors.IdentityDocument | None:
    kind = form.text("id_type", required=False)
    if kind is None:
        return None
    return visitors.IdentityDocument(
        type=kind, number=form.req("id_number"), expires_on=form.day("id_expires_on")
    )


@router.post("/console/visitors/register", response_class=HTMLResponse)
async def register(request: Request, hub: HubDep, principal: Registration) -> Response:
    """Pre-register a visitor, or register and check in a walk-in (``walk_in`` ticked)."""
    form = await read_form(request)
    now = hub.clock.now()
    zone = display_zone(request)

    def work(session: Session) -> Visit:
        site_id = form.req("site_id")
        site = site_service.get_site(session=session, site_id=site_id)
        approved = None
        if form.flag("approve_restricted"):
            if not principal.allows(Permission.ACCESS_MANAGE, site_id):
                raise Forbidden("approving restricted areas needs access:manage at this site")
            approved = principal.actor
        walk_in = form.flag("walk_in")
        document = _document(form)
        if walk_in and document is None:
            raise InvalidInput("a walk-in needs the identity document")
        visit = visitors.register(
            session=session,
            site=site,
            name=form.req("name"),
            company=form.text("company", required=False),
            purpose=form.req("purpose"),
            host_id=form.req("host_id"),
            areas=form.many("areas"),
            expected_at=form.when("expected_at", zone, required=False) or now,
            until=form.when("until", zone) or now,
            document=document,
            approved_by=approved,
            walk_in=walk_in,
            context=principal.context(),
            now=now,
        )
        if walk_in and visit.status == VisitStatus.EXPECTED:
            visit = visitors.check_in(
                session=session,
                visit_id=visit.id,
                document=None,
                card=form.text("card", required=False),
                hasher=hub.hash_credential,
                context=principal.context(),
                now=now,
                engine=engine_of(hub),
            )
        return visit

    try:
        visit = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return _render(request, hub, principal, error=problem_text(exc), status_code=status)
    if visit.status == VisitStatus.REFUSED:
        return _back("refused")
    return _back("checked_in" if visit.status == VisitStatus.ON_SITE else "registered")


async def _visit_action(
    request: Request,
    hub: Hub,
    principal: Principal,
    visit_id: str,
    action: Callable[[Session, Form, Visit], Visit],
    done: str,
) -> Response:
    form = await read_form(request)

    def work(session: Session) -> Visit:
        return action(session, form, visitors.get_visit(session=session, visit_id=visit_id))

    try:
        visit = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return _render(request, hub, principal, error=problem_text(exc), status_code=status)
    if visit.status == VisitStatus.REFUSED:
        return _back("refused")
    return _back(done)


@router.post("/console/visitors/{visit_id}/check-in", response_class=HTMLResponse)
async def check_in(visit_id: str, request: Request, hub: HubDep, principal: Reception) -> Response:
    """Check in an expected visitor with their identity document."""

    def action(session: Session, form: Form, visit: Visit) -> Visit:
        return visitors.check_in(
            session=session,
            visit_id=visit.id,
            document=_document(form),
            card=form.text("card", required=False),
            hasher=hub.hash_credential,
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _visit_action(request, hub, principal, visit_id, action, "checked_in")


@router.post("/console/visitors/{visit_id}/check-out", response_class=HTMLResponse)
async def check_out(visit_id: str, request: Request, hub: HubDep, principal: Reception) -> Response:
    """Check a visitor out; the badge stops working at once."""

    def action(session: Session, form: Form, visit: Visit) -> Visit:
        return visitors.check_out(
            session=session,
            visit_id=visit.id,
            badge_returned=not form.flag("badge_missing"),
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _visit_action(request, hub, principal, visit_id, action, "checked_out")


@router.post("/console/visitors/{visit_id}/cancel", response_class=HTMLResponse)
async def cancel(visit_id: str, request: Request, hub: HubDep, principal: Reception) -> Response:
    """Cancel an expected visit."""

    def action(session: Session, form: Form, visit: Visit) -> Visit:
        return visitors.cancel(
            session=session, visit_id=visit.id, context=principal.context(), now=hub.clock.now()
        )

    return await _visit_action(request, hub, principal, visit_id, action, "cancelled")


@router.get("/console/visitors/{visit_id}/badge.pdf")
def badge(visit_id: str, hub: HubDep, principal: Reception) -> Response:
    """Return the printable badge of a visit."""
    with hub.db.sessions() as session:
        visit = visitors.get_visit(session=session, visit_id=visit_id)
        pdf = render_badge(session, hub, visit)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="badge-{visit_id}.pdf"'},
    )


@router.get("/console/visitors/log.csv")
async def export_log(request: Request, hub: HubDep, principal: LogExport) -> Response:
    """Download the visitor log (the last ``days`` days, default 90) as CSV."""
    try:
        days = int(request.query_params.get("days", "90"))
    except ValueError:
        days = 90
    days = max(1, min(days, visitors.RETENTION_DAYS))
    now = hub.clock.now()
    sites = principal.sites_with(Permission.VISITORS_MANAGE)
    text = await act(
        hub,
        lambda s: visitors.export_log(
            session=s,
            site_ids=sites,
            since=now - timedelta(days=days),
            until=None,
            context=principal.context(),
            now=now,
        ),
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="visitor-log.csv"'},
    )
