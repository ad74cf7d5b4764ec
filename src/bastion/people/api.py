"""Employee lifecycle, offboarding, access-review and visitor routes (thin; logic in services).

HR (``people:manage``) hires and offboards; granting levels, mapping roles to levels,
confirming access and the watchlist need ``access:manage``; reception acts on visits
with ``visitors:manage``; reads need ``people:read`` or ``access:read``. The existing
``/api/people`` routes live in :mod:`bastion.access.api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.resources import LEVEL, OFFBOARDING, PERSON, VISIT, WATCHLIST_ENTRY
from bastion.api.scope import (
    AnySite,
    EverySite,
    FromBody,
    FromQuery,
    FromResource,
    Global,
    Missing,
)
from bastion.auth.permissions import Permission
from bastion.core.errors import Forbidden, InvalidInput
from bastion.core.inputs import Instant
from bastion.hub import Hub
from bastion.people import employees, notices, offboarding, visitors
from bastion.people import service as people_service
from bastion.people.badge import badge_pdf
from bastion.people.models import Offboarding, Person, Visit, VisitStatus
from bastion.people.schemas import (
    AccountLink,
    BackgroundCheckWrite,
    CheckIn,
    CheckOut,
    DocumentIn,
    EmployeeCreate,
    EmployeeRead,
    ExpiringRead,
    LevelGrant,
    LinksWrite,
    OffboardingCreate,
    OffboardingRead,
    OffboardingReportRead,
    OnSiteRead,
    ReviewConfirm,
    ReviewRead,
    RoleAppliedRead,
    RoleApply,
    RoleLevelsWrite,
    SecretRead,
    SecretRotated,
    SourceRead,
    TrainingCreate,
    TrainingRead,
    VisitCreate,
    VisitRead,
    WalkIn,
    WatchlistCreate,
    WatchlistRead,
)
from bastion.site import service as site_service

router = APIRouter(tags=["people"])
HubDep = Annotated[Hub, Depends(get_hub)]
PROBLEM = "application/problem+json"
ANY_SITE = FromQuery("site_id", missing=Missing.ANY_SITE)
THE_PERSON = FromResource("person_id", PERSON)
PERSON_IN_BODY = FromResource("person_id", PERSON, where="body")
LEVEL_IN_BODY = FromResource("level_id", LEVEL, where="body")
THE_OFFBOARDING = FromResource("offboarding_id", OFFBOARDING)
THE_VISIT = FromResource("visit_id", VISIT)

PeopleLister = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=AnySite()))]
PeopleReader = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=THE_PERSON))]
PersonManager = Annotated[Principal, Depends(Require(Permission.PEOPLE_MANAGE, site=THE_PERSON))]
PersonAccess = Annotated[Principal, Depends(Require(Permission.ACCESS_MANAGE, site=THE_PERSON))]
OffboardingReader = Annotated[
    Principal, Depends(Require(Permission.PEOPLE_READ, site=THE_OFFBOARDING))
]
VisitReader = Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=THE_VISIT))]
Registration = Annotated[
    Principal, Depends(Require(Permission.VISITORS_MANAGE, site=FromBody("site_id")))
]
# The watchlist is shared: any site's access manager may read and add (adding only
# protects); removing an entry lowers protection everywhere (a grant for every site).
WatchlistKeeper = Annotated[Principal, Depends(Require(Permission.ACCESS_MANAGE, site=Global()))]
Reception = Annotated[Principal, Depends(Require(Permission.VISITORS_MANAGE, site=THE_VISIT))]


# --- shapes --------------------------------------------------------------------------------------


def employee_read(session: Session, person: Person, now: datetime) -> EmployeeRead:
    """Return the API shape of an employee (never the background-check reference)."""
    return EmployeeRead(
        id=person.id,
        name=person.name,
        kind=person.kind,
        role=person.role,
        status=person.status,
        site_id=person.site_id,
        manager_id=person.manager_id,
        contact_id=person.contact_id,
        user_id=person.user_id,
        background_check=person.background_check,
        background_checked_on=person.background_checked_on,
        background_expires_on=person.background_expires_on,
        background_current=employees.background_current(person, now.date()),
        levels=employees.held_levels(session, person.id),
        training=[
            TrainingRead(
                course=t.course,
                completed_at=t.completed_at,
                expires_at=t.expires_at,
                evidence=t.evidence,
                state=t.state,
            )
            for t in employees.training_states(person, now)
        ],
    )


def offboarding_read(row: Offboarding) -> OffboardingRead:
    """Return the API shape of an offboarding and its checklist."""
    return OffboardingRead(
        id=row.id,
        person_id=row.person_id,
        reason=row.reason,
        summary=dict(row.summary),
        started_at=row.started_at,
        started_by=row.started_by,
        completed_at=row.completed_at,
        secrets=[
            SecretRead(
                id=s.id,
                kind=s.kind,
                label=s.label,
                rotated_at=s.rotated_at,
                rotated_by=s.rotated_by,
                note=s.note,
            )
            for s in row.secrets
        ],
    )


def report_read(report: offboarding.OffboardingReport) -> OffboardingReportRead:
    """Return the API shape of an offboarding report."""
    return OffboardingReportRead(
        offboarding_id=report.offboarding_id,
        person_id=report.person_id,
        person_status=report.person_status,
        checked_at=report.checked_at,
        access_clear=report.access_clear,
        complete=report.complete,
        sources=[
            SourceRead(name=s.name, clear=s.clear, remaining=s.remaining) for s in report.sources
        ],
        secrets_outstanding=report.secrets_outstanding,
    )


def visit_read(visit: Visit) -> VisitRead:
    """Return the API shape of a visit (never the document number)."""
    return VisitRead(
        id=visit.id,
        site_id=visit.site_id,
        status=visit.status,
        name=visit.name,
        company=visit.company,
        purpose=visit.purpose,
        host_id=visit.host_id,
        areas=list(visit.areas),
        approved_by=visit.approved_by,
        walk_in=visit.walk_in,
        expected_at=visit.expected_at,
        until=visit.until,
        id_type=visit.id_type,
        id_expires_on=visit.id_expires_on,
        person_id=visit.person_id,
        credential_id=visit.credential_id,
        badge_number=visit.badge_number,
        escort_required=visit.escort_required,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        badge_returned=visit.badge_returned,
        refused_reason=visit.refused_reason,
    )


def refused(visit: Visit) -> JSONResponse:
    """Return the 409 problem for a visit refused by the watchlist (the refusal is kept)."""
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "the visitor matches the watchlist: do not admit them; security was alerted",
        "visit_id": visit.id,
    }
    return JSONResponse(body, status_code=409, media_type=PROBLEM)


def document_of(data: DocumentIn | None) -> visitors.IdentityDocument | None:
    """Return the service's document from the request's."""
    if data is None:
        return None
    return visitors.IdentityDocument(type=data.type, number=data.number, expires_on=data.expires_on)


# --- employees -----------------------------------------------------------------------------------


@router.get("/api/employees", response_model=list[EmployeeRead])
def list_employees(
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=ANY_SITE))],
    site_id: str | None = None,
) -> list[EmployeeRead]:
    """List employees and contractors with their hiring-gate and training state."""
    now = hub.clock.now()
    rows = employees.list_staff(session=session, site_id=site_id)
    return [employee_read(session, p, now) for p in principal.visible(Permission.PEOPLE_READ, rows)]


@router.post("/api/employees", response_model=EmployeeRead, status_code=201)
def hire(
    body: EmployeeCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.PEOPLE_MANAGE, site=FromBody("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
) -> EmployeeRead:
    """Enrol an employee or contractor; a namesake already enrolled is a 409."""
    person = employees.hire(
        session=session,
        name=body.name,
        kind=body.kind,
        role=body.role,
        site_id=body.site_id,
        manager_id=body.manager_id,
        allow_duplicate=body.allow_duplicate,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return employee_read(session, person, hub.clock.now())


@router.get("/api/employees/training/expiring", response_model=list[ExpiringRead])
def expiring(
    session: SessionDep,
    hub: HubDep,
    principal: PeopleLister,
    days: Annotated[int, Query(ge=1, le=365)] = employees.WARN_DAYS,
) -> list[ExpiringRead]:
    """List training of the caller's sites' people that expires within ``days``."""
    rows = principal.visible(
        Permission.PEOPLE_READ,
        employees.expiring_training(
            session=session, now=hub.clock.now(), days=days, unwarned_only=False
        ),
        site=lambda row: row[0].site_id,
    )
    return [
        ExpiringRead(
            person_id=p.id,
            name=p.name,
            course=r.course,
            expires_at=r.expires_at,
            warned_at=r.warned_at,
        )
        for p, r in rows
    ]


@router.get("/api/employees/roles", response_model=dict[str, list[str]])
def list_role_levels(
    session: SessionDep,
    principal: Annotated[Principal, Depends(Require(Permission.ACCESS_READ, site=AnySite()))],
) -> dict[str, list[str]]:
    """Return each role's access levels (those of the caller's sites)."""
    sites = {level.id: level.site_id for level in access_service.list_levels(session=session)}
    return {
        role: kept
        for role, levels in employees.role_levels(session=session).items()
        if (kept := principal.visible(Permission.ACCESS_READ, levels, site=sites.get))
    }


@router.put("/api/employees/roles/{role}", response_model=list[str])
def put_role_levels(
    role: str,
    body: RoleLevelsWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ACCESS_MANAGE, site=EverySite()))],
) -> list[str]:
    """Set the levels a role needs (least privilege); roles span sites, so every site."""
    return employees.set_role_levels(
        session=session,
        role=role,
        level_ids=body.levels,
        context=principal.context(),
        now=hub.clock.now(),
    )


@router.get("/api/employees/{person_id}", response_model=EmployeeRead)
def read_employee(
    person_id: str, session: SessionDep, hub: HubDep, _: PeopleReader
) -> EmployeeRead:
    """Return one employee or contractor."""
    person = employees.get_staff(session=session, person_id=person_id)
    return employee_read(session, person, hub.clock.now())


@router.put("/api/employees/{person_id}/background-check", response_model=EmployeeRead)
def background_check(
    person_id: str,
    body: BackgroundCheckWrite,
    session: SessionDep,
    hub: HubDep,
    principal: PersonManager,
) -> EmployeeRead:
    """Record a background-check result (date, encrypted reference, expiry)."""
    person = employees.record_background_check(
        session=session,
        person_id=person_id,
        status=body.status,
        checked_on=body.checked_on,
        reference=body.reference,
        expires_on=body.expires_on,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return employee_read(session, person, hub.clock.now())


@router.post("/api/employees/{person_id}/training", response_model=EmployeeRead, status_code=201)
def add_training(
    person_id: str, body: TrainingCreate, session: SessionDep, hub: HubDep, principal: PersonManager
) -> EmployeeRead:
    """Record a completed course with its evidence file reference."""
    record = employees.add_training(
        session=session,
        person_id=person_id,
        course=body.course,
        completed_at=body.completed_at,
        expires_at=body.expires_at,
        evidence=body.evidence,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return employee_read(session, record.person, hub.clock.now())


@router.put("/api/employees/{person_id}/links", response_model=EmployeeRead)
def put_links(
    person_id: str, body: LinksWrite, session: SessionDep, hub: HubDep, principal: PersonManager
) -> EmployeeRead:
    """Set a person's manager and notification contact."""
    changes: dict[str, Any] = {}
    if body.manager_id is not None or body.clear_manager:
        changes["manager_id"] = None if body.clear_manager else body.manager_id
    if body.contact_id is not None or body.clear_contact:
        changes["contact_id"] = None if body.clear_contact else body.contact_id
    if not changes:
        raise InvalidInput("give manager_id or contact_id (or clear one)")
    person = employees.link(
        session=session,
        person_id=person_id,
        context=principal.context(),
        now=hub.clock.now(),
        **changes,
    )
    return employee_read(session, person, hub.clock.now())


