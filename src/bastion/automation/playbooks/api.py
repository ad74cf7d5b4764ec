"""Playbook routes (thin): list and show, start a run or drill, steps, roll call, packet.

Reading needs ``alarms:read``; acting (starting, completing steps, roll call) and the
packet, which carries key holders' phone numbers, need ``alarms:work``; a person's
timeline needs ``events:read``. Site-scoped roles only see and act on their sites; the
playbook catalogue itself is shared by every site.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.access.service import parse_since
from bastion.api.deps import Principal, Require, get_hub, run_unit_of_work
from bastion.api.resources import PLAYBOOK_RUN
from bastion.api.scope import (
    AnySite,
    FromBody,
    FromQuery,
    FromResource,
    Global,
    Missing,
    ZoneFromBody,
    only_site,
)
from bastion.auth.permissions import Permission
from bastion.automation.playbooks import service
from bastion.automation.playbooks.config import Loaded
from bastion.automation.playbooks.packet import render_packet
from bastion.automation.playbooks.plan import load_plan
from bastion.automation.playbooks.runtime import PlaybookRuntime, runtime_for
from bastion.automation.playbooks.schemas import (
    MusterMark,
    MusterRead,
    PlaybookList,
    PlaybookRead,
    PlaybookSummary,
    RunRead,
    RunReport,
    RunStart,
    StepComplete,
    StepInfo,
    TimelineItem,
)
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.safety.schemas import ThreatCallCreate
from bastion.site.schemas import Site

router = APIRouter(tags=["playbooks"])
HubDep = Annotated[Hub, Depends(get_hub)]
THE_RUN = FromResource("run_id", PLAYBOOK_RUN)
ONLY_SITE = FromQuery("site_id", missing=Missing.ONLY_SITE)
Catalogue = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=Global()))]
Lister = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))]
Reader = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=THE_RUN))]
Worker = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=THE_RUN))]
PREFIX = "/api/playbooks"


def summary(loaded: Loaded) -> PlaybookSummary:
    """Return the list entry of a playbook."""
    cfg = loaded.config
    return PlaybookSummary(
        id=cfg.id,
        name=cfg.name,
        scenario=cfg.scenario,
        description=cfg.description,
        shipped=loaded.shipped,
        source=loaded.source.rsplit("/", 1)[-1],
        triggers=[getattr(t, "event_type", t.kind) for t in cfg.triggers],
        steps=len(cfg.steps),
    )


def site_of(runtime: PlaybookRuntime, site_id: str | None) -> Site:
    """Return a loaded site (the only one when None); raise NotFound."""
    site = runtime.site(site_id)
    if site is None:
        raise NotFound(f"no site {site_id!r} is loaded" if site_id else "give a site_id")
    return site


@router.get(PREFIX, response_model=PlaybookList)
def list_playbooks(hub: HubDep, _: Catalogue) -> PlaybookList:
    """List the playbooks, and the edited files that could not be loaded."""
    runtime = runtime_for(hub)
    return PlaybookList(
        playbooks=[summary(c.loaded) for c in runtime.compiled.values()],
        load_errors=[str(e) for e in runtime.load_errors],
    )


@router.get(f"{PREFIX}/runs", response_model=list[RunRead])
async def list_runs(
    hub: HubDep, principal: Lister, active: Annotated[bool, Query()] = False
) -> list[RunRead]:
    """List runs and drills, newest first."""
    sites = principal.sites_with(Permission.ALARMS_READ)
    runtime = runtime_for(hub)
    now = hub.clock.now()
    return await runtime.read(
        lambda s: [
            service.run_read(r, now=now)
            for r in service.list_runs(session=s, active_only=active, site_ids=sites)
        ]
    )


@router.get(f"{PREFIX}/presence", response_model=MusterRead)
async def presence(
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=ONLY_SITE))],
    site_id: Annotated[str | None, Query()] = None,
) -> MusterRead:
    """Show who is on site now and in which zone."""
    runtime = runtime_for(hub)
    site = site_of(runtime, site_id)
    now = hub.clock.now()
    return await runtime.read(
        lambda s: service.muster_read(session=s, site=site, run=None, now=now)
    )


@router.get(f"{PREFIX}/timeline", response_model=list[TimelineItem])
async def person_timeline(
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=AnySite()))],
    person_id: Annotated[str, Query(min_length=1, max_length=64)],
    since: Annotated[str, Query(description="7d, 12h or an ISO time.")] = "7d",
) -> list[TimelineItem]:
    """Join a person's access events, nearby alarms and ledger events at the caller's sites."""
    now = hub.clock.now()
    start = parse_since(since, now=now)
    sites = principal.sites_with(Permission.EVENTS_READ)
    return await runtime_for(hub).read(
        lambda s: service.timeline(
            session=s,
            person_id=person_id,
            since=start,
            until=now + timedelta(seconds=1),
            site_ids=sites,
        )
    )


@router.get(f"{PREFIX}/packet.pdf", response_class=Response)
def packet(
    hub: HubDep,
    _: Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=ONLY_SITE))],
    site_id: Annotated[str | None, Query()] = None,
) -> Response:
    """Download the law-enforcement packet of a site as PDF."""
    runtime = runtime_for(hub)
    site = site_of(runtime, site_id)
    plan = load_plan(hub.settings.data_dir, site)
    pdf = render_packet(site, plan, generated_at=hub.clock.now())
    name = f"packet-{site.site.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(f"{PREFIX}/{{playbook_id}}", response_model=PlaybookRead)
def show_playbook(playbook_id: str, hub: HubDep, _: Catalogue) -> PlaybookRead:
    """Show a playbook's steps and what would fail if it ran now."""
    runtime = runtime_for(hub)
    runtime.get(playbook_id)
    loaded = runtime.compiled[playbook_id].loaded
    return PlaybookRead(
        **summary(loaded).model_dump(),
        step_list=[
            StepInfo(
                id=s.id,
                title=s.title,
                kind=s.kind,
                prompt=s.prompt,
                target_s=s.target_s,
                after=s.after,
                automatic=s.automatic,
            )
            for s in loaded.config.steps
        ],
        problems=runtime.problems(playbook_id),
    )


