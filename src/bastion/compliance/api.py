"""Compliance routes under ``/api/sites/{site_id}/compliance`` (thin; logic in the services).

Reading results, records, retention and the mock audit needs ``compliance:read`` at the
site; changing settings, adding records, reporting incidents, overrides, holds, purges
and corrective actions needs ``compliance:manage`` there. Records are looked up inside
the site named in the path, so an id from another site answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.cash.models import CashTask
from bastion.compliance import audit, incidents, retention, service
from bastion.compliance.engine import Report
from bastion.compliance.models import ComplianceRecord, CorrectiveAction, LegalHold
from bastion.compliance.packs import builtin_pack
from bastion.compliance.policy import policy
from bastion.compliance.schemas import (
    ActionIn,
    ActionRead,
    CloseIn,
    HoldIn,
    HoldRead,
    IncidentIn,
    IncidentRead,
    NotifiedIn,
    OverrideIn,
    PolicyRead,
    RecordIn,
    RecordRead,
    ReportRead,
    RetentionRead,
    SettingsIn,
    SettingsRead,
    TaskLine,
)
from bastion.core.errors import InvalidInput
from bastion.core.ports import clip_source_of
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.site.schemas import Site

PREFIX = "/api/sites/{site_id}/compliance"
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal, Depends(Require(Permission.COMPLIANCE_READ, site=FromPath("site_id")))
]
Manager = Annotated[
    Principal, Depends(Require(Permission.COMPLIANCE_MANAGE, site=FromPath("site_id")))
]
StateQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="Override the state.")]

router = APIRouter(prefix=PREFIX, tags=["compliance"])


def _site(session: Session, site_id: str) -> Site:
    return site_service.get_site(session=session, site_id=site_id)


def _state(session: Session, site: Site, given: str | None = None) -> str:
    state = given or service.state_of(session, site)
    if state is None:
        raise InvalidInput("the site's state is unknown: set it in the compliance settings")
    return state


def _record(row: ComplianceRecord) -> RecordRead:
    return RecordRead(
        id=row.id,
        kind=row.kind,
        rule=row.rule,
        at=row.at,
        by=row.by_name,
        document=row.document,
        note=row.note,
        detail=row.detail,
        redacted=row.redacted_at is not None,
    )


def _task(task: CashTask) -> TaskLine:
    return TaskLine(
        id=task.id, title=task.title, detail=task.detail, due_at=task.due_at, status=task.status
    )


def _action(row: CorrectiveAction) -> ActionRead:
    return ActionRead(
        id=row.id,
        rule=row.rule,
        title=row.title,
        owner=row.owner,
        due_on=row.due_on,
        status=row.status,
        closed_at=row.closed_at,
        note=row.note,
    )


def _hold(row: LegalHold) -> HoldRead:
    return HoldRead(
        id=row.id,
        record_class=row.record_class,
        reason=row.reason,
        placed_at=row.placed_at,
        released_at=row.released_at,
    )


def _report(report: Report) -> ReportRead:
    return ReportRead.model_validate(report.as_json())


@router.get("/settings", response_model=SettingsRead)
def read_settings(site_id: str, session: SessionDep, _: Reader) -> SettingsRead:
    """Return the site's state, licence type and compliance profile."""
    site = _site(session, site_id)
    row = service.settings_of(session, site_id)
    return SettingsRead(
        site_id=site_id,
        state=service.state_of(session, site),
        license=row.license if row else None,
        profile=row.profile if row else {},
    )


@router.put("/settings", response_model=SettingsRead)
def write_settings(
    site_id: str, body: SettingsIn, session: SessionDep, hub: HubDep, who: Manager
) -> SettingsRead:
    """Store the site's state, licence type and profile (camera, power and retention facts)."""
    _site(session, site_id)
    row = service.set_settings(
        session=session,
        site_id=site_id,
        state=body.state,
        license=body.license,
        profile=body.profile,
        context=who.context(),
        now=hub.clock.now(),
    )
    return SettingsRead(site_id=site_id, state=row.state, license=row.license, profile=row.profile)


@router.get("/report", response_model=ReportRead)
def read_report(
    site_id: str, session: SessionDep, hub: HubDep, _: Reader, state: StateQuery = None
) -> ReportRead:
    """Check the site now against its state's rules (nothing is stored)."""
    site = _site(session, site_id)
    report = service.check_site(
        session=session,
        site=site,
        data_dir=hub.settings.data_dir,
        context=service.SYSTEM,
        now=hub.clock.now(),
        state=_state(session, site, state),
        keep=False,
    )
    return _report(report)