@router.put("/api/employees/{person_id}/account", response_model=EmployeeRead)
def put_account(
    person_id: str,
    body: AccountLink,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.USERS_MANAGE, site=THE_PERSON))],
) -> EmployeeRead:
    """Link the person's operator account: offboarding will end its sessions and tokens."""
    person = employees.link(
        session=session,
        person_id=person_id,
        user_id=body.user_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return employee_read(session, person, hub.clock.now())


@router.post("/api/employees/{person_id}/levels", response_model=EmployeeRead)
def grant_level(
    person_id: str,
    body: LevelGrant,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.ACCESS_MANAGE, site=(THE_PERSON, LEVEL_IN_BODY)))
    ],
) -> EmployeeRead:
    """Give a level through the hiring gate: restricted levels need a cleared check."""
    employees.grant_level(
        session=session,
        person_id=person_id,
        level_id=body.level_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    person = employees.get_staff(session=session, person_id=person_id)
    return employee_read(session, person, hub.clock.now())


@router.post("/api/employees/{person_id}/apply-role", response_model=RoleAppliedRead)
def apply_role(
    person_id: str, body: RoleApply, session: SessionDep, hub: HubDep, principal: PersonAccess
) -> RoleAppliedRead:
    """Grant the role's levels through the gate; report (or remove) levels beyond it."""
    result = employees.apply_role(
        session=session,
        person_id=person_id,
        remove_excess=body.remove_excess,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return RoleAppliedRead(
        granted=result.granted, removed=result.removed, excess=result.excess, blocked=result.blocked
    )


# --- access review -------------------------------------------------------------------------------


@router.get("/api/access-review", response_model=list[ReviewRead])
def access_review(
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ACCESS_READ, site=ANY_SITE))],
    site_id: str | None = None,
    due_only: bool = False,
) -> list[ReviewRead]:
    """Who holds which level, when it was last confirmed, and what is due for review."""
    rows = employees.access_review(session=session, now=hub.clock.now(), site_id=site_id)
    return [
        ReviewRead(**r.__dict__)
        for r in principal.visible(Permission.ACCESS_READ, rows)
        if r.due or not due_only
    ]


