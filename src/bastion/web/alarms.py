"""Alarm pages: the list, and one alarm worked through its procedure with its evidence."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.alarms import service as alarms_service
from bastion.alarms.api import acknowledge_as
from bastion.alarms.models import OPEN_STATES, Alarm
from bastion.alarms.schemas import AlarmRead
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.api.deps import Principal, Require, SessionDep, get_hub, run_unit_of_work
from bastion.api.resources import ALARM, alarm_place
from bastion.api.scope import AnySite, FromResource
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError, InvalidInput, NotFound
from bastion.core.ports import clip_source_of
from bastion.hub import Hub
from bastion.store.ledger import LedgerRow
from bastion.video.feeds import CameraFeed, camera_feeds, event_clip_address
from bastion.video.models import VideoDetection
from bastion.web.dashboard import reaction_chart
from bastion.web.readmodel import ChainEntry, camera_names, event_chain, loaded_sites, usernames
from bastion.web.render import not_found, page
from bastion.web.visitors import read_form

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Lister = Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))]
Reader = Annotated[
    Principal, Depends(Require(Permission.ALARMS_READ, site=FromResource("alarm_id", ALARM)))
]
Worker = Annotated[
    Principal, Depends(Require(Permission.ALARMS_WORK, site=FromResource("alarm_id", ALARM)))
]
BulkWorker = Annotated[Principal, Depends(Require(Permission.ALARMS_WORK, site=AnySite()))]
STATE_FILTERS = {
    "open": OPEN_STATES,
    "closed": ("resolved", "false_alarm"),
    "all": None,
}


@dataclass(frozen=True)
class StepView:
    """One procedure step as the checklist shows it."""

    id: str
    prompt: str
    answers: list[str]
    status: str  # done, skipped, current, pending or unused
    answer: str = ""
    reason: str = ""
    operator: str = ""
    at: Any = None


def sops_of(hub: Hub) -> SopCatalogue:
    """Return the procedures the running alarms domain uses (the built-in ones otherwise)."""
    runtime = hub.extras.get("alarms")
    if runtime is not None:
        sops: SopCatalogue = runtime.sops
        return sops
    cached: SopCatalogue | None = hub.extras.get("sops")
    if cached is None:
        cached = hub.extras["sops"] = load_sops()
    return cached


def _checklist(hub: Hub, alarm: Alarm, session: Any) -> tuple[str, list[StepView], bool]:
    """Return the procedure title, its steps with their status, and whether it is complete."""
    if alarm.sop_id is None:
        return "", [], True
    sops = sops_of(hub)
    sop = sops.get(alarm.sop_id)
    progress = alarms_service.sop_progress(session=session, alarm=alarm, sops=sops)
    logged = {
        row.step_id: row for row in alarms_service.step_log(session=session, alarm_id=alarm.id)
    }
    current = progress.current if progress is not None else None
    complete = current is None
    steps = []
    for step in sop.steps:
        row = logged.get(step.id)
        if row is not None:
            status = "skipped" if row.outcome == "skipped" else "done"
            steps.append(
                StepView(
                    step.id,
                    step.prompt,
                    sorted(step.answers),
                    status,
                    row.answer,
                    row.reason,
                    row.operator,
                    row.at,
                )
            )
        else:
            status = "current" if step.id == current else ("unused" if complete else "pending")
            steps.append(StepView(step.id, step.prompt, sorted(step.answers), status))
    return sop.title, steps, complete


@dataclass(frozen=True)
class BookmarkView:
    """A camera bookmark: which camera, and the stretch of recording it marks."""

    camera: str
    start: datetime | None
    at: datetime | None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _bookmark(camera: str, detail: dict[str, Any], attached: datetime) -> BookmarkView:
    return BookmarkView(camera, _when(detail.get("from")), _when(detail.get("at")) or attached)


@dataclass(frozen=True)
class SnapshotView:
    """A picture of what raised the alarm: the camera and where the image is served."""

    camera: str
    url: str


def _video_source(session: Any, alarm: Alarm) -> dict[str, Any] | None:
    """Return the payload of the video detection that raised the alarm, if one did."""
    if not alarm.source_event_id or not alarm.site_id:
        return None
    row = session.execute(
        select(LedgerRow).where(LedgerRow.id == alarm.source_event_id)
    ).scalar_one_or_none()
    if row is None or row.type != "video.detection":
        return None
    payload: dict[str, Any] = json.loads(row.payload)
    return payload


def _snapshots(
    session: Any, alarm: Alarm, cameras: dict[str, str], source: dict[str, Any] | None
) -> list[SnapshotView]:
    """Return the evidence snapshot of a video-analytics alarm (loitering, parked vehicle …)."""
    if source is None:
        return []
    detection = session.get(VideoDetection, str(source.get("source_id", "")))
    if detection is None or not detection.snapshot or detection.site_id != alarm.site_id:
        return []
    url = f"/api/sites/{alarm.site_id}/video/detections/{detection.id}/snapshot.jpg"
    return [SnapshotView(cameras.get(detection.camera_id, detection.camera_id), url)]


def _event_clip(hub: Hub, session: Any, alarm: Alarm, source: dict[str, Any] | None) -> str:
    """Return Bastion's link to the recorder's clip of the detection event, or "".

    Detections of Bastion's own analytics have their snapshot instead; an event of an
    external analytics system (Frigate) has a clip when that system serves the site.
    """
    event_id = str((source or {}).get("source_id", ""))
    if not event_id or session.get(VideoDetection, event_id) is not None:
        return ""
    recorder = clip_source_of(hub.extras, alarm.site_id or "")
    if recorder is None or event_clip_address(recorder, event_id) is None:
        return ""
    return f"/api/sites/{alarm.site_id}/video/events/{quote(event_id, safe='')}/clip.mp4"


def _alarm_feeds(
    alarm: Alarm, feeds: dict[str, CameraFeed], source: dict[str, Any] | None, bookmarked: set[str]
) -> list[CameraFeed]:
    """Return the pictures of the cameras that saw the alarm but carry no bookmark."""
    wanted = [str((source or {}).get("camera_id", "")), alarm.device_id or ""]
    seen: list[CameraFeed] = []
    for camera_id in wanted:
        feed = feeds.get(camera_id)
        if feed is not None and camera_id not in bookmarked and feed not in seen:
            seen.append(feed)
    return seen


@dataclass(frozen=True)
class EvidenceLine:
    """An event kept as an alarm's evidence, as people read it: when, what, and repeat count."""

    entry: ChainEntry | None
    event_id: str
    repeat: int | None


