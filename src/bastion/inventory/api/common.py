"""Shared pieces of the inventory routes: guards by permission at the site, loaders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import InvalidInput
from bastion.hub import Hub
from bastion.inventory.imports import Result
from bastion.inventory.movements import Actor
from bastion.site import service as site_service
from bastion.site.schemas import Site

PREFIX = "/api/sites/{site_id}/inventory"
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.INVENTORY_READ, site=FromPath("site_id")))]
Handler = Annotated[
    Principal, Depends(Require(Permission.INVENTORY_HANDLE, site=FromPath("site_id")))
]
Manager = Annotated[
    Principal, Depends(Require(Permission.INVENTORY_MANAGE, site=FromPath("site_id")))
]
MAX_BODY = 64 * 1024 * 1024
PROBLEM = "application/problem+json"


def site_of(session: Session, site_id: str) -> Site:
    """Return the site model (404 when the site is unknown)."""
    return site_service.get_site(session=session, site_id=site_id)


def actor_of(session: Session, principal: Principal) -> Actor:
    """Return the acting person of a request (an API token has no cardholder)."""
    user = principal.user_id if principal.method == "session" else None
    return Actor.of_user(session, principal.context(), user)


async def body_of(request: Request) -> bytes:
    """Return an uploaded file (the raw request body), refusing empty or huge ones."""
    body = await request.body()
    if not body:
        raise InvalidInput("the request body is empty: send the file as the body")
    if len(body) > MAX_BODY:
        raise InvalidInput("the file is over 64 MB; send it in parts")
    return body


def import_reply(result: Result) -> JSONResponse:
    """Answer an import: 200 when applied or already seen, 422 (kept, not rolled back) when refused."""
    body = {
        "import_id": result.import_id,
        "status": result.status,
        "accepted": result.accepted,
        "message": result.message,
        "rejected": [
            {"record": r.record, "field": r.field, "message": r.message} for r in result.rejected
        ],
    }
    if result.status == "rejected":
        body |= {
            "type": "about:blank",
            "title": "File refused",
            "status": 422,
            "detail": result.message,
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM)
    return JSONResponse(body, status_code=200)