@router.post(f"{PREFIX}/{{playbook_id}}/runs", response_model=RunRead, status_code=201)
async def start_run(
    playbook_id: str,
    data: RunStart,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(
                Permission.ALARMS_WORK,
                site=FromBody("site_id", missing=Missing.ONLY_SITE),
                zone=ZoneFromBody("zone_id"),
            )
        ),
    ],
) -> RunRead:
    """Start a playbook now, or run it as a drill (nothing sent, no door moved)."""
    runtime = runtime_for(hub)
    return await runtime.start_run(
        playbook_id,
        site_id=data.site_id or only_site(hub),
        zone_id=data.zone_id,
        drill=data.drill,
        context=principal.context(),
        note=data.note,
    )


async def _run_site(hub: Hub, run_id: str) -> tuple[PlaybookRuntime, Site]:
    """Return the runtime and the site of a run (the guard has checked the caller's reach)."""
    runtime = runtime_for(hub)
    run = await runtime.run_read(run_id)
    return runtime, site_of(runtime, run.site_id)


@router.get(f"{PREFIX}/runs/{{run_id}}", response_model=RunRead)
async def read_run(run_id: str, hub: HubDep, _: Reader) -> RunRead:
    """Show a run with its timed steps."""
    return await runtime_for(hub).run_read(run_id)


@router.get(f"{PREFIX}/runs/{{run_id}}/report", response_model=RunReport)
async def run_report(run_id: str, hub: HubDep, _: Reader) -> RunReport:
    """Report a run's gaps: steps missed or slow, unacknowledged recipients, unaccounted people."""
    runtime = runtime_for(hub)
    notify_runs = await runtime.notify_runs(run_id)
    now = hub.clock.now()
    return await runtime.read(
        lambda s: service.run_report(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            notify_runs=notify_runs,
            now=now,
        )
    )


