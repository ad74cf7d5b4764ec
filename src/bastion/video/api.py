"""Video routes under ``/api/sites/{site_id}/video`` (thin; logic in the video services).

Reading cameras, rules, detections and snapshots needs ``video:read`` at the site;
changing what is analysed needs ``video:manage``; enrolling or revoking biometrics needs
``biometrics:manage``; making a door need a face match is a door policy
(``access:manage`` in the door's zones). Records named by id must belong to the site in
the path, or the answer is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import DoorZones, FromPath
from bastion.auth.permissions import Permission
from bastion.core.errors import NotFound
from bastion.core.ports import clip_source_of
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.site.schemas import Device, Site
from bastion.video import feeds, service, views
from bastion.video.models import VideoDetection
from bastion.video.runtime import runtime_of
from bastion.video.schemas import (
    CameraRead,
    CameraWrite,
    DetectionRead,
    EnrolmentRead,
    EnrolmentWrite,
    FaceDoorRead,
    FaceDoorWrite,
    RuleRead,
    RuleWrite,
)

PREFIX = "/api/sites/{site_id}/video"
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.VIDEO_READ, site=FromPath("site_id")))]
Manager = Annotated[Principal, Depends(Require(Permission.VIDEO_MANAGE, site=FromPath("site_id")))]
Enroller = Annotated[
    Principal, Depends(Require(Permission.BIOMETRICS_MANAGE, site=FromPath("site_id")))
]
DoorPolicy = Annotated[
    Principal,
    Depends(Require(Permission.ACCESS_MANAGE, site=FromPath("site_id"), zone=DoorZones("door_id"))),
]
JPEG = "image/jpeg"

router = APIRouter(prefix=PREFIX, tags=["video"])


def site_of(session: SessionDep, site_id: str) -> Site:
    """Return the site model (404 when unknown)."""
    return site_service.get_site(session=session, site_id=site_id)


@router.get("/cameras", response_model=list[CameraRead])
def list_cameras(
    site_id: str, session: SessionDep, hub: HubDep, principal: Reader
) -> list[CameraRead]:
    """List the analysed cameras with their health (frames, detector runs, drops)."""
    site = site_of(session, site_id)
    rows = service.list_cameras(session=session, site_id=site_id)
    return views.cameras(session, site, rows, runtime_of(hub))


@router.put("/cameras/{camera_id}", response_model=CameraRead)
def put_camera(
    site_id: str,
    camera_id: str,
    data: CameraWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> CameraRead:
    """Analyse a camera of the site model (or change its stream, rate or gate)."""
    site = site_of(session, site_id)
    row = service.put_camera(
        session=session,
        site=site,
        camera_id=camera_id,
        data=data,
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.cameras(session, site, [row], runtime_of(hub))[0]


@router.delete("/cameras/{camera_id}", status_code=204)
def remove_camera(
    site_id: str, camera_id: str, session: SessionDep, hub: HubDep, principal: Manager
) -> Response:
    """Stop analysing a camera (its detections stay as evidence)."""
    site_of(session, site_id)
    service.remove_camera(
        session=session,
        site_id=site_id,
        camera_id=camera_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.get("/cameras/{camera_id}/preview.jpg", response_class=Response)
def preview(
    site_id: str, camera_id: str, session: SessionDep, hub: HubDep, principal: Reader
) -> Response:
    """Return the camera's latest analysed frame with its tracked objects drawn."""
    site_of(session, site_id)
    runtime = runtime_of(hub)
    worker = runtime.workers.get((site_id, camera_id)) if runtime else None
    if worker is None or worker.preview is None:
        raise NotFound(f"no recent frame of camera {camera_id!r}")
    return Response(worker.preview.jpeg, media_type=JPEG, headers={"Cache-Control": "no-store"})


@router.get("/rules", response_model=list[RuleRead])
def list_rules(
    site_id: str, session: SessionDep, principal: Reader, camera_id: str | None = None
) -> list[RuleRead]:
    """List the zone rules (of one camera when asked)."""
    site = site_of(session, site_id)
    return views.rules(
        site, service.list_rules(session=session, site_id=site_id, camera_id=camera_id)
    )


