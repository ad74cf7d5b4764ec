"""Visitor management: pre-registration, walk-in check-in, watchlist, temporary credentials.

A visitor's identity document is checked (type, number format, expiry) and its number
stored encrypted, with a keyed hash for the watchlist. The areas asked for are read
against the site model: the vault is refused outright, restricted zones need explicit
approval. Check-in creates a visitor cardholder (the engine's escort rule applies to
visitors), a level limited to the areas and a credential limited to the visit's time
window. Check-out revokes it all. Keyword-only functions taking a session; none commits.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.cards import CardData, encode_card, parse_card
from bastion.access.engine import AccessEngine
from bastion.access.snapshot import LevelSpec
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_VISIT,
    EVENT_WATCHLIST,
    AlarmPayload,
    VisitPayload,
    WatchlistPayload,
    make_event,
)
from bastion.core.ports import CredentialHasher
from bastion.people import service as people_service
from bastion.people.models import (
    Person,
    PersonKind,
    PersonStatus,
    Visit,
    VisitStatus,
    WatchlistEntry,
)
from bastion.site.schemas import Layer, Site
from bastion.store import crypto
from bastion.store.ledger import stage

MAX_VISITORS_PER_HOST = 5
"""Colorado 3-205(B): at most five visitors per escort (the strictest state rule seen)."""
RETENTION_DAYS = 3 * 365 + 1
"""Visitor logs are kept three years (WA 314-55-083; CO keeps the current and last year)."""
MAX_VISIT = timedelta(hours=24)
ID_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "passport": (re.compile(r"^[A-Z0-9]{6,9}$"), "6–9 letters or digits"),
    "driver_licence": (re.compile(r"^[A-Z0-9-]{4,20}$"), "4–20 letters, digits or '-'"),
    "state_id": (re.compile(r"^[A-Z0-9-]{4,20}$"), "4–20 letters, digits or '-'"),
    "national_id": (re.compile(r"^[A-Z0-9]{5,20}$"), "5–20 letters or digits"),
}
LOG_FIELDS = (
    "visit_id",
    "site_id",
    "full_name",
    "company",
    "badge_number",
    "date",
    "arrival",
    "departure",
    "purpose",
    "host",
    "areas",
    "id_type",
    "escort_required",
    "status",
)
"""What the state visitor-log rules ask for: name, badge, date, arrival and departure
times, purpose, escort (WA 314-55-083, NV 453D.418, CO 3-205/3-905, MA 500.110(4))."""


@dataclass(frozen=True)
class IdentityDocument:
    """What the visitor showed: document type, number and expiry date."""

    type: str
    number: str
    expires_on: date

    def __repr__(self) -> str:
        return f"IdentityDocument(type={self.type!r}, expires_on={self.expires_on!r})"


def _key(value: str, purpose: str) -> str:
    return crypto.keyring().keyed_hash(value, purpose=purpose)


def id_number_key(number: str) -> str:
    """Return the keyed hash of a normalised document number (for the watchlist)."""
    return _key(_normalise_number(number), "visitor-id")


def _normalise_number(number: str) -> str:
    return "".join(number.split()).upper()


def check_document(document: IdentityDocument, *, today: date) -> str:
    """Return the normalised number; raise InvalidInput for a malformed or expired document."""
    spec = ID_FORMATS.get(document.type)
    if spec is None:
        raise InvalidInput(
            f"unknown identity document type {document.type!r}; use {', '.join(ID_FORMATS)}"
        )
    number = _normalise_number(document.number)
    pattern, shape = spec
    if not pattern.match(number):
        label = document.type.replace("_", " ")
        raise InvalidInput(f"malformed {label} number: expected {shape}")
    if document.expires_on < today:
        raise InvalidInput(
            f"the identity document expired on {document.expires_on.isoformat()}; "
            "ask for a current one"
        )
    return number


def check_areas(site: Site, areas: list[str], *, approved: bool) -> list[str]:
    """Return the areas, deduplicated; refuse the vault, hold restricted zones for approval."""
    unique = list(dict.fromkeys(a.strip() for a in areas if a.strip()))
    if not unique:
        raise InvalidInput("name at least one area the visitor needs")
    layers = {z.id: z for z in site.zones}
    for area in unique:
        zone = layers.get(area)
        if zone is None:
            raise InvalidInput(f"site {site.site.id!r} has no zone {area!r}")
        if zone.layer >= Layer.VAULT:
            raise Conflict(
                f"visitors are never admitted to {zone.name} ({area}, a vault); "
                "meet them outside it"
            )
        if zone.layer >= Layer.RESTRICTED and not approved:
            raise Conflict(
                f"{zone.name} ({area}) is a restricted area: a security manager must "
                "approve the visit (approve_restricted)"
            )
    return unique


def _visit_event(
    session: Session,
    visit: Visit,
    action: str,
    context: Context,
    now: datetime,
    detail: dict[str, str] | None = None,
) -> None:
    stage(
        session,
        make_event(
            EVENT_VISIT,
            VisitPayload(
                visit_id=visit.id,
                subject=visit.person_id,
                action=action,
                host_id=visit.host_id,
                detail=detail or {},
            ),
            context=context,
            time=now,
            site=visit.site_id,
        ),
    )


def _alarm(
    session: Session,
    *,
    site_id: str,
    alarm_type: str,
    priority: int,
    message: str,
    context: Context,
    now: datetime,
) -> None:
    stage(
        session,
        make_event(
            EVENT_ALARM_RAISED,
            AlarmPayload(alarm_type=alarm_type, priority=priority, message=message),
            context=context,
            time=now,
            site=site_id,
        ),
    )


# --- watchlist -----------------------------------------------------------------------------------


def add_watchlist(
    *,
    session: Session,
    name: str,
    id_number: str | None,
    reason: str,
    context: Context,
    now: datetime,
) -> WatchlistEntry:
    """Add someone to the watchlist; name and reason are encrypted, look-ups use keyed hashes."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a watchlist entry needs a name of 1–200 characters")
    if not reason.strip() or len(reason) > 500:
        raise InvalidInput("a watchlist entry needs a reason of 1–500 characters")
    entry = WatchlistEntry(
        id=new_id(),
        name=name,
        name_key=people_service.name_key(name),
        id_number_key=id_number_key(id_number) if id_number and id_number.strip() else None,
        reason=reason.strip(),
        created_at=now,
        created_by=context.actor,
    )
    session.add(entry)
    session.flush()
    stage(
        session,
        make_event(
            EVENT_WATCHLIST,
            WatchlistPayload(entry_id=entry.id, action="added"),
            context=context,
            time=now,
        ),
    )
    return entry


