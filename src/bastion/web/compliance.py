"""Console page for compliance: score per area, failing rules, deadlines, attestations, audit.

The page shows the last stored check (or checks afresh when none was kept), the open
regulator-notice tasks and corrective actions with their due times in the site's time
zone, and plain forms to run a check, attest a manual rule and open a corrective action.
A refused form re-renders with the reason and keeps what was typed.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.cash import tasks as cash_tasks
from bastion.compliance import service
from bastion.compliance.audit import AREA_TITLE, LABEL
from bastion.compliance.packs import load_pack
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.core.sitetime import site_time
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.visitors import Form, act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.COMPLIANCE_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
ManagerForm = Annotated[
    Principal, Depends(Require(Permission.COMPLIANCE_MANAGE, site=FromBody("site")))
]
PATH = "/console/compliance"
DONE = {
    "checked": "Check done; the results below are current.",
    "attested": "Attestation kept with its document.",
    "action": "Corrective action opened.",
}


def _site_for(hub: Hub, principal: Principal, permission: Permission, wanted: str | None) -> Site:
    sites = loaded_sites(hub)
    allowed = sorted(sid for sid in sites if principal.allows(permission, sid))
    if wanted is not None:
        if wanted not in sites:
            raise NotFound(f"no site {wanted!r}")
        if wanted not in allowed:
            raise Forbidden(f"this needs the {permission.value} permission at {wanted}")
        return sites[wanted]
    if not allowed:
        raise NotFound("no site is loaded where you may read compliance")
    return sites[allowed[0]]


def _context(hub: Hub, session: Session, principal: Principal, site: Site) -> dict[str, Any]:
    site_id = site.site.id
    zone = ZoneInfo(site.site.timezone)
    run = service.last_run(session, site_id)
    state = service.state_of(session, site)
    findings: list[dict[str, Any]] = []
    at: datetime | None = None
    if run is not None:
        findings, at, state = run.findings, run.at, run.state
    elif state is not None:
        report = service.check_site(
            session=session,
            site=site,
            data_dir=hub.settings.data_dir,
            context=service.SYSTEM,
            now=hub.clock.now(),
            keep=False,
        )
        findings, at = [f.as_json() for f in report.findings], report.at
    areas = []
    for area, title in AREA_TITLE.items():
        rows = [f for f in findings if f["area"] == area]
        if rows:
            count = {s: sum(1 for f in rows if f["status"] == s) for s in LABEL}
            decided = count["pass"] + count["fail"]
            score = round(100 * count["pass"] / decided) if decided else None
            areas.append({"title": title, "count": count, "score": score})
    passed = sum(1 for f in findings if f["status"] == "pass")
    failed = sum(1 for f in findings if f["status"] == "fail")
    notices = [
        t
        for t in cash_tasks.list_tasks(session=session, site_id=site_id, open_only=True)
        if t.kind == "regulator_notice"
    ]
    manual = [f for f in findings if f["status"] == "manual"]
    return {
        "state": state,
        "at": site_time(at, zone) if at else None,
        "score": round(100 * passed / (passed + failed)) if passed + failed else None,
        "areas": areas,
        "failing": [f for f in findings if f["status"] == "fail"],
        "manual": manual,
        "notices": [
            {
                "title": t.title,
                "due": site_time(t.due_at, zone),
                "overdue": t.due_at is not None and t.due_at < hub.clock.now(),
            }
            for t in notices
        ],
        "actions": [a for a in service.list_actions(session, site_id) if a.status == "open"],
        "label": LABEL,
        "can_manage": principal.allows(Permission.COMPLIANCE_MANAGE, site_id),
        "pdf": f"/api/sites/{site_id}/compliance/audit.pdf",
        "html": f"/api/sites/{site_id}/compliance/audit.html",
        "zone": site.site.timezone,
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
        context = _context(hub, session, principal, site)
    done = request.query_params.get("done")
    return page(
        request,
        "compliance.html",
        principal,
        {
            "site": site,
            "notice": DONE.get(done or "") if not error else None,
            "error": error,
            "typed": typed or {},
            **context,
        },
        status_code=status_code,
    )


@router.get(PATH, response_class=HTMLResponse)
def compliance_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the score per area, failing rules, deadlines and the forms of the officer."""
    site = _site_for(hub, principal, Permission.COMPLIANCE_READ, request.query_params.get("site"))
    return _render(request, hub, principal, site)


def _local_time(form: Form, site: Site) -> datetime:
    text = form.req("date")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"the date {text!r} is not a date like 2026-12-01") from None
    return datetime.combine(day, time(12), ZoneInfo(site.site.timezone))


async def _do(
    request: Request, hub: Hub, principal: Principal, site: Site, form: Form, work: Any, code: str
) -> Response:
    try:
        await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        typed = {k: v[0] for k, v in form.data.items() if k != "csrf_token" and v}
        return _render(
            request, hub, principal, site, error=problem_text(exc), typed=typed, status_code=status
        )
    return RedirectResponse(f"{PATH}?site={site.site.id}&done={code}", status_code=303)


@router.post(f"{PATH}/check", response_class=HTMLResponse)
async def check_now(request: Request, hub: HubDep, principal: ManagerForm) -> Response:
    """Check the site now and keep the run."""
    form = await read_form(request)
    site = _site_for(
        hub, principal, Permission.COMPLIANCE_MANAGE, form.text("site", required=False)
    )

    def work(session: Session) -> None:
        service.check_site(
            session=session,
            site=site,
            data_dir=hub.settings.data_dir,
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, site, form, work, "checked")


@router.post(f"{PATH}/attest", response_class=HTMLResponse)
async def attest(request: Request, hub: HubDep, principal: ManagerForm) -> Response:
    """Attest a manual rule: who, when and the document that shows it."""
    form = await read_form(request)
    site = _site_for(
        hub, principal, Permission.COMPLIANCE_MANAGE, form.text("site", required=False)
    )

    def work(session: Session) -> None:
        rule = form.req("rule")
        state = service.state_of(session, site)
        if state is None or rule not in {r.id for r in load_pack(state).rules}:
            raise InvalidInput(f"no rule {rule!r} for this site's state")
        service.add_record(
            session=session,
            site_id=site.site.id,
            kind="attestation",
            rule=rule,
            at=_local_time(form, site),
            by=form.req("by"),
            document=form.req("document"),
            note=form.text("note", required=False),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, site, form, work, "attested")


@router.post(f"{PATH}/actions", response_class=HTMLResponse)
async def open_action(request: Request, hub: HubDep, principal: ManagerForm) -> Response:
    """Open a corrective action for a failing rule."""
    form = await read_form(request)
    site = _site_for(
        hub, principal, Permission.COMPLIANCE_MANAGE, form.text("site", required=False)
    )

    def work(session: Session) -> None:
        due = _local_time(form, site).date()
        service.open_action(
            session=session,
            site_id=site.site.id,
            rule=form.req("rule"),
            title=form.req("title"),
            owner=form.req("owner"),
            due_on=due,
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, site, form, work, "action")
