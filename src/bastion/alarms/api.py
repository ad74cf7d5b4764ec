"""Alarm queue, procedure steps and incidents over HTTP (thin; logic in service)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from bastion.alarms import service
from bastion.alarms.models import OPEN_STATES, Alarm
from bastion.alarms.schemas import (
    AlarmDetail,
    AlarmRead,
    BulkAcknowledge,
    BulkAcknowledged,
    CloseRequest,
    EvidenceRead,
    IncidentRead,
    ProcedureStep,
    StepAnswer,
    StepRead,
    StepSkip,
)
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.resources import ALARM, INCIDENT, alarm_place
from bastion.api.scope import AnySite, FromResource
from bastion.auth.permissions import Permission
from bastion.core.errors import Forbidden, NotFound
from bastion.hub import Hub

router = APIRouter(tags=["alarms"])
HubDep = Annotated[Hub, Depends(get_hub)]
Lister = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))]
Reader = Annotated[
    Principal, Depends(Require(Permission.ALARMS_READ, site=FromResource("alarm_id", ALARM)))
]
Worker = Annotated[
    Principal, Depends(Require(Permission.ALARMS_WORK, site=FromResource("alarm_id", ALARM)))
]
BulkWorker = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=AnySite()))]
IncidentReader = Annotated[
    Principal,
    Depends(Require(Permission.ALARMS_READ, site=FromResource("incident_id", INCIDENT))),
]


def _sops(hub: Hub) -> SopCatalogue:
    runtime = hub.extras.get("alarms")
    if runtime is not None:
        return runtime.sops  # type: ignore[no-any-return,unused-ignore]
    cached = hub.extras.get("sops")
    if cached is None:
        cached = hub.extras["sops"] = load_sops()
    return cached  # type: ignore[no-any-return,unused-ignore]


@router.get("/api/alarms", response_model=list[AlarmRead])
def list_alarms(
    session: SessionDep,
    principal: Lister,
    state: Annotated[list[str] | None, Query(description="Filter by state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    priority: Annotated[int | None, Query(ge=1, le=5, description="Only this priority.")] = None,
    zone: Annotated[str | None, Query(max_length=63, description="Only this zone.")] = None,
) -> list[AlarmRead]:
    """Return the alarm queue of the caller's sites (open by default), most urgent first."""
    rows = service.list_alarms(
        session=session,
        states=state or OPEN_STATES,
        site_ids=principal.sites_with(Permission.ALARMS_READ),
        limit=limit,
        priority=priority,
        zone_id=zone,
    )
    return [AlarmRead.model_validate(r) for r in rows]


@router.get("/api/alarms/{alarm_id}", response_model=AlarmDetail)
def read_alarm(alarm_id: str, session: SessionDep, hub: HubDep, _: Reader) -> AlarmDetail:
    """Return an alarm with its procedure, step log and evidence."""
    sops = _sops(hub)
    alarm = service.get_alarm(session=session, alarm_id=alarm_id)
    progress = service.sop_progress(session=session, alarm=alarm, sops=sops)
    procedure = (
        [
            ProcedureStep(id=s.id, prompt=s.prompt, answers=sorted(s.answers))
            for s in sops.get(alarm.sop_id).steps
        ]
        if alarm.sop_id
        else []
    )
    return AlarmDetail(
        alarm=AlarmRead.model_validate(alarm),
        procedure=procedure,
        current_step=progress.current if progress else None,
        steps=[
            StepRead.model_validate(s) for s in service.step_log(session=session, alarm_id=alarm_id)
        ],
        evidence=[
            EvidenceRead.model_validate(e)
            for e in service.evidence_of(session=session, alarm_id=alarm_id)
        ],
    )


@router.post("/api/alarms/{alarm_id}/acknowledge", response_model=AlarmRead)
def acknowledge(alarm_id: str, session: SessionDep, hub: HubDep, who: Worker) -> AlarmRead:
    """Acknowledge a raised alarm."""
    alarm = service.acknowledge(
        session=session,
        alarm_id=alarm_id,
        operator=who.actor,
        context=who.context(),
        now=hub.clock.now(),
    )
    return AlarmRead.model_validate(alarm)


