"""Store and retrieve site models; every import is a ledger event."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context
from bastion.core.errors import NotFound
from bastion.core.events import EVENT_SITE_IMPORTED, SiteImportedPayload, canonical_json, make_event
from bastion.site.models import SiteRecord, SiteRevision
from bastion.site.schemas import Site
from bastion.store.ledger import stage


def site_digest(site: Site) -> str:
    """Return the SHA-256 of the site's canonical JSON."""
    data = site.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def import_site(*, session: Session, site: Site, context: Context, now: datetime) -> SiteRecord:
    """Store ``site`` as a new revision (unchanged models keep their revision)."""
    digest = site_digest(site)
    data = site.model_dump(mode="json", by_alias=True)
    record = session.get(SiteRecord, site.site.id)
    if record is not None and record.sha256 == digest:
        return record
    revision = 1 if record is None else record.revision + 1
    if record is None:
        record = SiteRecord(id=site.site.id)
        session.add(record)
    record.name = site.site.name
    record.revision = revision
    record.model = data
    record.sha256 = digest
    record.imported_at = now
    record.imported_by = context.actor
    session.add(
        SiteRevision(
            site_id=site.site.id,
            revision=revision,
            model=data,
            sha256=digest,
            imported_at=now,
            imported_by=context.actor,
        )
    )
    stage(
        session,
        make_event(
            EVENT_SITE_IMPORTED,
            SiteImportedPayload(site_id=site.site.id, revision=revision, sha256=digest),
            context=context,
            time=now,
            site=site.site.id,
        ),
    )
    return record


def get_site(*, session: Session, site_id: str) -> Site:
    """Return the current model of ``site_id``."""
    record = session.get(SiteRecord, site_id)
    if record is None:
        raise NotFound(f"no site {site_id!r}")
    return Site.model_validate(record.model)


def list_sites(*, session: Session) -> list[SiteRecord]:
    """Return every stored site, by id."""
    return list(session.execute(select(SiteRecord).order_by(SiteRecord.id)).scalars())


def load_all(*, session: Session) -> dict[str, Site]:
    """Return every stored site model keyed by id."""
    return {r.id: Site.model_validate(r.model) for r in list_sites(session=session)}
