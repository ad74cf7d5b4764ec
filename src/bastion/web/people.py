"""Console page: cardholders, their credentials and access levels, and the engine's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.models import LevelAssignment
from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, get_hub
from bastion.auth.permissions import Permission
from bastion.hub import Hub
from bastion.people import service as people_service
from bastion.web.pages import templates

router = APIRouter(include_in_schema=False)


def _rows(session: Session) -> list[dict[str, Any]]:
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
        }
        for person in people_service.list_people(session=session)
    ]


@router.get("/console/people", response_class=HTMLResponse)
def people_page(
    request: Request,
    hub: Annotated[Hub, Depends(get_hub)],
    principal: Annotated[Principal, Depends(Require(Permission.PEOPLE_READ))],
) -> HTMLResponse:
    """Show cardholders, credentials (never card data) and levels, with threat and lockdowns."""
    with hub.db.sessions() as session:
        rows = _rows(session)
        levels = access_service.list_levels(session=session)
    engine = engine_of(hub)
    state = (
        {
            "version": engine.version,
            "threat": {s: engine.threat_level(s) for s in engine.snapshot.sites},
            "lockdown": {s: sorted(engine.lockdown_zones(s)) for s in engine.snapshot.sites},
        }
        if engine is not None
        else None
    )
    return templates.TemplateResponse(
        request,
        "people.html",
        {
            "principal": principal,
            "csrf_token": principal.csrf_token or "",
            "rows": rows,
            "levels": levels,
            "engine": state,
        },
    )
