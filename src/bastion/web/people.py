"""Console page: cardholders, the hiring gate, training expiry, access review and offboarding.

``people:read`` shows the page (the people of the caller's sites). Recording background checks and training and
offboarding need ``people:manage`` (HR); the access-review table needs
``access:read`` and confirming a holding or ticking off a rotated shared secret
needs ``access:manage``. Actions are HTML forms with the CSRF token in a hidden field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.models import LevelAssignment
from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, get_hub
from bastion.api.resources import LEVEL, OFFBOARDING, PERSON
from bastion.api.scope import AnySite, FromResource
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, InvalidInput
from bastion.hub import Hub
from bastion.people import employees, offboarding, photos
from bastion.people import service as people_service
from bastion.people.models import PersonKind
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.templating import display_zone
from bastion.web.visitors import Form, act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
THE_OFFBOARDING = FromResource("offboarding_id", OFFBOARDING)
Reader = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=AnySite()))]
HR = Annotated[
    Principal, Depends(Require(Permission.PEOPLE_MANAGE, site=FromResource("person_id", PERSON)))
]
OffboardingReader = Annotated[
    Principal, Depends(Require(Permission.PEOPLE_READ, site=THE_OFFBOARDING))
]
SecretKeeper = Annotated[
    Principal, Depends(Require(Permission.ACCESS_MANAGE, site=THE_OFFBOARDING))
]
Confirmer = Annotated[
    Principal,
    Depends(
        Require(
            Permission.ACCESS_MANAGE,
            site=(
                FromResource("person_id", PERSON, where="body"),
                FromResource("level_id", LEVEL, where="body"),
            ),
        )
    ),
]

DONE = {
    "background": "Background check recorded.",
    "training": "Training recorded.",
    "confirmed": "Access confirmed.",
    "rotated": "Secret marked rotated.",
}


def _rows(session: Session, now: Any, principal: Principal) -> list[dict[str, Any]]:
    credentials: dict[str, list[Any]] = {}
    for credential in access_service.list_credentials(session=session):
        credentials.setdefault(credential.person_id, []).append(credential)
    levels: dict[str, list[str]] = {}
    for person_id, level_id in session.execute(
        select(LevelAssignment.person_id, LevelAssignment.level_id).order_by(
            LevelAssignment.level_id
        )
    ):
        levels.setdefault(person_id, []).append(level_id)
    return [
        {
            "person": person,
            "credentials": credentials.get(person.id, []),
            "levels": levels.get(person.id, []),
            "training": employees.training_states(person, now),
            "background_current": employees.background_current(person, now.date()),
        }
        for person in principal.visible(
            Permission.PEOPLE_READ, people_service.list_people(session=session)
        )
        if person.kind != PersonKind.VISITOR or person.status == "active"
    ]


def render_people(
    request: Request,
    hub: Hub,
    principal: Principal,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render the People page, with an error and the add-person form as it was typed."""
    now = hub.clock.now()
    seen = Permission.PEOPLE_READ
    with hub.db.sessions() as session:
        rows = _rows(session, now, principal)
        for row in rows:
            row["photo"] = photos.has_photo(hub.settings.data_dir, row["person"].id)
        levels = principal.visible(seen, access_service.list_levels(session=session))
        review = (
            principal.visible(
                Permission.ACCESS_READ, employees.access_review(session=session, now=now)
            )
            if principal.allows(Permission.ACCESS_READ)
            else None
        )
        expiring = principal.visible(
            seen,
            employees.expiring_training(session=session, now=now, unwarned_only=False),
            site=lambda row: row[0].site_id,
        )
        people = principal.visible(seen, people_service.list_people(session=session))
        names = {p.id: p.name for p in people}
        leavers = [
            r for r in offboarding.list_offboardings(session=session) if r.person_id in names
        ]
    engine = engine_of(hub)
    sites = principal.visible(seen, sorted(engine.snapshot.sites) if engine else [], site=str)
    state = (
        {
            "version": engine.version,
            "threat": {s: engine.threat_level(s) for s in sites},
            "lockdown": {s: sorted(engine.lockdown_zones(s)) for s in sites},
        }
        if engine is not None
        else None
    )
    return page(
        request,
        "people.html",
        principal,
        {
            "rows": rows,
            "levels": levels,
            "engine": state,
            "review": review,
            "expiring": expiring,
            "offboardings": leavers,
            "names": names,
            "can_manage": principal.allows(Permission.PEOPLE_MANAGE),
            "can_confirm": principal.allows(Permission.ACCESS_MANAGE),
            "statuses": ["pending", "cleared", "failed", "expired", "not_required"],
            "notice": DONE.get(request.query_params.get("done") or ""),
            "error": error,
            "typed": typed or {},
            "add_sites": [
                site
                for sid, site in sorted(loaded_sites(hub).items())
                if principal.allows(Permission.PEOPLE_MANAGE, sid)
            ],
            "now": now,
        },
        status_code=status_code,
    )


