"""Retention: how long each record class is kept per state, legal holds, and the purge.

The policy of a class is the longest minimum any of the state's rules asks for, or the
site's own longer setting. The purge removes personal data past it (visits are deleted,
compliance records keep their dated facts but lose names, documents and notes) unless a
legal hold covers the class. The ledger carries ids only, so it is never touched and its
chain still verifies afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.compliance import service
from bastion.compliance.models import LegalHold
from bastion.compliance.packs import Pack
from bastion.compliance.policy import CLASS_OF_KIND, CLASSES, policy
from bastion.compliance.profile import Profile
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.people.models import Visit, VisitStatus


def active_holds(session: Session, site_id: str) -> list[LegalHold]:
    """Return the holds in force at a site."""
    return list(
        session.execute(
            select(LegalHold).where(LegalHold.site_id == site_id, LegalHold.released_at.is_(None))
        ).scalars()
    )


def place_hold(
    *,
    session: Session,
    site_id: str,
    record_class: str,
    reason: str,
    context: Context,
    now: datetime,
) -> LegalHold:
    """Stop purging a record class at a site (an investigation, a lawsuit)."""
    if record_class not in CLASSES:
        raise InvalidInput(f"unknown record class {record_class!r}; known: {', '.join(CLASSES)}")
    if len(reason.strip()) < 3:
        raise InvalidInput("give the reason for the hold")
    hold = LegalHold(
        id=new_id(),
        site_id=site_id,
        record_class=record_class,
        reason=reason.strip(),
        placed_at=now,
        placed_by=context.actor,
    )
    session.add(hold)
    service.ledger(
        session, site_id, "hold_placed", hold.id, context, now, record_class=record_class
    )
    return hold


def release_hold(
    *, session: Session, site_id: str, hold_id: str, context: Context, now: datetime
) -> LegalHold:
    """Release a hold; the next purge may remove what it kept."""
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.site_id != site_id:
        raise NotFound(f"no legal hold {hold_id!r} at site {site_id}")
    if hold.released_at is not None:
        raise Conflict("the hold was already released")
    hold.released_at, hold.released_by = now, context.actor
    service.ledger(session, site_id, "hold_released", hold.id, context, now)
    return hold


def purge(
    *,
    session: Session,
    site_id: str,
    pack: Pack,
    profile: Profile,
    context: Context,
    now: datetime,
) -> dict[str, int]:
    """Remove personal data past retention (outside legal holds); return counts per class."""
    rules = policy(pack, profile)
    held = {h.record_class for h in active_holds(session, site_id)}
    done: dict[str, int] = {}
    visits = rules["visitor_log"]
    if visits.days is not None and "visitor_log" not in held:
        floor = now - timedelta(days=visits.days)
        rows = session.execute(
            select(Visit).where(
                Visit.site_id == site_id,
                Visit.expected_at < floor,
                Visit.status != VisitStatus.ON_SITE.value,
            )
        ).scalars()
        count = 0
        for visit in rows:
            session.delete(visit)
            count += 1
        done["visitor_log"] = count
    for row in service.list_records(session, site_id):
        name = CLASS_OF_KIND.get(row.kind)
        if name is None or name in held or row.redacted_at is not None:
            continue
        days = rules[name].days
        if days is None or row.at >= now - timedelta(days=days):
            continue
        row.by_name = row.document = row.note = None
        row.redacted_at = now
        done[name] = done.get(name, 0) + 1
    session.flush()
    service.ledger(
        session, site_id, "purged", "*", context, now, **{k: str(v) for k, v in done.items()}
    )
    return done