def remove_watchlist(*, session: Session, entry_id: str, context: Context, now: datetime) -> None:
    """Remove a watchlist entry."""
    entry = session.get(WatchlistEntry, entry_id)
    if entry is None:
        raise NotFound(f"no watchlist entry {entry_id!r}")
    session.delete(entry)
    session.flush()
    stage(
        session,
        make_event(
            EVENT_WATCHLIST,
            WatchlistPayload(entry_id=entry_id, action="removed"),
            context=context,
            time=now,
        ),
    )


def list_watchlist(*, session: Session) -> list[WatchlistEntry]:
    """Return the watchlist, newest first."""
    stmt = select(WatchlistEntry).order_by(WatchlistEntry.created_at.desc())
    return list(session.execute(stmt).scalars())


def watchlist_match(
    session: Session, *, name_key: str, number_key: str | None
) -> WatchlistEntry | None:
    """Return the first entry matching the name or the document number."""
    clauses = [WatchlistEntry.name_key == name_key]
    if number_key is not None:
        clauses.append(WatchlistEntry.id_number_key == number_key)
    stmt = select(WatchlistEntry).where(or_(*clauses))
    return session.execute(stmt.limit(1)).scalars().first()


# --- visits --------------------------------------------------------------------------------------


def get_visit(*, session: Session, visit_id: str) -> Visit:
    """Return a visit or raise NotFound."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id!r}")
    return visit


def list_visits(
    *,
    session: Session,
    site_ids: frozenset[str] | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Visit]:
    """Return visits, newest first (of some sites, in some status)."""
    stmt = select(Visit).order_by(Visit.expected_at.desc(), Visit.id.desc()).limit(limit)
    if site_ids is not None:
        stmt = stmt.where(Visit.site_id.in_(sorted(site_ids)))
    if status is not None:
        stmt = stmt.where(Visit.status == status)
    return list(session.execute(stmt).scalars())


def _host(session: Session, host_id: str, site_id: str) -> Person:
    host = session.get(Person, host_id)
    if host is None:
        raise NotFound(f"no host {host_id!r}")
    if (
        host.kind == PersonKind.VISITOR
        or host.status != PersonStatus.ACTIVE
        or host.site_id not in (None, site_id)
    ):
        raise InvalidInput("the host must be an active employee or contractor of this site")
    return host


def _refuse(
    session: Session,
    visit: Visit,
    entry: WatchlistEntry,
    context: Context,
    now: datetime,
) -> Visit:
    visit.status = VisitStatus.REFUSED.value
    visit.refused_reason = "watchlist match"
    session.flush()
    _visit_event(session, visit, "refused", context, now, {"why": "watchlist", "entry": entry.id})
    _alarm(
        session,
        site_id=visit.site_id,
        alarm_type="visitor_watchlist",
        priority=2,
        message=f"A visitor matching watchlist entry {entry.id} is at reception (visit {visit.id})",
        context=context,
        now=now,
    )
    return visit


def register(
    *,
    session: Session,
    site: Site,
    name: str,
    company: str | None,
    purpose: str,
    host_id: str,
    areas: list[str],
    expected_at: datetime,
    until: datetime,
    document: IdentityDocument | None,
    approved_by: str | None,
    walk_in: bool,
    context: Context,
    now: datetime,
) -> Visit:
    """Record a visit (pre-registration by a host, or the first step of a walk-in).

    A watchlist match is recorded as a refused visit and raises an alarm; the caller
    tells the visitor apart from a normal registration by the status.
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a visitor needs a name of 1–200 characters")
    purpose = purpose.strip()
    if not purpose or len(purpose) > 500:
        raise InvalidInput("give the purpose of the visit (1–500 characters)")
    if company is not None and len(company) > 200:
        raise InvalidInput("a company name is at most 200 characters")
    if expected_at.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("give visit times with a time zone")
    if until <= expected_at:
        raise InvalidInput("a visit must end after it starts")
    if until - expected_at > MAX_VISIT:
        raise InvalidInput("a visit lasts at most 24 hours; register another for the next day")
    if until <= now:
        raise InvalidInput("this visit window is already over")
    host = _host(session, host_id, site.site.id)
    unique = check_areas(site, areas, approved=approved_by is not None)
    number = None
    if document is not None:
        number = check_document(document, today=max(now, expected_at).date())
    visit = Visit(
        id=new_id(),
        site_id=site.site.id,
        status=VisitStatus.EXPECTED.value,
        name=name,
        name_key=people_service.name_key(name),
        company=company.strip() if company else None,
        purpose=purpose,
        host_id=host.id,
        areas=unique,
        approved_by=approved_by,
        walk_in=walk_in,
        expected_at=expected_at,
        until=until,
        escort_required=True,
        created_at=now,
        created_by=context.actor,
    )
    if document is not None and number is not None:
        visit.id_type = document.type
        visit.id_number = number
        visit.id_number_key = id_number_key(number)
        visit.id_expires_on = document.expires_on
    session.add(visit)
    session.flush()
    entry = watchlist_match(session, name_key=visit.name_key, number_key=visit.id_number_key)
    if entry is not None:
        return _refuse(session, visit, entry, context, now)
    detail = {"areas": ",".join(unique), "walk_in": str(walk_in).lower()}
    if approved_by is not None:
        detail["approved_by"] = approved_by
    _visit_event(session, visit, "pre_registered", context, now, detail)
    return visit