@router.post("/api/access-review/confirm", response_model=ReviewRead)
def confirm_access(
    body: ReviewConfirm,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.ACCESS_MANAGE, site=(PERSON_IN_BODY, LEVEL_IN_BODY))),
    ],
) -> ReviewRead:
    """Confirm that a person still needs a level."""
    employees.confirm_access(
        session=session,
        person_id=body.person_id,
        level_id=body.level_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    rows = employees.access_review(session=session, now=hub.clock.now())
    row = next(r for r in rows if (r.person_id, r.level_id) == (body.person_id, body.level_id))
    return ReviewRead(**row.__dict__)


# --- offboarding ---------------------------------------------------------------------------------


@router.post("/api/offboarding", response_model=OffboardingRead, status_code=201)
def offboard(
    body: OffboardingCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.PEOPLE_MANAGE, site=PERSON_IN_BODY))
    ],
) -> OffboardingRead:
    """Offboard in one action: credentials, levels, sessions, tokens, call trees, secrets."""
    row = offboarding.offboard(
        session=session,
        person_id=body.person_id,
        reason=body.reason,
        secrets=None
        if body.secrets is None
        else [offboarding.SecretItem(s.kind, s.label) for s in body.secrets],
        clock=hub.clock,
        context=principal.context(),
        engine=engine_of(hub),
    )
    return offboarding_read(row)


