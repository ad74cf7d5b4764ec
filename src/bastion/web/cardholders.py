"""Console: add a cardholder, and one person's page to suspend, badge and give levels.

Every change goes through the same services as the API, so the hiring gate applies (no
credential while a held level lacks its check or training; a restricted level needs a
cleared check) and the access engine learns of it at once. A refused form is shown again
with what was typed and the reason in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bastion.access import service as access_service
from bastion.access.cards import parse_card
from bastion.access.models import AccessLevel, LevelAssignment
from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, get_hub
from bastion.api.resources import CREDENTIAL, LEVEL, PERSON
from bastion.api.scope import FromBody, FromResource
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, InvalidInput
from bastion.hub import Hub
from bastion.people import employees, photos
from bastion.people import service as people_service
from bastion.people.models import Person, PersonKind, PersonStatus
from bastion.web.people import render_people
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page
from bastion.web.templating import display_zone
from bastion.web.visitors import Form, act, problem_text, read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
THE_PERSON = FromResource("person_id", PERSON)
Reader = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=THE_PERSON))]
Creator = Annotated[Principal, Depends(Require(Permission.PEOPLE_MANAGE, site=FromBody("site_id")))]
StatusSetter = Annotated[Principal, Depends(Require(Permission.PEOPLE_MANAGE, site=THE_PERSON))]
Badger = Annotated[Principal, Depends(Require(Permission.ACCESS_MANAGE, site=THE_PERSON))]
Revoker = Annotated[
    Principal,
    Depends(
        Require(
            Permission.ACCESS_MANAGE,
            site=(THE_PERSON, FromResource("credential_id", CREDENTIAL)),
        )
    ),
]
Leveller = Annotated[
    Principal,
    Depends(
        Require(
            Permission.ACCESS_MANAGE,
            site=(THE_PERSON, FromResource("level_id", LEVEL, where="body")),
        )
    ),
]
KINDS = (
    ("card", "Card"),
    ("card_and_pin", "Card and PIN"),
    ("pin", "PIN only"),
    ("mobile", "Mobile"),
)
FORMATS = (("h10301", "26-bit H10301"), ("h10304", "37-bit H10304"))
DONE = {
    "added": "Person added.",
    "status": "Status changed; doors know at once.",
    "issued": "Credential issued.",
    "revoked": "Credential revoked; it is refused from now on.",
    "level": "Level assigned.",
    "unlevel": "Level removed.",
    "edited": "Details saved.",
    "unchanged": "Nothing was changed.",
    "photo": "Photo saved.",
    "unphoto": "Photo removed.",
}
PERSON_KINDS = (("employee", "Employee"), ("contractor", "Contractor"))
# The person page may use the camera (to take a badge photo); every other page may not.
CAMERA_ALLOWED = {"Permissions-Policy": "camera=(self), microphone=(), geolocation=()"}


def _context(session: Session, hub: Hub, principal: Principal, person_id: str) -> dict[str, Any]:
    person = people_service.get_person(session=session, person_id=person_id)
    credentials = access_service.list_credentials(session=session, person_id=person_id)
    held = {
        row.level_id: row
        for row in session.execute(
            select(LevelAssignment).where(LevelAssignment.person_id == person_id)
        ).scalars()
    }
    levels = [
        lv
        for lv in principal.visible(
            Permission.ACCESS_READ, access_service.list_levels(session=session)
        )
        if person.site_id is None or lv.site_id == person.site_id
    ]
    site = loaded_sites(hub).get(person.site_id or "")
    managers = [
        p
        for p in employees.list_staff(session=session, site_id=person.site_id)
        if p.id != person.id
        and p.status == PersonStatus.ACTIVE
        and (person.site_id is None or p.site_id in (None, person.site_id))
        and principal.allows(Permission.PEOPLE_READ, p.site_id)
    ]
    manager = session.get(Person, person.manager_id) if person.manager_id else None
    return {
        "managers": managers,
        "manager": manager,
        "person_kinds": PERSON_KINDS,
        "has_photo": photos.has_photo(hub.settings.data_dir, person.id),
        "photo_limit_mb": photos.MAX_UPLOAD // (1024 * 1024),
        "person": person,
        "site_name": site.site.name if site else (person.site_id or "every site"),
        "credentials": credentials,
        "held": [(lv, held[lv.id]) for lv in levels if lv.id in held],
        "assignable": [lv for lv in levels if lv.id not in held],
        "can_manage": principal.allows(Permission.PEOPLE_MANAGE, person.site_id),
        "can_badge": principal.allows(Permission.ACCESS_MANAGE, person.site_id),
        "kinds": KINDS,
        "formats": FORMATS,
    }


def _render(
    request: Request,
    hub: Hub,
    principal: Principal,
    person_id: str,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with hub.db.sessions() as session:
        context = _context(session, hub, principal, person_id)
    done = request.query_params.get("done") or ""
    response = page(
        request,
        "person.html",
        principal,
        {
            **context,
            "typed": typed or {},
            "error": error,
            "notice": None if error else DONE.get(done),
        },
        status_code=status_code,
    )
    response.headers.update(CAMERA_ALLOWED)
    return response


async def _submit(
    request: Request,
    hub: Hub,
    principal: Principal,
    person_id: str,
    work: Callable[[Session, Form], object],
    done: str | Callable[[Form], str],
) -> Response:
    form = await read_form(request)
    typed = {k: v[0] for k, v in form.data.items() if v and k not in ("csrf_token", "pin")}
    try:
        await act(hub, lambda session: work(session, form))
    except (BastionError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return _render(
            request,
            hub,
            principal,
            person_id,
            typed=typed,
            error=problem_text(exc),
            status_code=status,
        )
    code = done if isinstance(done, str) else done(form)
    return RedirectResponse(f"/console/people/{person_id}?done={code}", status_code=303)


@router.post("/console/people", response_class=HTMLResponse)
async def add_person(request: Request, hub: HubDep, principal: Creator) -> Response:
    """Add an employee or contractor to a site, then open their page to badge them."""
    form = await read_form(request)

    def work(session: Session) -> str:
        person = access_service.create_person(
            session=session,
            name=form.req("name"),
            kind=form.text("kind", required=False) or "employee",
            role=form.text("role", required=False) or "",
            site_id=form.req("site_id"),
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )
        return person.id

    try:
        person_id = await act(hub, work)
    except (BastionError, ValidationError) as exc:
        typed = {k: v[0] for k, v in form.data.items() if v and k != "csrf_token"}
        status = exc.status_code if isinstance(exc, BastionError) else 422
        return render_people(
            request, hub, principal, error=problem_text(exc), typed=typed, status_code=status
        )
    return RedirectResponse(f"/console/people/{person_id}?done=added", status_code=303)


@router.get("/console/people/{person_id}", response_class=HTMLResponse)
def person_page(person_id: str, request: Request, hub: HubDep, principal: Reader) -> HTMLResponse:
    """Show one person: status, credentials, levels, and the forms to change them."""
    return _render(request, hub, principal, person_id)


@router.post("/console/people/{person_id}/status", response_class=HTMLResponse)
async def set_status(
    person_id: str, request: Request, hub: HubDep, principal: StatusSetter
) -> Response:
    """Suspend or reinstate (offboarding has its own confirmed action)."""

    def work(session: Session, form: Form) -> object:
        status = form.req("status")
        if status not in ("suspended", "active"):
            raise InvalidInput("choose suspend or reinstate; offboarding is on the People page")
        return access_service.set_person_status(
            session=session,
            person_id=person_id,
            status=status,
            reason=form.req("reason"),
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _submit(request, hub, principal, person_id, work, "status")


@router.post("/console/people/{person_id}/credentials", response_class=HTMLResponse)
async def issue(person_id: str, request: Request, hub: HubDep, principal: Badger) -> Response:
    """Issue a card (number and format), a PIN, both, or a mobile credential."""
    zone = display_zone(request)

    def work(session: Session, form: Form) -> object:
        now = hub.clock.now()
        kind = form.req("kind")
        card = None
        if kind in ("card", "card_and_pin"):
            number = form.req("card_number")
            facility = form.text("facility_code", required=False) or "0"
            card = parse_card(f"{form.req('card_format')}:{facility}:{number}")
        employees.check_levels_held(session=session, person_id=person_id, now=now)
        return access_service.issue_credential(
            session=session,
            person_id=person_id,
            kind=kind,
            card=card,
            pin=form.req("pin") if kind in ("pin", "card_and_pin") else None,
            mobile_token=form.req("mobile_token") if kind == "mobile" else None,
            expires_at=form.when("expires_at", zone, required=False),
            hasher=hub.hash_credential,
            context=principal.context(),
            now=now,
            engine=engine_of(hub),
        )

    return await _submit(request, hub, principal, person_id, work, "issued")


@router.post(
    "/console/people/{person_id}/credentials/{credential_id}/revoke",
    response_class=HTMLResponse,
)
async def revoke(
    person_id: str, credential_id: str, request: Request, hub: HubDep, principal: Revoker
) -> Response:
    """Revoke a credential; the engine refuses it before the page comes back."""

    def work(session: Session, form: Form) -> object:
        credential = access_service.get_credential(session=session, credential_id=credential_id)
        if credential.person_id != person_id:
            raise InvalidInput("that credential belongs to someone else")
        return access_service.revoke_credential(
            session=session,
            credential_id=credential_id,
            reason=form.text("reason", required=False) or "",
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )

    return await _submit(request, hub, principal, person_id, work, "revoked")


@router.post("/console/people/{person_id}/levels", response_class=HTMLResponse)
async def assign(person_id: str, request: Request, hub: HubDep, principal: Leveller) -> Response:
    """Give a level through the hiring gate, or take one away."""

    def work(session: Session, form: Form) -> object:
        level_id = form.req("level_id")
        if session.get(AccessLevel, level_id) is None:
            raise InvalidInput("choose a level")
        change = access_service.unassign_level if form.flag("remove") else employees.grant_level
        change(
            session=session,
            person_id=person_id,
            level_id=level_id,
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )
        return None

    def done(form: Form) -> str:
        return "unlevel" if form.flag("remove") else "level"

    return await _submit(request, hub, principal, person_id, work, done)


@router.post("/console/people/{person_id}/edit", response_class=HTMLResponse)
async def edit(person_id: str, request: Request, hub: HubDep, principal: StatusSetter) -> Response:
    """Correct a person's name, role, kind or manager (HR); refused input is kept as typed."""

    def work(session: Session, form: Form) -> bool:
        person = people_service.get_person(session=session, person_id=person_id)
        if person.kind == PersonKind.VISITOR:
            raise InvalidInput("a visitor's details are changed on their visit")
        manager_id = form.text("manager_id", required=False)
        if manager_id is not None:
            manager = session.get(Person, manager_id)
            if manager is None or manager.site_id not in (None, person.site_id):
                raise InvalidInput("choose a manager from the list (someone at this site)")
        changed = access_service.update_person(
            session=session,
            person_id=person_id,
            name=form.text("name", required=False) or "",
            role=form.text("role", required=False) or "",
            kind=form.text("kind", required=False) or person.kind,
            context=principal.context(),
            now=hub.clock.now(),
            engine=engine_of(hub),
        )
        if manager_id != person.manager_id:
            employees.link(
                session=session,
                person_id=person_id,
                manager_id=manager_id,
                context=principal.context(),
                now=hub.clock.now(),
            )
            return True
        return bool(changed)

    changed: list[bool] = []

    def counted(session: Session, form: Form) -> object:
        changed.append(work(session, form))
        return None

    def done(form: Form) -> str:
        return "edited" if any(changed) else "unchanged"

    return await _submit(request, hub, principal, person_id, counted, done)


