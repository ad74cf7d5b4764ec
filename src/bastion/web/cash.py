"""Console pages for cash: tills and safes live, the cashier's own till, counts to perform.

Balances of containers being counted are never shown (blind counts); a cashier sees
only their own till, without its balance, and the counts of that till. Actions are
plain forms (CSRF token in a hidden field): success redirects with a fixed message
code, a refusal re-renders the page with the reason and nothing half-done.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromBody, FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.cash import counts, movements, tasks, tills, views
from bastion.cash import settings as cash_settings
from bastion.cash.api.common import own_till
from bastion.cash.movements import dollars
from bastion.cash.runtime import clips_for
from bastion.core.errors import BastionError, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web.readmodel import site_for
from bastion.web.render import page
from bastion.web.templating import templates
from bastion.web.visitors import act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.CASH_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
Handler = Annotated[
    Principal,
    Depends(Require(Permission.CASH_HANDLE, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
HandlerForm = Annotated[Principal, Depends(Require(Permission.CASH_HANDLE, site=FromBody("site")))]

DONE = {
    "counted": "Count recorded.",
    "waiting": "Recorded. A second, different person now counts blind.",
    "mismatch": "The two counts do not agree: both counters count again, blind.",
    "completed": "Count complete.",
    "started": "Count started: count the cash without looking at any figure first.",
    "dropped": "Drop recorded.",
    "closing": "Till stopped: its blind closing count is waiting below.",
    "reviewed": "Review recorded.",
    "escalated": "Escalated.",
    "planned": "Pickup planned: give the one-time code to the carrier's dispatcher only.",
    "verified": "Carrier verified: hand over the sealed bags.",
    "handed": "Bags handed over; the bank's confirmation is now awaited.",
    "deposit": "Deposit bag sealed.",
    "confirmed": "Bank confirmation recorded.",
}
templates.env.filters["dollars"] = lambda cents: "—" if cents is None else dollars(int(cents))


def cents_of(text: str | None, what: str = "amount") -> int:
    """Read a dollar amount typed by a person (``1,234.50``) as cents; refuse anything else."""
    value = (text or "").strip().replace("$", "").replace(",", "")
    if not value:
        raise InvalidInput(f"fill in the {what}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"the {what} {text!r} is not an amount of dollars") from None
    cents = amount * 100
    if amount < 0 or cents != cents.to_integral_value():
        raise InvalidInput(f"the {what} is dollars and cents, like 1234.50")
    return int(cents)


def tabs(principal: Principal, site_id: str) -> list[dict[str, str]]:
    """Return the cash pages the principal may open at the site."""
    pages = (
        ("Tills and safes", "/console/cash", Permission.CASH_READ),
        ("My till", "/console/cash/my-till", Permission.CASH_HANDLE),
        ("Counts", "/console/cash/counts", Permission.CASH_HANDLE),
        ("Exceptions", "/console/cash/exceptions", Permission.CASH_READ),
        ("Pickups", "/console/cash/pickups", Permission.CASH_PICKUPS),
        ("Daily report", "/console/cash/report", Permission.CASH_READ),
    )
    return [{"label": a, "href": b} for a, b, p in pages if principal.allows(p, site_id)]


def render(
    request: Request,
    name: str,
    principal: Principal,
    site: Site,
    context: dict[str, Any],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a cash page with the tabs, the notice of the last action and any error."""
    done = request.query_params.get("done")
    return page(
        request,
        name,
        principal,
        {
            "site": site,
            "tabs": tabs(principal, site.site.id),
            "notice": DONE.get(done or "") if not error else None,
            "error": error,
            **context,
        },
        status_code=status_code,
    )


def back(path: str, site: Site, code: str) -> RedirectResponse:
    """Redirect to a cash page after a successful action."""
    return RedirectResponse(f"{path}?site={site.site.id}&done={code}", status_code=303)


# --- tills and safes -------------------------------------------------------------------------