@router.get("/api/offboarding", response_model=list[OffboardingRead])
def list_offboardings(
    session: SessionDep, principal: PeopleLister, open_only: bool = False
) -> list[OffboardingRead]:
    """List the offboardings of the caller's sites' people, newest first."""
    rows = offboarding.list_offboardings(session=session, open_only=open_only)
    homes = people_service.home_sites(session=session, person_ids=(r.person_id for r in rows))
    kept = principal.visible(Permission.PEOPLE_READ, rows, site=lambda r: homes.get(r.person_id))
    return [offboarding_read(r) for r in kept]


@router.get("/api/offboarding/{offboarding_id}", response_model=OffboardingRead)
def read_offboarding(
    offboarding_id: str, session: SessionDep, _: OffboardingReader
) -> OffboardingRead:
    """Return one offboarding and its checklist."""
    return offboarding_read(
        offboarding.get_offboarding(session=session, offboarding_id=offboarding_id)
    )


@router.get("/api/offboarding/{offboarding_id}/report", response_model=OffboardingReportRead)
def offboarding_report(
    offboarding_id: str, session: SessionDep, hub: HubDep, _: OffboardingReader
) -> OffboardingReportRead:
    """Query every source of access afresh and list what of the leaver's access remains."""
    return report_read(
        offboarding.report(
            session=session,
            offboarding_id=offboarding_id,
            now=hub.clock.now(),
            engine=engine_of(hub),
        )
    )