def _badge_card(card: str | None) -> tuple[CardData, str]:
    if card is not None:
        data = parse_card(card)
        return data, card.rsplit(":", 1)[-1][-8:]
    badge = f"V{secrets.randbelow(10**8):08d}"
    return encode_card("ascii", number=f"visitor-{badge}"), badge


def on_site_count(session: Session, host_id: str) -> int:
    """Return how many visitors a host has on site now."""
    return int(
        session.scalar(
            select(func.count(Visit.id)).where(
                Visit.host_id == host_id, Visit.status == VisitStatus.ON_SITE.value
            )
        )
        or 0
    )


def check_in(
    *,
    session: Session,
    visit_id: str,
    document: IdentityDocument | None,
    card: str | None,
    hasher: CredentialHasher,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
    max_per_host: int = MAX_VISITORS_PER_HOST,
) -> Visit:
    """Admit an expected visitor: ID checked, watchlist checked, temporary credential issued.

    The credential opens only the visit's areas, only until the visit ends, and the
    cardholder is a visitor, so doors that require an escort need the host's badge.
    """
    visit = get_visit(session=session, visit_id=visit_id)
    if visit.status != VisitStatus.EXPECTED:
        raise Conflict(f"visit {visit_id!r} is {visit.status.replace('_', ' ')}; cannot check in")
    if now >= visit.until:
        raise Conflict(f"visit {visit_id!r} ended at {visit.until.isoformat()}; register again")
    if document is not None:
        number = check_document(document, today=now.date())
        visit.id_type = document.type
        visit.id_number = number
        visit.id_number_key = id_number_key(number)
        visit.id_expires_on = document.expires_on
    elif visit.id_type is None:
        raise InvalidInput("check-in needs the visitor's identity document")
    elif visit.id_expires_on is not None and visit.id_expires_on < now.date():
        raise InvalidInput(
            f"the identity document expired on {visit.id_expires_on.isoformat()}; "
            "ask for a current one"
        )
    entry = watchlist_match(session, name_key=visit.name_key, number_key=visit.id_number_key)
    if entry is not None:
        return _refuse(session, visit, entry, context, now)
    host = _host(session, visit.host_id, visit.site_id)
    if on_site_count(session, host.id) >= max_per_host:
        raise Conflict(
            f"the host already escorts {max_per_host} visitors, the most allowed; "
            "ask another employee to host"
        )
    data, badge = _badge_card(card)
    person = access_service.create_person(
        session=session,
        name=visit.name,
        kind=PersonKind.VISITOR.value,
        role="visitor",
        site_id=visit.site_id,
        context=context,
        now=now,
        engine=engine,
    )
    level_id = f"visit-{visit.id.lower()}"
    access_service.put_level(
        session=session,
        spec=LevelSpec(id=level_id, site_id=visit.site_id, zones=tuple(visit.areas)),
        name=f"Visit {visit.id}",
        context=context,
        now=now,
        engine=engine,
    )
    access_service.assign_level(
        session=session,
        person_id=person.id,
        level_id=level_id,
        context=context,
        now=now,
        engine=engine,
    )
    credential = access_service.issue_credential(
        session=session,
        person_id=person.id,
        kind="card",
        hasher=hasher,
        card=data,
        activates_at=now,
        expires_at=visit.until,
        context=context,
        now=now,
        engine=engine,
    )
    visit.person_id = person.id
    visit.level_id = level_id
    visit.credential_id = credential.id
    visit.badge_number = badge
    visit.status = VisitStatus.ON_SITE.value
    visit.checked_in_at = now
    session.flush()
    _visit_event(
        session,
        visit,
        "checked_in",
        context,
        now,
        {"areas": ",".join(visit.areas), "badge": badge, "until": visit.until.isoformat()},
    )
    return visit