async def _upload(request: Request) -> bytes:
    """Return the uploaded picture's bytes (at most one byte over the limit is read)."""
    form = await request.form()
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        return b""
    try:
        return await upload.read(photos.MAX_UPLOAD + 1)
    finally:
        await upload.close()


@router.post("/console/people/{person_id}/photo", response_class=HTMLResponse)
async def set_photo(
    person_id: str, request: Request, hub: HubDep, principal: StatusSetter
) -> Response:
    """Keep a photo chosen from a file or taken with the camera, sealed on disk."""
    try:
        image = await _upload(request)
        photo, thumbnail = await asyncio.to_thread(photos.prepare, image)

        def work(session: Session) -> object:
            person = people_service.record_photo(
                session=session,
                person_id=person_id,
                removed=False,
                context=principal.context(),
                now=hub.clock.now(),
            )
            photos.store(hub.settings.data_dir, person.id, photo, thumbnail)
            return None

        await act(hub, work)
    except BastionError as exc:
        return _render(
            request,
            hub,
            principal,
            person_id,
            typed={"form": "photo"},
            error=problem_text(exc),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/console/people/{person_id}?done=photo", status_code=303)


@router.post("/console/people/{person_id}/photo/remove", response_class=HTMLResponse)
async def remove_photo(
    person_id: str, request: Request, hub: HubDep, principal: StatusSetter
) -> Response:
    """Delete a person's photo (the ledger records that it was removed)."""

    def work(session: Session, form: Form) -> object:
        if not photos.has_photo(hub.settings.data_dir, person_id):
            raise InvalidInput("there is no photo to remove")
        people_service.record_photo(
            session=session,
            person_id=person_id,
            removed=True,
            context=principal.context(),
            now=hub.clock.now(),
        )
        photos.remove(hub.settings.data_dir, person_id)
        return None

    return await _submit(request, hub, principal, person_id, work, "unphoto")


@router.get("/console/people/{person_id}/photo.jpg", response_class=Response)
def photo(
    person_id: str,
    hub: HubDep,
    principal: Reader,
    size: Annotated[photos.Size, Query()] = "full",
) -> Response:
    """Return a person's photo, decrypted for this caller only (never cached on the way)."""
    image = photos.load(hub.settings.data_dir, person_id, size)
    if image is None:  # a picture's URL: plain words, not the console's 404 page
        return Response("This person has no photo.", status_code=404, media_type="text/plain")
    return Response(image, media_type=photos.JPEG, headers={"Cache-Control": "private, no-store"})