@router.post(
    "/api/offboarding/{offboarding_id}/secrets/{item_id}/rotated", response_model=OffboardingRead
)
def secret_rotated(
    offboarding_id: str,
    item_id: int,
    body: SecretRotated,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal, Depends(Require(Permission.ACCESS_MANAGE, site=THE_OFFBOARDING))
    ],
) -> OffboardingRead:
    """Mark a shared secret changed; the last one completes the checklist."""
    row = offboarding.mark_rotated(
        session=session,
        offboarding_id=offboarding_id,
        item_id=item_id,
        note=body.note,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return offboarding_read(row)


# --- visitors ------------------------------------------------------------------------------------


def _register(
    body: VisitCreate, session: Session, hub: Hub, principal: Principal, *, walk_in: bool
) -> Visit:
    site = site_service.get_site(session=session, site_id=body.site_id)
    approved_by = None
    if body.approve_restricted:
        if not principal.allows(Permission.ACCESS_MANAGE, body.site_id):
            raise Forbidden("approving restricted areas needs access:manage at this site")
        approved_by = principal.actor
    now = hub.clock.now()
    return visitors.register(
        session=session,
        site=site,
        name=body.name,
        company=body.company,
        purpose=body.purpose,
        host_id=body.host_id,
        areas=body.areas,
        expected_at=body.expected_at or now,
        until=body.until,
        document=document_of(body.document),
        approved_by=approved_by,
        walk_in=walk_in,
        context=principal.context(),
        now=now,
    )


def _answer(
    visit: Visit, session: Session, hub: Hub, principal: Principal, tasks: BackgroundTasks
) -> Any:
    """Answer for a visit just registered or checked in: its refusal, else tell the host."""
    if visit.status == VisitStatus.REFUSED:
        return refused(visit)
    notify_host(session, hub, visit, tasks, principal)
    return visit_read(visit)


def _check_in(
    visit_id: str,
    document: visitors.IdentityDocument | None,
    card: str | None,
    session: Session,
    hub: Hub,
    principal: Principal,
    tasks: BackgroundTasks,
) -> Any:
    """Check a registered visit in and answer as the walk-in and check-in routes both do."""
    visit = visitors.check_in(
        session=session,
        visit_id=visit_id,
        document=document,
        card=card,
        hasher=hub.hash_credential,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return _answer(visit, session, hub, principal, tasks)


def notify_host(
    session: Session, hub: Hub, visit: Visit, tasks: BackgroundTasks, principal: Principal
) -> None:
    """Tell the host (after the response) that their visitor is expected or has arrived."""
    host = session.get(Person, visit.host_id)
    if host is None:
        return
    arrived = visit.status == VisitStatus.ON_SITE
    zone = display_zone_for(hub, visit.site_id)
    when = (visit.checked_in_at if arrived else visit.expected_at) or visit.expected_at
    title = f"Your visitor {visit.name} {'has arrived' if arrived else 'is expected'}"
    body = (
        f"{visit.name}{f' ({visit.company})' if visit.company else ''} "
        f"{'checked in at' if arrived else 'is expected at'} "
        f"{when.astimezone(zone).strftime('%H:%M %Z on %Y-%m-%d')} for: {visit.purpose}. "
        f"Areas: {', '.join(visit.areas)}. Escort them at all times."
    )
    item = notices.plan(
        session=session,
        subject=visit.person_id or visit.id,
        notice="visitor_arrived" if arrived else "visitor_expected",
        recipient=host,
        title=title,
        body=body,
    )
    tasks.add_task(notices.deliver, hub, [item], principal.context())


def display_zone_for(hub: Hub, site_id: str) -> Any:
    """Return the site's time zone for messages (UTC when the site is not loaded)."""
    from zoneinfo import ZoneInfo

    site = hub.extras.get("sites", {}).get(site_id)
    if site is None:
        return ZoneInfo("UTC")
    return ZoneInfo(site.site.timezone)


@router.get("/api/visitors", response_model=list[VisitRead])
def list_visits(
    session: SessionDep,
    principal: PeopleLister,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[VisitRead]:
    """List visits, newest first."""
    sites = principal.sites_with(Permission.PEOPLE_READ)
    rows = visitors.list_visits(session=session, site_ids=sites, status=status, limit=limit)
    return [visit_read(v) for v in rows]


@router.post("/api/visitors", response_model=VisitRead, status_code=201)
def pre_register(
    body: VisitCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Registration,
    tasks: BackgroundTasks,
) -> Any:
    """Pre-register a visitor for a host; vault areas are refused, restricted ones need approval."""
    visit = _register(body, session, hub, principal, walk_in=False)
    return _answer(visit, session, hub, principal, tasks)


@router.post("/api/visitors/walk-in", response_model=VisitRead, status_code=201)
def walk_in(
    body: WalkIn,
    session: SessionDep,
    hub: HubDep,
    principal: Registration,
    tasks: BackgroundTasks,
) -> Any:
    """Register and check in a walk-in visitor in one step; the host is notified."""
    visit = _register(body, session, hub, principal, walk_in=True)
    if visit.status == VisitStatus.REFUSED:
        return refused(visit)
    return _check_in(visit.id, None, body.card, session, hub, principal, tasks)


@router.get("/api/visitors/on-site", response_model=list[OnSiteRead])
def on_site(
    site_id: str,
    session: SessionDep,
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.PEOPLE_READ, site=FromQuery("site_id")))],
) -> list[OnSiteRead]:
    """List the visitors checked in at a site now, with their last known zone and host."""
    rows = visitors.visitors_on_site(session, site_id, engine=engine_of(hub))
    return [OnSiteRead(**r.__dict__) for r in rows]