def _overview(hub: Hub, session: Session, site: Site) -> dict[str, Any]:
    site_id = site.site.id
    rows = movements.list_containers(
        session=session,
        site_id=site_id,
        statuses=("active", "prepared", "in_transit", "discrepancy"),
    )
    settings = cash_settings.load(session=session, site_id=site_id)
    return {
        "containers": views.containers(session, site, rows),
        "limit": settings.register_limit_cents,
        "open_counts": [
            views.count_read(session, c)
            for c in counts.list_counts(session=session, site_id=site_id, open_only=True)
        ],
        "reviews": views.review_list(
            session, counts.list_reviews(session=session, site_id=site_id), site
        ),
        "tasks": [views.task_read(t) for t in tasks.list_tasks(session=session, site_id=site_id)][
            :10
        ],
        "moves": views.movement_list(
            session, movements.movements_of(session=session, site_id=site_id, limit=15)
        ),
        "now": hub.clock.now(),
    }


@router.get("/console/cash", response_class=HTMLResponse)
def cash_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show every till, safe, the vault and bags in transit, live; counts, reviews and tasks."""
    site = site_for(hub, principal, Permission.CASH_READ, request.query_params.get("site"))
    with hub.db.sessions() as session:
        context = _overview(hub, session, site)
    context["can_manage"] = principal.allows(Permission.CASH_MANAGE, site.site.id)
    return render(request, "cash.html", principal, site, context)


@router.get("/console/cash/live", response_class=HTMLResponse)
def cash_live(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Return the tills-and-safes panel alone, for the page's periodic refresh."""
    site = site_for(hub, principal, Permission.CASH_READ, request.query_params.get("site"))
    with hub.db.sessions() as session:
        context = _overview(hub, session, site)
    return page(request, "_cash_containers.html", principal, {"site": site, **context})


# --- the cashier's till ----------------------------------------------------------------------


@router.get("/console/cash/my-till", response_class=HTMLResponse)
def my_till_page(request: Request, hub: HubDep, principal: Handler) -> HTMLResponse:
    """Show the cashier's own till: drop warning, activity, its counts; never the balance."""
    site = site_for(hub, principal, Permission.CASH_HANDLE, request.query_params.get("site"))
    with hub.db.sessions() as session:
        person = counts.person_of_user(session, principal.user_id)
        mine = views.my_tills(session, site, person, hub.clock.now())
        names = views.person_names(session, [person])
    return render(
        request,
        "cash_my_till.html",
        principal,
        site,
        {"tills": mine, "person": names.get(person or ""), "linked": person is not None},
    )


@router.post("/console/cash/tills/{register_id}/drop", response_class=HTMLResponse)
async def drop(register_id: str, request: Request, hub: HubDep, principal: HandlerForm) -> Response:
    """Record a drop from a till to the drop safe (a cashier: only from their own)."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_HANDLE, form.text("site", required=False))

    def work(session: Session) -> None:
        register = movements.get_container(session=session, container_id=register_id)
        if register.site_id != site.site.id:
            raise NotFound(f"no register {register_id!r} here")
        own_till(session, principal, register, Permission.CASH_MANAGE)
        safes = movements.list_containers(
            session=session, site_id=site.site.id, kinds=("drop_safe",)
        )
        if not safes:
            raise NotFound("the site has no drop safe")
        tills.drop(
            session=session,
            register=register,
            safe=safes[0],
            amount_cents=cents_of(form.text("amount", required=False), "drop amount"),
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
            witness=form.text("witness", required=False),
        )

    return await _do(request, hub, principal, site, work, "/console/cash/my-till", "dropped")


@router.post("/console/cash/tills/{register_id}/close", response_class=HTMLResponse)
async def close(
    register_id: str, request: Request, hub: HubDep, principal: HandlerForm
) -> Response:
    """Stop a till and start its blind closing count."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_HANDLE, form.text("site", required=False))

    def work(session: Session) -> None:
        register = movements.get_container(session=session, container_id=register_id)
        if register.site_id != site.site.id:
            raise NotFound(f"no register {register_id!r} here")
        own_till(session, principal, register, Permission.CASH_MANAGE)
        tills.start_close(
            session=session,
            register=register,
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, site, work, "/console/cash/counts", "closing")


# --- counts ----------------------------------------------------------------------------------