def _form_answers(data: StepComplete) -> ThreatCallCreate:
    try:
        form = ThreatCallCreate.model_validate(data.answers or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidInput(f"threat-call form: {where}: {err['msg']}") from None
    service.check_threat_call(form)
    return form


@router.post(f"{PREFIX}/runs/{{run_id}}/steps/{{step_id}}", response_model=RunRead)
async def complete_step(
    run_id: str, step_id: str, data: StepComplete, hub: HubDep, principal: Worker
) -> RunRead:
    """Complete or skip a step; the threat-call form is checked and filed (not in a drill)."""
    runtime = runtime_for(hub)
    run = await runtime.run_read(run_id)
    step = next((s for s in run.steps if s.step_id == step_id), None)
    if step is None:
        raise NotFound(f"run {run_id!r} has no step {step_id!r}")
    now = hub.clock.now()
    context = principal.context()
    form = None
    if step.kind == "form" and data.outcome == "done":
        form = _form_answers(data)
    if step.kind == "timeline" and data.outcome == "done" and not data.person_id:
        raise InvalidInput("say whose timeline was reviewed (person_id)")
    if step.kind == "cash_count" and data.outcome == "done":
        raise Conflict("this step completes itself when the dual cash counts agree (Cash → Counts)")
    roll_call = ""
    if data.outcome == "done" and step_id in runtime.roll_call_steps(run.playbook_id):
        roll_call = service.check_roll_call(
            await muster_of(hub, run_id), confirmed=data.confirm_unaccounted
        )

    def work(session: Session) -> None:
        row = service.get_run(session=session, run_id=run_id)
        if form is not None:
            service.complete_threat_call(
                session=session,
                run=row,
                step_id=step_id,
                answers=form,
                reporter_id=principal.user_id,
                context=context,
                now=now,
                note=data.note or None,
            )
            return
        detail = f"timeline reviewed for person {data.person_id}" if data.person_id else roll_call
        service.complete_step(
            session=session,
            run=row,
            step_id=step_id,
            status=data.outcome,
            context=context,
            now=now,
            detail=detail,
            note=data.note or None,
        )

    await run_unit_of_work(hub, work)
    return await runtime.run_read(run_id)


@router.post(f"{PREFIX}/runs/{{run_id}}/finish", response_model=RunRead)
async def finish_run(
    run_id: str, hub: HubDep, principal: Worker, cancel: Annotated[bool, Query()] = False
) -> RunRead:
    """Close a run (or cancel it); pending steps are reported as missed."""
    runtime = runtime_for(hub)
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.finish_run(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            context=principal.context(),
            now=now,
            cancel=cancel,
        ),
    )
    return await runtime.run_read(run_id)


@router.get(f"{PREFIX}/runs/{{run_id}}/muster", response_model=MusterRead)
async def muster(run_id: str, hub: HubDep, _: Reader) -> MusterRead:
    """Show the roll call: who was on site, where they were last seen, who is safe."""
    return await muster_of(hub, run_id)


async def muster_of(hub: Hub, run_id: str) -> MusterRead:
    """Return the roll call of a run."""
    runtime, site = await _run_site(hub, run_id)
    now = hub.clock.now()
    return await runtime.read(
        lambda s: service.muster_read(
            session=s, site=site, run=service.get_run(session=s, run_id=run_id), now=now
        )
    )


@router.post(f"{PREFIX}/runs/{{run_id}}/muster/start", response_model=MusterRead)
async def start_muster(run_id: str, hub: HubDep, principal: Worker) -> MusterRead:
    """Start mustering for a run that has no muster step (idempotent)."""
    _, site = await _run_site(hub, run_id)
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.start_muster(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            site=site,
            context=principal.context(),
            now=now,
        ),
    )
    return await muster_of(hub, run_id)


@router.post(f"{PREFIX}/runs/{{run_id}}/muster/{{subject}}", response_model=MusterRead)
async def roll_call(
    run_id: str, subject: str, data: MusterMark, hub: HubDep, principal: Worker
) -> MusterRead:
    """Mark a person safe (or missing) at the roll call."""
    _, site = await _run_site(hub, run_id)
    await mark_at_roll_call(hub, principal, run_id, subject, data.status, site)
    return await muster_of(hub, run_id)


async def mark_at_roll_call(
    hub: Hub, principal: Principal, run_id: str, subject: str, status: str, site: Site | None
) -> None:
    """Mark a person at a run's roll call in one unit of work (the API and the console)."""
    now = hub.clock.now()
    await run_unit_of_work(
        hub,
        lambda s: service.mark(
            session=s,
            run=service.get_run(session=s, run_id=run_id),
            subject=subject,
            status=status,
            context=principal.context(),
            now=now,
            site=site,
        ),
    )