@router.get("/api/visitors/log.csv")
def export_log(
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.VISITORS_MANAGE, site=ANY_SITE))],
    site_id: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Response:
    """Export the visitor log (state-required fields) within the retention period, as CSV."""
    sites = principal.sites_with(Permission.VISITORS_MANAGE)
    if site_id is not None:
        sites = frozenset({site_id})
    text = visitors.export_log(
        session=session,
        site_ids=sites,
        since=since,
        until=until,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="visitor-log.csv"'},
    )


@router.get("/api/visitors/watchlist", response_model=list[WatchlistRead])
def list_watchlist(session: SessionDep, _: WatchlistKeeper) -> list[WatchlistRead]:
    """List the visitor watchlist."""
    return [
        WatchlistRead(
            id=e.id,
            name=e.name,
            reason=e.reason,
            has_id_number=e.id_number_key is not None,
            created_at=e.created_at,
            created_by=e.created_by,
        )
        for e in visitors.list_watchlist(session=session)
    ]


@router.post("/api/visitors/watchlist", response_model=WatchlistRead, status_code=201)
def add_watchlist(
    body: WatchlistCreate, session: SessionDep, hub: HubDep, principal: WatchlistKeeper
) -> WatchlistRead:
    """Add someone to the watchlist (encrypted; matched by keyed hash)."""
    entry = visitors.add_watchlist(
        session=session,
        name=body.name,
        id_number=body.id_number,
        reason=body.reason,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return WatchlistRead(
        id=entry.id,
        name=entry.name,
        reason=entry.reason,
        has_id_number=entry.id_number_key is not None,
        created_at=entry.created_at,
        created_by=entry.created_by,
    )


@router.delete("/api/visitors/watchlist/{entry_id}", status_code=204)
def remove_watchlist(
    entry_id: str,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.ACCESS_MANAGE, site=FromResource("entry_id", WATCHLIST_ENTRY))),
    ],
) -> Response:
    """Remove a watchlist entry."""
    visitors.remove_watchlist(
        session=session, entry_id=entry_id, context=principal.context(), now=hub.clock.now()
    )
    return Response(status_code=204)