def _counts_context(hub: Hub, session: Session, principal: Principal, site: Site) -> dict[str, Any]:
    site_id = site.site.id
    may_count = principal.allows(Permission.CASH_COUNT, site_id)
    rows = counts.list_counts(session=session, site_id=site_id, limit=40)
    if not may_count:
        person = counts.person_of_user(session, principal.user_id)
        mine = {
            t.register_id
            for t in (tills.sessions_of_person(session=session, person_id=person) if person else [])
        }
        rows = [r for r in rows if r.container_id in mine]
    shown = [views.count_read(session, r) for r in rows]
    containers = movements.list_containers(
        session=session, site_id=site_id, kinds=("register", "drop_safe", "vault")
    )
    return {
        "open": [c for c in shown if c.status == "open"],
        "done": [c for c in shown if c.status != "open"][:15],
        "may_count": may_count,
        "containers": containers,
        "me": principal.username,
        "denominations": counts.DENOMINATIONS,
    }


@router.get("/console/cash/counts", response_class=HTMLResponse)
def counts_page(request: Request, hub: HubDep, principal: Handler) -> HTMLResponse:
    """Show the counts to perform (blind: no expected figure) and the recent results."""
    site = site_for(hub, principal, Permission.CASH_HANDLE, request.query_params.get("site"))
    with hub.db.sessions() as session:
        context = _counts_context(hub, session, principal, site)
    return render(request, "cash_counts.html", principal, site, context)


@router.post("/console/cash/counts/start", response_class=HTMLResponse)
async def start_count(request: Request, hub: HubDep, principal: HandlerForm) -> Response:
    """Start a blind spot count of a container (needs cash:count)."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_HANDLE, form.text("site", required=False))

    def work(session: Session) -> None:
        if not principal.allows(Permission.CASH_COUNT, site.site.id):
            raise Forbidden("starting a count needs the cash:count permission")
        container = movements.get_container(session=session, container_id=form.req("container"))
        if container.site_id != site.site.id:
            raise NotFound("no such container here")
        counts.start(
            session=session,
            container=container,
            kind="spot",
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, site, work, "/console/cash/counts", "started")


@router.post("/console/cash/counts/{count_id}/submit", response_class=HTMLResponse)
async def submit_count(
    count_id: str, request: Request, hub: HubDep, principal: HandlerForm
) -> Response:
    """Submit your blind figure for a count (notes and coins optional)."""
    form = await read_form(request)
    site = site_for(hub, principal, Permission.CASH_HANDLE, form.text("site", required=False))

    def work(session: Session) -> str:
        count = counts.get_count(session=session, count_id=count_id)
        container = movements.get_container(session=session, container_id=count.container_id)
        if count.site_id != site.site.id:
            raise NotFound("no such count here")
        if not principal.allows(Permission.CASH_COUNT, site.site.id):
            if container.kind != "register":
                raise Forbidden("counting this container needs the cash:count permission")
            own_till(session, principal, container, Permission.CASH_COUNT)
        breakdown = {
            str(value): int(form.text(f"n{value}", required=False) or 0)
            for value in counts.DENOMINATIONS
            if form.text(f"n{value}", required=False)
        }
        return counts.submit(
            session=session,
            site=site,
            count=count,
            user_id=principal.user_id,
            amount_cents=cents_of(form.text("amount", required=False), "counted amount"),
            denominations=breakdown,
            settings=cash_settings.load(session=session, site_id=site.site.id),
            context=principal.context(),
            now=hub.clock.now(),
            clips=clips_for(hub, site.site.id),
        ).status

    return await _do(request, hub, principal, site, work, "/console/cash/counts", None)


async def _do(
    request: Request,
    hub: Hub,
    principal: Principal,
    site: Site,
    work: Any,
    path: str,
    code: str | None,
) -> Response:
    """Run a form's action; redirect on success, re-render the page with the reason if not."""
    try:
        result = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        message = problem_text(exc)
    except ValueError:
        status, message = 422, "a number of notes or coins is not a whole number"
    else:
        return back(path, site, code or str(result))
    with hub.db.sessions() as session:
        if path.endswith("/counts"):
            context = _counts_context(hub, session, principal, site)
            name = "cash_counts.html"
        else:
            person = counts.person_of_user(session, principal.user_id)
            context = {
                "tills": views.my_tills(session, site, person, hub.clock.now()),
                "person": views.person_names(session, [person]).get(person or ""),
                "linked": person is not None,
            }
            name = "cash_my_till.html"
    return render(request, name, principal, site, context, error=message, status_code=status)