def check_out(
    *,
    session: Session,
    visit_id: str,
    badge_returned: bool,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> Visit:
    """Let a visitor out: the badge comes back and the credential and level end at once."""
    visit = get_visit(session=session, visit_id=visit_id)
    if visit.status == VisitStatus.EXPECTED:
        raise Conflict(f"visit {visit_id!r} was never checked in; cancel it instead")
    if visit.status == VisitStatus.CHECKED_OUT:
        raise Conflict(f"visit {visit_id!r} was already checked out")
    if visit.status != VisitStatus.ON_SITE:
        raise Conflict(f"visit {visit_id!r} is {visit.status}; there is nothing to check out")
    if visit.credential_id is not None:
        access_service.revoke_credential(
            session=session,
            credential_id=visit.credential_id,
            reason="visit ended",
            context=context,
            now=now,
            engine=engine,
        )
    if visit.person_id is not None:
        access_service.set_person_status(
            session=session,
            person_id=visit.person_id,
            status=PersonStatus.OFFBOARDED.value,
            reason="visit ended",
            context=context,
            now=now,
            engine=engine,
        )
    if visit.level_id is not None:
        with contextlib.suppress(NotFound):
            access_service.delete_level(
                session=session, level_id=visit.level_id, context=context, now=now, engine=engine
            )
    visit.status = VisitStatus.CHECKED_OUT.value
    visit.checked_out_at = now
    visit.badge_returned = badge_returned
    session.flush()
    _visit_event(
        session, visit, "checked_out", context, now, {"badge_returned": str(badge_returned).lower()}
    )
    return visit


def cancel(*, session: Session, visit_id: str, context: Context, now: datetime) -> Visit:
    """Cancel an expected visit."""
    visit = get_visit(session=session, visit_id=visit_id)
    if visit.status != VisitStatus.EXPECTED:
        raise Conflict(f"only an expected visit can be cancelled; this one is {visit.status}")
    visit.status = VisitStatus.CANCELLED.value
    session.flush()
    _visit_event(session, visit, "cancelled", context, now)
    return visit


def raise_overstays(*, session: Session, now: datetime, context: Context) -> list[str]:
    """Raise one alarm for each visitor still on site after their visit ended."""
    rows = session.execute(
        select(Visit).where(
            Visit.status == VisitStatus.ON_SITE.value,
            Visit.until < now,
            Visit.overstay_alarmed_at.is_(None),
        )
    ).scalars()
    raised = []
    for visit in list(rows):
        visit.overstay_alarmed_at = now
        minutes = int((now - visit.until).total_seconds() // 60)
        _visit_event(session, visit, "overstay", context, now, {"minutes": str(minutes)})
        _alarm(
            session,
            site_id=visit.site_id,
            alarm_type="visitor_overstay",
            priority=3,
            message=f"Visitor of visit {visit.id} is still on site {minutes} min after the visit ended",
            context=context,
            now=now,
        )
        raised.append(visit.id)
    session.flush()
    return raised


@dataclass(frozen=True)
class VisitorOnSite:
    """A visitor on site now, for mustering and the console."""

    visit_id: str
    person_id: str | None
    name: str
    host_id: str
    host: str
    zone: str | None
    company: str | None
    checked_in_at: datetime | None
    until: datetime


def visitors_on_site(
    session: Session, site_id: str, *, engine: AccessEngine | None = None
) -> list[VisitorOnSite]:
    """Return the visitors checked in at ``site_id``: name, last known zone, host."""
    rows = session.execute(
        select(Visit)
        .where(Visit.site_id == site_id, Visit.status == VisitStatus.ON_SITE.value)
        .order_by(Visit.checked_in_at, Visit.id)
    ).scalars()
    found = []
    for visit in rows:
        host = session.get(Person, visit.host_id)
        zone = engine.location(visit.person_id) if engine and visit.person_id else None
        found.append(
            VisitorOnSite(
                visit_id=visit.id,
                person_id=visit.person_id,
                name=visit.name,
                host_id=visit.host_id,
                host=host.name if host is not None else visit.host_id,
                zone=zone,
                company=visit.company,
                checked_in_at=visit.checked_in_at,
                until=visit.until,
            )
        )
    return found


def _cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)


def export_log(
    *,
    session: Session,
    site_ids: frozenset[str] | None,
    since: datetime | None,
    until: datetime | None,
    context: Context,
    now: datetime,
    retention_days: int = RETENTION_DAYS,
) -> str:
    """Return the visitor log as CSV with the fields state rules ask for; ledger the export.

    Only visits within the retention period are exported; document numbers never are.
    """
    floor = _cutoff(now, retention_days)
    start = max(since, floor) if since is not None else floor
    stmt = (
        select(Visit)
        .where(
            Visit.expected_at >= start,
            Visit.status.in_([VisitStatus.ON_SITE.value, VisitStatus.CHECKED_OUT.value]),
        )
        .order_by(Visit.checked_in_at, Visit.id)
    )
    if until is not None:
        stmt = stmt.where(Visit.expected_at < until)
    if site_ids is not None:
        stmt = stmt.where(Visit.site_id.in_(sorted(site_ids)))
    visits = list(session.execute(stmt).scalars())
    hosts = {
        p.id: p.name
        for p in session.execute(
            select(Person).where(Person.id.in_(sorted({v.host_id for v in visits})))
        ).scalars()
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOG_FIELDS)
    for v in visits:
        arrival = v.checked_in_at
        writer.writerow(
            [
                v.id,
                v.site_id,
                _cell(v.name),
                _cell(v.company or ""),
                v.badge_number or "",
                (arrival or v.expected_at).date().isoformat(),
                arrival.isoformat() if arrival else "",
                v.checked_out_at.isoformat() if v.checked_out_at else "",
                _cell(v.purpose),
                _cell(hosts.get(v.host_id, v.host_id)),
                " ".join(v.areas),
                v.id_type or "",
                "yes" if v.escort_required else "no",
                v.status,
            ]
        )
    stage(
        session,
        make_event(
            EVENT_VISIT,
            VisitPayload(
                visit_id="*",
                action="exported",
                detail={"rows": str(len(visits)), "since": start.isoformat()},
            ),
            context=context,
            time=now,
        ),
    )
    return out.getvalue()


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def purge_expired(
    *, session: Session, now: datetime, context: Context, retention_days: int = RETENTION_DAYS
) -> int:
    """Delete visits older than the retention period (finished ones only); ledger the count."""
    floor = _cutoff(now, retention_days)
    rows = list(
        session.execute(
            select(Visit).where(
                Visit.expected_at < floor,
                Visit.status != VisitStatus.ON_SITE.value,
            )
        ).scalars()
    )
    for visit in rows:
        session.delete(visit)
    session.flush()
    if rows:
        stage(
            session,
            make_event(
                EVENT_VISIT,
                VisitPayload(
                    visit_id="*",
                    action="purged",
                    detail={"rows": str(len(rows)), "before": floor.isoformat()},
                ),
                context=context,
                time=now,
            ),
        )
    return len(rows)
