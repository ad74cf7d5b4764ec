"""Console pages for cash review: the exceptions queue with clips, pickups, the daily report.

The exceptions queue shows each item's clip (a link to the recorder's clip, else the
camera bookmark) and the per-cashier rates; closing an item or a variance needs
``cash:manage``. The pickups page is only for ``cash:pickups`` holders. The report page
shows the day's reconciliation with its variance chart and the CSV and PDF downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.cash import counts, exceptions, movements, pickups, report, views
from bastion.cash import settings as cash_settings
from bastion.cash.rules import RULES
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web.cash import back, cents_of, render
from bastion.web.readmodel import site_for
from bastion.web.visitors import act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.CASH_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
Planner = Annotated[
    Principal,
    Depends(Require(Permission.CASH_PICKUPS, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
ManagerForm = Annotated[Principal, Depends(Require(Permission.CASH_MANAGE, site=FromBody("site")))]
PlannerForm = Annotated[Principal, Depends(Require(Permission.CASH_PICKUPS, site=FromBody("site")))]
T = TypeVar("T")


# --- exceptions ------------------------------------------------------------------------------


def _exceptions_context(
    hub: Hub, session: Session, principal: Principal, site: Site, status: str
) -> dict[str, Any]:
    site_id = site.site.id
    rows = exceptions.list_items(
        session=session, site_id=site_id, status=None if status == "all" else status, limit=200
    )
    now = hub.clock.now()
    rates = exceptions.rates(
        session=session, site_id=site_id, since=now - timedelta(days=30), until=now
    )
    names = views.person_names(session, (r.person_id for r in rates))
    return {
        "items": views.exception_list(session, site, rows),
        "status": status,
        "rates": [
            {"name": names.get(r.person_id or "") or f"cashier {r.cashier}", "rate": r}
            for r in rates
        ],
        "reviews": views.review_list(
            session, counts.list_reviews(session=session, site_id=site_id), site
        ),
        "can_manage": principal.allows(Permission.CASH_MANAGE, site_id),
        "rules": RULES,
    }


@router.get("/console/cash/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the POS exceptions queue with clips, count variances and per-cashier rates."""
    site = site_for(hub, principal, Permission.CASH_READ, request.query_params.get("site"))
    status = request.query_params.get("status", "open")
    if status not in ("open", "explained", "theft", "training", "all"):
        status = "open"
    with hub.db.sessions() as session:
        context = _exceptions_context(hub, session, principal, site, status)
    return render(request, "cash_exceptions.html", principal, site, context)


async def _run(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    work: Callable[[Session], T],
    path: str,
    code: str,
    rerender: Callable[[Session], tuple[str, dict[str, Any]]],
) -> Response:
    try:
        await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        with hub.db.sessions() as session:
            name, context = rerender(session)
        return render(
            request, name, principal, site, context, error=problem_text(exc), status_code=status
        )
    return back(path, site, code)