@router.get("/console/people", response_class=HTMLResponse)
def people_page(request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show cardholders with their hiring gate and training, the access review and leavers."""
    return render_people(request, hub, principal)


async def _do(request: Request, hub: Hub, principal: Principal, work: Any, done: str) -> Response:
    form = await read_form(request)
    try:
        await act(hub, lambda session: work(session, form))
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return render_people(request, hub, principal, error=problem_text(exc), status_code=status)
    return RedirectResponse(f"/console/people?done={done}", status_code=303)


@router.post("/console/people/{person_id}/background-check", response_class=HTMLResponse)
async def background_check(
    person_id: str, request: Request, hub: HubDep, principal: HR
) -> Response:
    """Record a background-check result (the reference is stored encrypted)."""

    def work(session: Session, form: Form) -> object:
        checked = form.text("checked_on", required=False)
        expires = form.text("expires_on", required=False)
        return employees.record_background_check(
            session=session,
            person_id=person_id,
            status=form.req("status"),
            checked_on=form.day("checked_on") if checked else None,
            reference=form.text("reference", required=False),
            expires_on=form.day("expires_on") if expires else None,
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _do(request, hub, principal, work, "background")


@router.post("/console/people/{person_id}/training", response_class=HTMLResponse)
async def add_training(person_id: str, request: Request, hub: HubDep, principal: HR) -> Response:
    """Record a completed course with its evidence reference."""
    zone = display_zone(request)

    def work(session: Session, form: Form) -> object:
        completed = form.when("completed_at", zone)
        assert completed is not None
        return employees.add_training(
            session=session,
            person_id=person_id,
            course=form.req("course"),
            completed_at=completed,
            expires_at=form.when("expires_at", zone, required=False),
            evidence=form.text("evidence", required=False),
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _do(request, hub, principal, work, "training")


@router.post("/console/people/{person_id}/offboard", response_class=HTMLResponse)
async def offboard(person_id: str, request: Request, hub: HubDep, principal: HR) -> Response:
    """Offboard in one action, then show the report that proves it."""
    form = await read_form(request)
    if form.text("confirm", required=False) != "offboard":
        return render_people(
            request,
            hub,
            principal,
            error="type 'offboard' in the confirmation box to offboard this person",
            status_code=422,
        )

    def work(session: Session) -> str:
        row = offboarding.offboard(
            session=session,
            person_id=person_id,
            reason=form.req("reason"),
            secrets=None,
            clock=hub.clock,
            context=principal.context(),
            engine=engine_of(hub),
        )
        return row.id

    try:
        offboarding_id = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return render_people(request, hub, principal, error=problem_text(exc), status_code=status)
    return RedirectResponse(f"/console/people/offboarding/{offboarding_id}", status_code=303)


@router.get("/console/people/offboarding/{offboarding_id}", response_class=HTMLResponse)
def offboarding_page(
    offboarding_id: str, request: Request, hub: HubDep, principal: OffboardingReader
) -> HTMLResponse:
    """Show the offboarding report (every source queried afresh) and the secrets checklist."""
    with hub.db.sessions() as session:
        row = offboarding.get_offboarding(session=session, offboarding_id=offboarding_id)
        report = offboarding.report(
            session=session,
            offboarding_id=offboarding_id,
            now=hub.clock.now(),
            engine=engine_of(hub),
        )
        person = people_service.get_person(session=session, person_id=row.person_id)
        secrets = list(row.secrets)
        name = person.name
    return page(
        request,
        "people.html",
        principal,
        {
            "row": row,
            "report": report,
            "secrets": secrets,
            "name": name,
            "can_confirm": principal.allows(Permission.ACCESS_MANAGE),
            "notice": DONE.get(request.query_params.get("done") or ""),
        },
    )


@router.post(
    "/console/people/offboarding/{offboarding_id}/secrets/{item_id}/rotated",
    response_class=HTMLResponse,
)
async def secret_rotated(
    offboarding_id: str, item_id: int, request: Request, hub: HubDep, principal: SecretKeeper
) -> Response:
    """Tick off a rotated shared secret."""
    form = await read_form(request)
    try:
        await act(
            hub,
            lambda s: offboarding.mark_rotated(
                session=s,
                offboarding_id=offboarding_id,
                item_id=item_id,
                note=form.text("note", required=False),
                context=principal.context(),
                now=hub.clock.now(),
            ),
        )
    except BastionError as exc:
        return render_people(
            request, hub, principal, error=problem_text(exc), status_code=exc.status_code
        )
    return RedirectResponse(
        f"/console/people/offboarding/{offboarding_id}?done=rotated", status_code=303
    )


@router.post("/console/access-review/confirm", response_class=HTMLResponse)
async def confirm(request: Request, hub: HubDep, principal: Confirmer) -> Response:
    """Confirm that a person still needs a level."""

    def work(session: Session, form: Form) -> object:
        person_id = form.req("person_id")
        level_id = form.req("level_id")
        if len(person_id) > 26 or len(level_id) > 63:
            raise InvalidInput("unknown person or level")
        return employees.confirm_access(
            session=session,
            person_id=person_id,
            level_id=level_id,
            context=principal.context(),
            now=hub.clock.now(),
        )

    return await _do(request, hub, principal, work, "confirmed")