def acknowledge_as(
    *,
    session: Session,
    principal: Principal,
    alarm_ids: Iterable[str],
    reason: str,
    now: datetime,
) -> service.BulkAckResult:
    """Acknowledge several alarms for ``principal``, each checked against its sites first.

    An alarm the caller cannot see answers like a missing one; one it may see but not
    work refuses the whole request. Nothing is acknowledged unless every alarm passes.
    """
    alarms = []
    for alarm_id in dict.fromkeys(alarm_ids):
        alarm = session.get(Alarm, alarm_id)
        if alarm is None:
            raise NotFound(f"no alarm {alarm_id!r}")
        place = alarm_place(alarm)
        if not principal.may(Permission.ALARMS_READ, place, reading=True):
            raise NotFound(f"no alarm {alarm_id!r}")
        if not principal.may(Permission.ALARMS_WORK, place, reading=False):
            raise Forbidden(f"you may not acknowledge the alarm {alarm.message!r}")
        alarms.append(alarm)
    return service.acknowledge_many(
        session=session,
        alarms=alarms,
        reason=reason,
        operator=principal.actor,
        context=principal.context(),
        now=now,
    )


@router.post("/api/alarms/bulk-acknowledge", response_model=BulkAcknowledged)
def bulk_acknowledge(
    body: BulkAcknowledge, session: SessionDep, hub: HubDep, who: BulkWorker
) -> BulkAcknowledged:
    """Acknowledge several raised alarms of the caller's sites with one reason."""
    result = acknowledge_as(
        session=session,
        principal=who,
        alarm_ids=body.alarm_ids,
        reason=body.reason,
        now=hub.clock.now(),
    )
    return BulkAcknowledged(
        acknowledged=[a.id for a in result.acknowledged], skipped=result.skipped
    )


@router.post("/api/alarms/{alarm_id}/steps/{step_id}", response_model=StepRead)
def complete_step(
    alarm_id: str, step_id: str, body: StepAnswer, session: SessionDep, hub: HubDep, who: Worker
) -> StepRead:
    """Complete the current procedure step with an answer."""
    row = service.complete_step(
        session=session,
        alarm_id=alarm_id,
        step_id=step_id,
        answer=body.answer,
        operator=who.actor,
        context=who.context(),
        now=hub.clock.now(),
        sops=_sops(hub),
    )
    return StepRead.model_validate(row)


@router.post("/api/alarms/{alarm_id}/steps/{step_id}/skip", response_model=StepRead)
def skip_step(
    alarm_id: str, step_id: str, body: StepSkip, session: SessionDep, hub: HubDep, who: Worker
) -> StepRead:
    """Skip the current step with a reason; the supervisor role is notified."""
    row = service.skip_step(
        session=session,
        alarm_id=alarm_id,
        step_id=step_id,
        reason=body.reason,
        operator=who.actor,
        context=who.context(),
        now=hub.clock.now(),
        sops=_sops(hub),
    )
    return StepRead.model_validate(row)


@router.post("/api/alarms/{alarm_id}/resolve", response_model=AlarmRead)
def resolve(
    alarm_id: str, body: CloseRequest, session: SessionDep, hub: HubDep, who: Worker
) -> AlarmRead:
    """Resolve an alarm whose procedure is complete."""
    alarm = service.resolve(
        session=session,
        alarm_id=alarm_id,
        operator=who.actor,
        context=who.context(),
        now=hub.clock.now(),
        sops=_sops(hub),
        note=body.note,
    )
    return AlarmRead.model_validate(alarm)


@router.post("/api/alarms/{alarm_id}/false-alarm", response_model=AlarmRead)
def false_alarm(
    alarm_id: str, body: CloseRequest, session: SessionDep, hub: HubDep, who: Worker
) -> AlarmRead:
    """Close an alarm as a false alarm (the note is the required reason)."""
    alarm = service.mark_false_alarm(
        session=session,
        alarm_id=alarm_id,
        operator=who.actor,
        reason=body.note,
        context=who.context(),
        now=hub.clock.now(),
    )
    return AlarmRead.model_validate(alarm)


@router.get("/api/incidents", response_model=list[IncidentRead])
def list_incidents(
    session: SessionDep,
    principal: Lister,
    status: Annotated[str | None, Query(description="open or closed.")] = None,
) -> list[IncidentRead]:
    """Return the incidents of the caller's sites, newest activity first."""
    sites = principal.sites_with(Permission.ALARMS_READ)
    return [
        IncidentRead.model_validate(i)
        for i in service.list_incidents(session=session, status=status, site_ids=sites)
    ]


@router.get("/api/incidents/{incident_id}/alarms", response_model=list[AlarmRead])
def incident_alarms(incident_id: str, session: SessionDep, _: IncidentReader) -> list[AlarmRead]:
    """Return the alarms correlated into an incident."""
    service.get_incident(session=session, incident_id=incident_id)
    return [
        AlarmRead.model_validate(a)
        for a in service.alarms_of_incident(session=session, incident_id=incident_id)
    ]