@router.post("/console/cash/exceptions/{item_id}/review", response_class=HTMLResponse)
async def review_item(
    item_id: str, request: Request, hub: HubDep, principal: ManagerForm
) -> Response:
    """Close an exception as explained, theft (opens the regulator notice) or training."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_MANAGE, form.text("site", required=False))

    def work(session: Session) -> None:
        item = exceptions.get_item(session=session, item_id=item_id)
        if item.site_id != site.site.id:
            raise NotFound("no such exception here")
        exceptions.review(
            session=session,
            site=site,
            item=item,
            outcome=form.req("outcome"),
            note=form.text("note", required=False) or "",
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _run(
        request,
        hub,
        principal,
        site,
        work,
        "/console/cash/exceptions",
        "reviewed",
        lambda s: ("cash_exceptions.html", _exceptions_context(hub, s, principal, site, "open")),
    )


@router.post("/console/cash/reviews/{review_id}", response_class=HTMLResponse)
async def act_on_review(
    review_id: str, request: Request, hub: HubDep, principal: ManagerForm
) -> Response:
    """Escalate a count variance now, or close it with an outcome and a note."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_MANAGE, form.text("site", required=False))
    action = form.text("action", required=False) or "close"

    def work(session: Session) -> None:
        review = counts.get_review(session=session, review_id=review_id)
        if review.site_id != site.site.id:
            raise NotFound("no such variance review here")
        settings = cash_settings.load(session=session, site_id=site.site.id)
        if action == "escalate":
            counts.escalate(
                session=session,
                site=site,
                review=review,
                settings=settings,
                context=principal.context(),
                now=hub.clock.now(),
            )
            return
        counts.close_review(
            session=session,
            site=site,
            review=review,
            outcome=form.req("outcome"),
            note=form.text("note", required=False) or "",
            settings=settings,
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _run(
        request,
        hub,
        principal,
        site,
        work,
        "/console/cash/exceptions",
        "escalated" if action == "escalate" else "reviewed",
        lambda s: ("cash_exceptions.html", _exceptions_context(hub, s, principal, site, "open")),
    )


# --- pickups ---------------------------------------------------------------------------------


def _pickups_context(session: Session, principal: Principal, site: Site) -> dict[str, Any]:
    site_id = site.site.id
    rows = pickups.list_pickups(session=session, site_id=site_id, limit=30)
    bags = views.containers(
        session,
        site,
        pickups.bags(
            session=session,
            site_id=site_id,
            statuses=("prepared", "in_transit", "discrepancy", "confirmed"),
        ),
        hide=set(),
    )
    return {
        "pickups": views.pickup_list(session, rows),
        "carriers": pickups.list_carriers(session=session, site_id=site_id),
        "bags": bags,
        "zone": ZoneInfo(site.site.timezone),
        "can_manage": principal.allows(Permission.CASH_MANAGE, site_id),
    }


@router.get("/console/cash/pickups", response_class=HTMLResponse)
def pickups_page(request: Request, hub: HubDep, principal: Planner) -> HTMLResponse:
    """Show the pickup schedule, one-time codes, deposit bags and the door checks."""
    site = site_for(hub, principal, Permission.CASH_PICKUPS, request.query_params.get("site"))
    with hub.db.sessions() as session:
        context = _pickups_context(session, principal, site)
    return render(request, "cash_pickups.html", principal, site, context)


async def _pickup_action(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    work: Callable[[Session], Any],
    code: str,
) -> Response:
    """Run a pickup-page action; a kept refusal re-renders the page with its reason."""
    try:
        outcome = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        message = problem_text(exc)
    else:
        if not isinstance(outcome, pickups.Refused):
            return back("/console/cash/pickups", site, code)
        status, message = 409, f"Refused: {outcome.reason}. Security was alerted."
    with hub.db.sessions() as session:
        context = _pickups_context(session, principal, site)
    return render(
        request, "cash_pickups.html", principal, site, context, error=message, status_code=status
    )


@router.post("/console/cash/pickups/plan", response_class=HTMLResponse)
async def plan(request: Request, hub: HubDep, principal: PlannerForm) -> Response:
    """Plan the next pickup at an unpredictable allowed time."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_PICKUPS, form.text("site", required=False))

    def work(session: Session) -> Any:
        carrier = pickups.get_carrier(session=session, carrier_id=form.req("carrier"))
        return pickups.plan(
            session=session,
            site=site,
            carrier=carrier,
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
            urgent=form.flag("urgent"),
        )

    return await _pickup_action(request, hub, principal, site, work, "planned")


@router.post("/console/cash/pickups/{pickup_id}/verify", response_class=HTMLResponse)
async def verify(pickup_id: str, request: Request, hub: HubDep, principal: PlannerForm) -> Response:
    """Check the guard at the door (refusals are kept and alarmed)."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_PICKUPS, form.text("site", required=False))

    def work(session: Session) -> Any:
        pickup = pickups.get_pickup(session=session, pickup_id=pickup_id)
        if pickup.site_id != site.site.id:
            raise NotFound("no such pickup here")
        return pickups.verify(
            session=session,
            site=site,
            pickup=pickup,
            company=form.req("company"),
            guard_name=form.req("guard_name"),
            one_time_code=form.req("one_time_code"),
            code_word=form.text("code_word", required=False),
            id_number=form.text("id_number", required=False),
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _pickup_action(request, hub, principal, site, work, "verified")


@router.post("/console/cash/pickups/{pickup_id}/hand-over", response_class=HTMLResponse)
async def hand_over(
    pickup_id: str, request: Request, hub: HubDep, principal: PlannerForm
) -> Response:
    """Hand the sealed bags (bag number and the seal read at the door) to the carrier."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_PICKUPS, form.text("site", required=False))
    seals = dict(zip(form.many("bag"), form.many("seal"), strict=False))

    def work(session: Session) -> Any:
        pickup = pickups.get_pickup(session=session, pickup_id=pickup_id)
        if pickup.site_id != site.site.id:
            raise NotFound("no such pickup here")
        return pickups.hand_over(
            session=session,
            site=site,
            pickup=pickup,
            seals=seals,
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _pickup_action(request, hub, principal, site, work, "handed")


@router.post("/console/cash/deposits", response_class=HTMLResponse)
async def deposit(request: Request, hub: HubDep, principal: ManagerForm) -> Response:
    """Seal cash from the vault into a deposit bag (a reused seal is refused and alarmed)."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_MANAGE, form.text("site", required=False))
    if not principal.allows(Permission.CASH_PICKUPS, site.site.id):
        raise Forbidden("deposits are prepared from the pickups page (cash:pickups)")

    def work(session: Session) -> Any:
        return pickups.prepare_deposit(
            session=session,
            site=site,
            amount_cents=cents_of(form.text("amount", required=False), "deposit amount"),
            bag_number=form.req("bag_number"),
            seal_number=form.req("seal_number"),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _pickup_action(request, hub, principal, site, work, "deposit")


@router.post("/console/cash/deposits/{bag_id}/confirm", response_class=HTMLResponse)
async def confirm(bag_id: str, request: Request, hub: HubDep, principal: ManagerForm) -> Response:
    """Record the bank's figure for a bag; a difference raises an alarm."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_MANAGE, form.text("site", required=False))
    if not principal.allows(Permission.CASH_PICKUPS, site.site.id):
        raise Forbidden("bank confirmations are recorded from the pickups page (cash:pickups)")

    def work(session: Session) -> Any:
        bag = movements.get_container(session=session, container_id=bag_id)
        if bag.site_id != site.site.id:
            raise NotFound("no such bag here")
        return pickups.confirm(
            session=session,
            site=site,
            bag=bag,
            amount_cents=cents_of(form.text("amount", required=False), "confirmed amount"),
            reference=form.text("reference", required=False) or "",
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _pickup_action(request, hub, principal, site, work, "confirmed")


# --- the daily report ------------------------------------------------------------------------


@router.get("/console/cash/report", response_class=HTMLResponse)
def report_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show the day's reconciliation (site-local day), its variance chart and downloads."""
    site = site_for(hub, principal, Permission.CASH_READ, request.query_params.get("site"))
    zone = ZoneInfo(site.site.timezone)
    text = request.query_params.get("day")
    try:
        day = date.fromisoformat(text) if text else hub.clock.now().astimezone(zone).date()
    except ValueError:
        raise InvalidInput("the day is a date like 2026-03-07") from None
    with hub.db.sessions() as session:
        data = report.build(session=session, site=site, day=day)
    api = f"/api/sites/{site.site.id}/cash/report?day={day.isoformat()}"
    return render(
        request,
        "cash_report.html",
        principal,
        site,
        {
            "report": data,
            "day": day,
            "previous": (day - timedelta(days=1)).isoformat(),
            "next": (day + timedelta(days=1)).isoformat(),
            "chart": f"{api}&format=png",
            "csv": f"{api}&format=csv",
            "pdf": f"{api}&format=pdf",
            "rules": RULES,
        },
    )