@router.post("/cameras/{camera_id}/rules", response_model=RuleRead, status_code=201)
def add_rule(
    site_id: str,
    camera_id: str,
    data: RuleWrite,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> RuleRead:
    """Draw a loitering, parked-vehicle, line or after-hours rule on a camera."""
    site = site_of(session, site_id)
    row = service.add_rule(
        session=session,
        site=site,
        camera_id=camera_id,
        data=data,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.rules(site, [row])[0]


@router.delete("/rules/{rule_id}", status_code=204)
def remove_rule(
    site_id: str, rule_id: str, session: SessionDep, hub: HubDep, principal: Manager
) -> Response:
    """Delete a rule."""
    site_of(session, site_id)
    service.remove_rule(
        session=session,
        site_id=site_id,
        rule_id=rule_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.get("/detections", response_model=list[DetectionRead])
def list_detections(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    camera_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DetectionRead]:
    """List what the rules detected, newest first."""
    site = site_of(session, site_id)
    rows = service.recent_detections(
        session=session, site_id=site_id, camera_id=camera_id, limit=limit
    )
    return views.detections(site, rows)


@router.get("/detections/{detection_id}/snapshot.jpg", response_class=Response)
def snapshot(
    site_id: str, detection_id: str, session: SessionDep, hub: HubDep, principal: Reader
) -> Response:
    """Return a detection's evidence snapshot (the box drawn)."""
    row = session.get(VideoDetection, detection_id)
    if row is None or row.site_id != site_id or not row.snapshot:
        raise NotFound(f"no snapshot of detection {detection_id!r} at site {site_id}")
    path = hub.settings.data_dir / "video" / site_id / row.snapshot
    if not path.is_file():
        raise NotFound("the snapshot file is gone (retention or a restore without media)")
    return Response(path.read_bytes(), media_type=JPEG)


@router.get("/biometrics", response_model=list[EnrolmentRead])
def list_enrolments(site_id: str, session: SessionDep, principal: Enroller) -> list[EnrolmentRead]:
    """List fingerprint and face enrolments (never their templates or references)."""
    site_of(session, site_id)
    return views.enrolments(session, service.enrolments(session=session, site_id=site_id))


@router.post("/biometrics", response_model=EnrolmentRead, status_code=201)
def enrol(
    site_id: str, data: EnrolmentWrite, session: SessionDep, hub: HubDep, principal: Enroller
) -> EnrolmentRead:
    """Enrol a fingerprint or face; refused without the person's recorded consent."""
    site_of(session, site_id)
    row = service.enrol(
        session=session,
        site_id=site_id,
        data=data,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return views.enrolments(session, [row])[0]


@router.post("/biometrics/{enrolment_id}/revoke", response_model=EnrolmentRead)
def revoke(
    site_id: str, enrolment_id: str, session: SessionDep, hub: HubDep, principal: Enroller
) -> EnrolmentRead:
    """Revoke an enrolment and erase its template and reference."""
    site_of(session, site_id)
    row = service.revoke(
        session=session,
        site_id=site_id,
        enrolment_id=enrolment_id,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )
    return views.enrolments(session, [row])[0]


@router.get("/face-doors", response_model=list[FaceDoorRead])
def list_face_doors(site_id: str, session: SessionDep, principal: Reader) -> list[FaceDoorRead]:
    """List the doors that need card and face."""
    site_of(session, site_id)
    return [
        FaceDoorRead(
            door_id=r.door_id, camera_id=r.camera_id, window_s=r.window_s, min_score=r.min_score
        )
        for r in service.face_doors(session=session, site_id=site_id)
    ]


@router.put("/face-doors/{door_id}", response_model=FaceDoorRead)
def put_face_door(
    site_id: str,
    door_id: str,
    data: FaceDoorWrite,
    session: SessionDep,
    hub: HubDep,
    principal: DoorPolicy,
) -> FaceDoorRead:
    """Make a door need a face match of the cardholder on its camera."""
    site = site_of(session, site_id)
    row = service.put_face_door(
        session=session,
        site=site,
        door_id=door_id,
        data=data,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return FaceDoorRead(
        door_id=row.door_id, camera_id=row.camera_id, window_s=row.window_s, min_score=row.min_score
    )


@router.delete("/face-doors/{door_id}", status_code=204)
def remove_face_door(
    site_id: str, door_id: str, session: SessionDep, hub: HubDep, principal: DoorPolicy
) -> Response:
    """Drop a door's face requirement."""
    site_of(session, site_id)
    service.remove_face_door(
        session=session,
        site_id=site_id,
        door_id=door_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


def _loaded_camera(hub: Hub, site_id: str, camera_id: str) -> Device:
    """Return a camera of a site the server runs (404 for another site's camera)."""
    site = hub.extras.get("sites", {}).get(site_id)
    if not isinstance(site, Site):
        raise NotFound(f"no site {site_id!r} is loaded")
    return feeds.camera_of(site, camera_id)


@router.get("/cameras/{camera_id}/picture", response_class=Response)
async def camera_picture(site_id: str, camera_id: str, hub: HubDep, principal: Reader) -> Response:
    """Return the camera's current still picture, fetched by the server (502 when it is down)."""
    picture, kind = await feeds.fetch_picture(_loaded_camera(hub, site_id, camera_id))
    return Response(picture, media_type=kind, headers={"Cache-Control": "no-store"})


@router.get("/cameras/{camera_id}/live", response_class=StreamingResponse)
async def camera_live(
    site_id: str, camera_id: str, hub: HubDep, principal: Reader
) -> StreamingResponse:
    """Relay the camera's live MJPEG stream (an ``<img>`` shows it as it arrives)."""
    device = _loaded_camera(hub, site_id, camera_id)
    if not device.stream_url or feeds.is_hls(device.stream_url):
        raise NotFound(f"camera {device.name or device.id} has no MJPEG stream")
    relay = await feeds.open_relay(
        device.stream_url, device.name or device.id, accept=("multipart/x-mixed-replace",)
    )
    return StreamingResponse(relay.body, status_code=relay.status, headers=relay.headers)


@router.get("/events/{event_id}/clip.mp4", response_class=StreamingResponse)
async def event_clip(
    site_id: str, event_id: str, request: Request, hub: HubDep, principal: Reader
) -> StreamingResponse:
    """Relay the recorded clip of a Frigate detection event at this site (seekable)."""
    address = feeds.event_clip_address(clip_source_of(hub.extras, site_id) or object(), event_id)
    if address is None:
        raise NotFound(f"no recorder serves clips of event {event_id!r} at site {site_id}")
    wanted = request.headers.get("range")
    relay = await feeds.open_relay(
        address,
        "Frigate",
        accept=("video/",),
        request_headers={"Range": wanted} if wanted else None,
    )
    return StreamingResponse(relay.body, status_code=relay.status, headers=relay.headers)