@router.get("/api/visitors/{visit_id}", response_model=VisitRead)
def read_visit(visit_id: str, session: SessionDep, _: VisitReader) -> VisitRead:
    """Return one visit."""
    return visit_read(visitors.get_visit(session=session, visit_id=visit_id))


@router.post("/api/visitors/{visit_id}/check-in", response_model=VisitRead)
def check_in(
    visit_id: str,
    body: CheckIn,
    session: SessionDep,
    hub: HubDep,
    principal: Reception,
    tasks: BackgroundTasks,
) -> Any:
    """Check in an expected visitor: ID, watchlist, temporary escorted credential, host told."""
    return _check_in(
        visit_id, document_of(body.document), body.card, session, hub, principal, tasks
    )


@router.post("/api/visitors/{visit_id}/check-out", response_model=VisitRead)
def check_out(
    visit_id: str, body: CheckOut, session: SessionDep, hub: HubDep, principal: Reception
) -> VisitRead:
    """Check a visitor out: the badge is returned and the credential ends at once."""
    visit = visitors.check_out(
        session=session,
        visit_id=visit_id,
        badge_returned=body.badge_returned,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return visit_read(visit)


@router.post("/api/visitors/{visit_id}/cancel", response_model=VisitRead)
def cancel(visit_id: str, session: SessionDep, hub: HubDep, principal: Reception) -> VisitRead:
    """Cancel an expected visit."""
    return visit_read(
        visitors.cancel(
            session=session, visit_id=visit_id, context=principal.context(), now=hub.clock.now()
        )
    )


def render_badge(session: Session, hub: Hub, visit: Visit) -> bytes:
    """Return the badge PDF of a visit."""
    host = session.get(Person, visit.host_id)
    try:
        site_name = site_service.get_site(session=session, site_id=visit.site_id).site.name
    except Exception:
        site_name = visit.site_id
    return badge_pdf(
        visit_id=visit.id,
        name=visit.name,
        company=visit.company,
        host=host.name if host is not None else visit.host_id,
        areas=list(visit.areas),
        until=visit.until,
        site_name=site_name,
        badge_number=visit.badge_number,
        zone=display_zone_for(hub, visit.site_id),
    )


@router.get("/api/visitors/{visit_id}/badge.pdf")
def badge(visit_id: str, session: SessionDep, hub: HubDep, principal: Reception) -> Response:
    """Return the printable visitor badge (PDF)."""
    visit = visitors.get_visit(session=session, visit_id=visit_id)
    return Response(
        render_badge(session, hub, visit),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="badge-{visit.id}.pdf"'},
    )
