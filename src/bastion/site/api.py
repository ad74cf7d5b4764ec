"""Site routes: list, read and import site models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import AnySite, FromBody, FromPath
from bastion.auth.permissions import Permission
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.site import service
from bastion.site.loader import load_site

router = APIRouter(tags=["sites"])


class SiteSummary(BaseModel):
    """A stored site at a glance."""

    id: str = Field(description="Site id.")
    name: str = Field(description="Display name.")
    revision: int = Field(description="Current revision.")
    sha256: str = Field(description="Digest of the current model.")
    imported_at: datetime = Field(description="When the revision was stored.")


@router.get("/api/sites", response_model=list[SiteSummary])
def list_sites(
    session: SessionDep,
    principal: Annotated[Principal, Depends(Require(Permission.SITE_READ, site=AnySite()))],
) -> list[SiteSummary]:
    """List the stored sites the caller may read."""
    rows = service.list_sites(session=session)
    return [
        SiteSummary(
            id=r.id, name=r.name, revision=r.revision, sha256=r.sha256, imported_at=r.imported_at
        )
        for r in principal.visible(Permission.SITE_READ, rows, site=lambda r: r.id)
    ]


@router.get("/api/sites/{site_id}")
def read_site(
    site_id: str,
    session: SessionDep,
    _: Annotated[Principal, Depends(Require(Permission.SITE_READ, site=FromPath("site_id")))],
) -> dict[str, Any]:
    """Return the full current model of a site (camera passwords blanked out)."""
    data = service.get_site(session=session, site_id=site_id).model_dump(mode="json", by_alias=True)
    for device in data.get("devices", []):
        for key in ("snapshot_url", "stream_url"):
            if device.get(key):
                device[key] = without_password(device[key])
    return data


def without_password(url: str) -> str:
    """Return a camera address with its password replaced: reading a site is not seeing cameras."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@router.put("/api/sites", response_model=SiteSummary)
def import_site(
    session: SessionDep,
    hub: Annotated[Hub, Depends(get_hub)],
    principal: Annotated[
        Principal, Depends(Require(Permission.SITE_WRITE, site=FromBody("site.id")))
    ],
    document: Annotated[str, Body(media_type="application/yaml", description="Site YAML.")],
) -> SiteSummary:
    """Validate and store a site model given as YAML."""
    site = load_site(document, source="request body")
    record = service.import_site(
        session=session,
        site=site,
        context=Context(actor=f"user:{principal.user_id}"),
        now=hub.clock.now(),
    )
    hub.extras.setdefault("sites", {})[site.site.id] = site
    return SiteSummary(
        id=record.id,
        name=record.name,
        revision=record.revision,
        sha256=record.sha256,
        imported_at=record.imported_at,
    )