def _evidence_lines(evidence: Iterable[Any], chain: list[ChainEntry]) -> list[EvidenceLine]:
    """Describe each evidence event by its ledger entry (its id only if the ledger lacks it)."""
    by_id = {e.event_id: e for e in chain if e.event_id}
    return [
        EvidenceLine(by_id.get(e.ref), e.ref, e.detail.get("repeat"))
        for e in evidence
        if e.kind == "event"
    ]


def alarm_context(hub: Hub, principal: Principal, alarm: Alarm, session: Any) -> dict[str, Any]:
    """Return everything the alarm page shows: checklist, chain, evidence, reaction times."""
    title, steps, complete = _checklist(hub, alarm, session)
    evidence = alarms_service.evidence_of(session=session, alarm_id=alarm.id)
    log = alarms_service.step_log(session=session, alarm_id=alarm.id)
    event_ids = [e.ref for e in evidence if e.kind == "event"] + [s.event_id for s in log]
    site = loaded_sites(hub).get(alarm.site_id or "")
    zones = {z.id: z.name for z in site.zones} if site is not None else {}
    incident = (
        alarms_service.get_incident(session=session, incident_id=alarm.incident_id)
        if alarm.incident_id
        else None
    )
    now = hub.clock.now()
    chain = event_chain(hub, alarm, event_ids)
    source = _video_source(session, alarm)
    bookmarks = [_bookmark(e.ref, e.detail, e.at) for e in evidence if e.kind == "bookmark"]
    sees_video = principal.allows(Permission.VIDEO_READ, alarm.site_id or "")
    feeds = camera_feeds(site) if sees_video else {}
    return {
        "alarm": alarm,
        "sop_title": title,
        "steps": steps,
        "complete": complete,
        "chain": chain,
        "bookmarks": bookmarks,
        "feeds": feeds,
        "alarm_feeds": _alarm_feeds(alarm, feeds, source, {b.camera for b in bookmarks}),
        "clip_url": _event_clip(hub, session, alarm, source) if sees_video else "",
        "notes": [e for e in evidence if e.kind == "note"],
        "event_evidence": _evidence_lines(evidence, chain),
        "cameras": camera_names(site),
        "snapshots": _snapshots(session, alarm, camera_names(site), source),
        "zone_name": zones.get(alarm.zone_id or "", alarm.zone_id or ""),
        "incident": incident,
        "names": usernames(hub),
        "can_work": principal.may(Permission.ALARMS_WORK, alarm_place(alarm), reading=False)
        and alarm.state in OPEN_STATES,
        "waiting_s": (now - alarm.raised_at).total_seconds(),
        "now": now,
    }


@dataclass(frozen=True)
class QueueFilter:
    """The alarm list's filters, as typed (the form shows them back)."""

    state: str = "open"
    priority: int | None = None
    zone: str = ""

    def query(self) -> str:
        """Return the query string that reopens the list with these filters."""
        parts = {"state": self.state, "priority": self.priority or "", "zone": self.zone}
        return urlencode({k: v for k, v in parts.items() if v})