@router.post("/check", response_model=ReportRead)
def run_check(site_id: str, session: SessionDep, hub: HubDep, who: Manager) -> ReportRead:
    """Check the site and keep the run (the dashboard and change alarms read it)."""
    site = _site(session, site_id)
    report = service.check_site(
        session=session,
        site=site,
        data_dir=hub.settings.data_dir,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _report(report)


@router.get("/records", response_model=list[RecordRead])
def list_records(
    site_id: str, session: SessionDep, _: Reader, kind: str | None = None
) -> list[RecordRead]:
    """List the site's compliance records, newest first."""
    _site(session, site_id)
    return [_record(r) for r in service.list_records(session, site_id, kind)]


@router.post("/records", response_model=RecordRead, status_code=201)
def add_record(
    site_id: str, body: RecordIn, session: SessionDep, hub: HubDep, who: Manager
) -> RecordRead:
    """Keep a record: a count, a review, an assessment, or an attestation with its document."""
    _site(session, site_id)
    row = service.add_record(
        session=session,
        site_id=site_id,
        kind=body.kind,
        at=body.at,
        by=body.by,
        rule=body.rule,
        document=body.document,
        note=body.note,
        detail=body.detail,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _record(row)


@router.post("/incidents", response_model=IncidentRead, status_code=201)
def report_incident(
    site_id: str, body: IncidentIn, session: SessionDep, hub: HubDep, who: Manager
) -> IncidentRead:
    """Report an incident; open the regulator-notice tasks with the state's deadlines."""
    site = _site(session, site_id)
    state = _state(session, site)
    record, tasks = incidents.report_incident(
        session=session,
        site_id=site_id,
        pack=service.pack_for(session, site_id, state, hub.settings.data_dir),
        kind=body.type,
        discovered_at=body.discovered_at,
        description=body.description,
        context=who.context(),
        now=hub.clock.now(),
        timezone=site.site.timezone,
    )
    return IncidentRead(record=_record(record), tasks=[_task(t) for t in tasks])


@router.post("/incidents/{record_id}/notified", response_model=IncidentRead)
def incident_notified(
    site_id: str,
    record_id: str,
    body: NotifiedIn,
    session: SessionDep,
    hub: HubDep,
    who: Manager,
) -> IncidentRead:
    """Keep the filed notice on the incident and close its notice tasks."""
    record = incidents.mark_notified(
        session=session,
        site_id=site_id,
        record_id=record_id,
        notified_at=body.notified_at,
        reference=body.reference,
        context=who.context(),
        now=hub.clock.now(),
    )
    tasks = incidents.tasks_of(session, site_id, record_id)
    return IncidentRead(record=_record(record), tasks=[_task(t) for t in tasks])


@router.put("/overrides/{rule_id}")
def set_override(
    site_id: str,
    rule_id: str,
    body: OverrideIn,
    session: SessionDep,
    hub: HubDep,
    who: Manager,
) -> dict[str, object]:
    """Change one rule's parameters at this site, with the reason (ledgered)."""
    site = _site(session, site_id)
    row = service.set_override(
        session=session,
        site_id=site_id,
        state=_state(session, site),
        rule=rule_id,
        params=body.params,
        reason=body.reason,
        data_dir=hub.settings.data_dir,
        context=who.context(),
        now=hub.clock.now(),
    )
    return {"rule": row.rule, "params": row.params, "reason": row.reason}


@router.get("/retention", response_model=RetentionRead)
def read_retention(site_id: str, session: SessionDep, hub: HubDep, _: Reader) -> RetentionRead:
    """Return how long each record class is kept here, and the legal holds in force."""
    site = _site(session, site_id)
    state = _state(session, site)
    pack = service.pack_for(session, site_id, state, hub.settings.data_dir)
    rules = policy(pack, service.profile_of(session, site_id))
    return RetentionRead(
        state=state,
        policy=[
            PolicyRead(record_class=p.record_class, days=p.days, reason=p.reason)
            for p in rules.values()
        ],
        holds=[_hold(h) for h in retention.active_holds(session, site_id)],
    )


@router.post("/holds", response_model=HoldRead, status_code=201)
def place_hold(
    site_id: str, body: HoldIn, session: SessionDep, hub: HubDep, who: Manager
) -> HoldRead:
    """Stop purging a record class at this site."""
    _site(session, site_id)
    row = retention.place_hold(
        session=session,
        site_id=site_id,
        record_class=body.record_class,
        reason=body.reason,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _hold(row)


@router.post("/holds/{hold_id}/release", response_model=HoldRead)
def release_hold(
    site_id: str, hold_id: str, session: SessionDep, hub: HubDep, who: Manager
) -> HoldRead:
    """Release a legal hold."""
    row = retention.release_hold(
        session=session,
        site_id=site_id,
        hold_id=hold_id,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _hold(row)


@router.post("/purge")
def purge(site_id: str, session: SessionDep, hub: HubDep, who: Manager) -> dict[str, int]:
    """Remove personal data past retention (outside legal holds); return counts per class."""
    site = _site(session, site_id)
    state = _state(session, site)
    return retention.purge(
        session=session,
        site_id=site_id,
        pack=service.pack_for(session, site_id, state, hub.settings.data_dir),
        profile=service.profile_of(session, site_id),
        context=who.context(),
        now=hub.clock.now(),
    )


@router.get("/actions", response_model=list[ActionRead])
def list_actions(site_id: str, session: SessionDep, _: Reader) -> list[ActionRead]:
    """List corrective actions, open ones by due date first."""
    _site(session, site_id)
    return [_action(a) for a in service.list_actions(session, site_id)]


@router.post("/actions", response_model=ActionRead, status_code=201)
def open_action(
    site_id: str, body: ActionIn, session: SessionDep, hub: HubDep, who: Manager
) -> ActionRead:
    """Open a corrective action for a finding, with an owner and a due date."""
    _site(session, site_id)
    row = service.open_action(
        session=session,
        site_id=site_id,
        rule=body.rule,
        title=body.title,
        owner=body.owner,
        due_on=body.due_on,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _action(row)


@router.post("/actions/{action_id}/close", response_model=ActionRead)
def close_action(
    site_id: str, action_id: str, body: CloseIn, session: SessionDep, hub: HubDep, who: Manager
) -> ActionRead:
    """Close a corrective action with what was done."""
    row = service.close_action(
        session=session,
        site_id=site_id,
        action_id=action_id,
        note=body.note,
        context=who.context(),
        now=hub.clock.now(),
    )
    return _action(row)


def audit_input(session: Session, hub: Hub, site_id: str, state: str | None) -> audit.AuditInput:
    """Check the site now and gather what the mock-audit report shows."""
    site = _site(session, site_id)
    chosen = _state(session, site, state)
    report = service.check_site(
        session=session,
        site=site,
        data_dir=hub.settings.data_dir,
        context=service.SYSTEM,
        now=hub.clock.now(),
        state=chosen,
        keep=False,
    )
    actions = [
        audit.ActionLine(a.rule, a.title, a.owner, a.due_on, a.status)
        for a in service.list_actions(session, site_id)
    ]
    clips: dict[str, str] = {}
    source = clip_source_of(hub.extras, site_id)
    if source is not None:
        now = hub.clock.now()
        for cam in site.devices:
            if cam.type == "camera":
                url = source.clip_url(cam.id, now - timedelta(seconds=10), now)
                if url:
                    clips[cam.id] = url
    return audit.AuditInput(
        report=report,
        site=site,
        regulator=builtin_pack(chosen).regulator,
        actions=actions,
        clips=clips,
    )


@router.get("/audit.pdf")
def audit_pdf(
    site_id: str, session: SessionDep, hub: HubDep, _: Reader, state: StateQuery = None
) -> Response:
    """Return the mock-audit report as PDF."""
    data = audit_input(session, hub, site_id, state)
    filename = f"mock-audit-{site_id}-{data.report.at:%Y%m%d}.pdf"
    return Response(
        audit.render_pdf(data),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/audit.html", response_class=HTMLResponse)
def audit_html(
    site_id: str, session: SessionDep, hub: HubDep, _: Reader, state: StateQuery = None
) -> HTMLResponse:
    """Return the mock-audit report as HTML."""
    return HTMLResponse(audit.render_html(audit_input(session, hub, site_id, state)))
