"""Shared pieces of the cash routes: guards by permission at the site, loaders, refusals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.cash import (
    counts,
    movements,
    pickups,
    tills,
)
from bastion.cash import settings as cash_settings
from bastion.cash.models import CashContainer, Pickup
from bastion.core.errors import Forbidden, NotFound
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.site.schemas import Site

PREFIX = "/api/sites/{site_id}/cash"
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.CASH_READ, site=FromPath("site_id")))]
Handler = Annotated[Principal, Depends(Require(Permission.CASH_HANDLE, site=FromPath("site_id")))]
Manager = Annotated[Principal, Depends(Require(Permission.CASH_MANAGE, site=FromPath("site_id")))]
Planner = Annotated[Principal, Depends(Require(Permission.CASH_PICKUPS, site=FromPath("site_id")))]
Compliance = Annotated[
    Principal, Depends(Require(Permission.COMPLIANCE_MANAGE, site=FromPath("site_id")))
]
PROBLEM = "application/problem+json"


def site_of(session: Session, site_id: str) -> Site:
    """Return the site model (404 when the site is unknown)."""
    return site_service.get_site(session=session, site_id=site_id)


def container_of(session: Session, site_id: str, container_id: str) -> CashContainer:
    """Return a container of this site (404 when it is unknown or elsewhere)."""
    row = movements.get_container(session=session, container_id=container_id)
    if row.site_id != site_id:
        raise NotFound(f"no cash container {container_id!r} at site {site_id}")
    return row


def settings_of(session: Session, site_id: str) -> cash_settings.CashSettings:
    """Return the site's cash settings."""
    return cash_settings.load(session=session, site_id=site_id)


def refused(reason: str, alarm_id: str) -> JSONResponse:
    """Return the 409 of a refusal that was recorded (and alarmed), not rolled back."""
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": reason,
        "alarm_id": alarm_id,
        "refused": True,
    }
    return JSONResponse(body, status_code=409, media_type=PROBLEM)


def own_till(
    session: Session, principal: Principal, register: CashContainer, stronger: Permission
) -> None:
    """Allow a cashier to act on their own open till only (unless they hold ``stronger``)."""
    if principal.allows(stronger, register.site_id):
        return
    person = counts.person_of_user(session, principal.user_id)
    till = tills.open_session(session=session, register_id=register.id)
    if person is None or till is None or till.person_id != person:
        raise Forbidden("you can act only on your own till")


def may_count(session: Session, principal: Principal, container: CashContainer) -> None:
    """Allow counting with cash:count, or a cashier's own till; refuse the rest."""
    if principal.allows(Permission.CASH_COUNT, container.site_id):
        return
    if container.kind == "register":
        own_till(session, principal, container, Permission.CASH_COUNT)
        return
    raise Forbidden("counting this container needs the cash:count permission")


def pickup_of(session: Session, site_id: str, pickup_id: str) -> Pickup:
    """Return a pickup of this site (404 when it is unknown or elsewhere)."""
    row = pickups.get_pickup(session=session, pickup_id=pickup_id)
    if row.site_id != site_id:
        raise NotFound(f"no pickup {pickup_id!r} at site {site_id}")
    return row