def _list_page(
    request: Request,
    hub: Hub,
    session: Any,
    principal: Principal,
    filters: QueueFilter,
    *,
    error: str = "",
    reason: str = "",
    checked: frozenset[str] = frozenset(),
    done: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = alarms_service.list_alarms(
        session=session,
        states=STATE_FILTERS[filters.state],
        site_ids=principal.sites_with(Permission.ALARMS_READ),
        limit=200,
        priority=filters.priority,
        zone_id=filters.zone or None,
    )
    visible = principal.sites_with(Permission.ALARMS_READ)
    sites = [s for sid, s in loaded_sites(hub).items() if visible is None or sid in visible]
    zones = {z.id: z.name for s in sites for z in s.zones}
    workable = {
        a.id
        for a in rows
        if a.state == "raised"
        and principal.may(Permission.ALARMS_WORK, alarm_place(a), reading=False)
    }
    return page(
        request,
        "alarms.html",
        principal,
        {
            "alarms": rows,
            "state": filters.state,
            "filters": filters,
            "zone_names": zones,
            "zone_choices": sorted(zones.items(), key=lambda item: item[1]),
            "workable": workable,
            "checked": checked,
            "reason": reason,
            "error": error,
            "done": done,
            "reaction_chart": reaction_chart(hub, principal),
            "now": hub.clock.now(),
        },
        status_code=status_code,
    )


@router.get("/console/alarms", response_class=HTMLResponse)
def alarm_list(
    request: Request,
    hub: HubDep,
    session: SessionDep,
    principal: Lister,
    state: Annotated[Literal["open", "closed", "all"], Query(description="Which alarms.")] = "open",
    priority: Annotated[str, Query(max_length=8, description="Only this priority (1-5).")] = "",
    zone: Annotated[str, Query(max_length=63, description="Only this zone.")] = "",
    done: Annotated[int | None, Query(ge=0, description="How many were just acknowledged.")] = None,
) -> HTMLResponse:
    """List the alarms of the caller's sites (open by default), most urgent first."""
    wanted = int(priority) if priority.isdigit() and 1 <= int(priority) <= 5 else None
    filters = QueueFilter(state, wanted, zone)
    return _list_page(request, hub, session, principal, filters, done=done)


@router.post("/console/alarms/acknowledge", response_class=HTMLResponse)
async def bulk_acknowledge(request: Request, hub: HubDep, principal: BulkWorker) -> Response:
    """Acknowledge the ticked alarms with one reason, then show the list as it was filtered."""
    form = await read_form(request)
    state = form.text("state", required=False) or "open"
    priority = form.text("priority", required=False) or ""
    filters = QueueFilter(
        state if state in STATE_FILTERS else "open",
        int(priority) if priority.isdigit() else None,
        form.text("zone", required=False) or "",
    )
    ids = form.many("alarm_id")
    reason = form.text("reason", required=False) or ""

    def work(session: Session) -> int:
        if not ids:
            raise InvalidInput("tick the alarms to acknowledge")
        result = acknowledge_as(
            session=session, principal=principal, alarm_ids=ids, reason=reason, now=hub.clock.now()
        )
        return len(result.acknowledged)

    try:
        count = await run_unit_of_work(hub, work)
    except BastionError as exc:
        with hub.db.sessions() as session:
            return _list_page(
                request,
                hub,
                session,
                principal,
                filters,
                error=exc.message,
                reason=reason,
                checked=frozenset(ids),
                status_code=exc.status_code,
            )
    query = filters.query()
    return RedirectResponse(
        f"/console/alarms?{query}&done={count}" if query else f"/console/alarms?done={count}",
        status_code=303,
    )


def _find(session: Any, alarm_id: str) -> Alarm | None:
    try:
        return alarms_service.get_alarm(session=session, alarm_id=alarm_id)
    except NotFound:
        return None


@router.get("/console/alarms/{alarm_id}", response_class=HTMLResponse)
def alarm_page(
    alarm_id: str, request: Request, hub: HubDep, session: SessionDep, principal: Reader
) -> HTMLResponse:
    """Show one alarm: its procedure to work through, event chain, evidence, reaction times."""
    alarm = _find(session, alarm_id)
    if alarm is None:
        return not_found(request, principal, f"alarm {alarm_id}")
    return page(request, "alarm.html", principal, alarm_context(hub, principal, alarm, session))


@router.get("/console/alarms/{alarm_id}/panel", response_class=HTMLResponse)
def alarm_panel(
    alarm_id: str, request: Request, hub: HubDep, session: SessionDep, principal: Reader
) -> HTMLResponse:
    """Return the alarm page's body alone, for refreshes after each step."""
    alarm = _find(session, alarm_id)
    if alarm is None:
        return not_found(request, principal, f"alarm {alarm_id}")
    return page(
        request, "_alarm_body.html", principal, alarm_context(hub, principal, alarm, session)
    )


@router.post("/console/alarms/{alarm_id}/investigate", response_model=AlarmRead)
def investigate(
    alarm_id: str,
    session: SessionDep,
    hub: HubDep,
    who: Worker,
) -> AlarmRead:
    """Mark an acknowledged alarm as under investigation (working a step does this too)."""
    alarm = alarms_service.investigate(
        session=session,
        alarm_id=alarm_id,
        operator=who.actor,
        context=who.context(),
        now=hub.clock.now(),
    )
    return AlarmRead.model_validate(alarm)
