"""Read models of the video domain for the API and the console: names, site-local times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bastion.core.sitetime import site_time
from bastion.site.schemas import Site
from bastion.video import service
from bastion.video.models import BiometricEnrolment, VideoCamera, VideoDetection, VideoRule
from bastion.video.runtime import VideoRuntime
from bastion.video.schemas import CameraRead, DetectionRead, EnrolmentRead, RuleRead


def local(site: Site, when: datetime) -> str:
    """Return ``when`` in the site's time zone, for people."""
    return site_time(when, site.site.timezone, seconds=True)


def cameras(
    session: Session, site: Site, rows: list[VideoCamera], runtime: VideoRuntime | None
) -> list[CameraRead]:
    """Return analysed cameras with their live health."""
    counts: dict[str, int] = {}
    for rule in service.list_rules(session=session, site_id=site.site.id):
        counts[rule.camera_id] = counts.get(rule.camera_id, 0) + 1
    out = []
    for row in rows:
        worker = runtime.workers.get((row.site_id, row.camera_id)) if runtime else None
        if not row.enabled:
            status = "disabled"
        elif worker is None:
            status = "not running"
        elif worker.online is None:
            status = "starting"
        elif worker.done.is_set():
            status = "finished"
        else:
            status = "online" if worker.online else "offline"
        stats = worker.stats if worker else None
        out.append(
            CameraRead(
                camera_id=row.camera_id,
                name=service.camera_name(site, row.camera_id),
                fps=row.fps,
                motion_gate=row.motion_gate,
                enabled=row.enabled,
                status=status,
                frames=stats.frames if stats else 0,
                detector_runs=stats.detector_runs if stats else 0,
                dropped=stats.dropped if stats else 0,
                rules=counts.get(row.camera_id, 0),
            )
        )
    return out


def rules(site: Site, rows: list[VideoRule]) -> list[RuleRead]:
    """Return rules with their zone's name."""
    names = {z.id: z.name for z in site.zones}
    return [
        RuleRead(
            id=r.id,
            camera_id=r.camera_id,
            name=r.name,
            kind=r.kind,
            points=[(float(x), float(y)) for x, y in r.points],
            seconds=r.seconds,
            zone_id=r.zone_id,
            zone_name=names.get(r.zone_id) if r.zone_id else None,
            labels=list(r.labels),
            starts=r.starts,
            ends=r.ends,
        )
        for r in rows
    ]


def detections(site: Site, rows: list[VideoDetection]) -> list[DetectionRead]:
    """Return detections with site-local times and snapshot links."""
    base = f"/api/sites/{site.site.id}/video/detections"
    zones = {z.id: z.name for z in site.zones}
    return [
        DetectionRead(
            id=d.id,
            camera_id=d.camera_id,
            camera_name=service.camera_name(site, d.camera_id),
            kind=d.kind,
            label=d.label,
            zone_id=d.zone_id,
            zone_name=zones.get(d.zone_id) if d.zone_id else None,
            detail=d.detail,
            score=d.score,
            at=d.at,
            local_time=local(site, d.at),
            snapshot_url=f"{base}/{d.id}/snapshot.jpg" if d.snapshot else None,
        )
        for d in rows
    ]


def enrolments(session: Session, rows: list[BiometricEnrolment]) -> list[EnrolmentRead]:
    """Return enrolments with the person's name, never the reference or template."""
    names = service.person_names(session, [r.person_id for r in rows])
    return [
        EnrolmentRead(
            id=r.id,
            person_id=r.person_id,
            person_name=names.get(r.person_id, r.person_id),
            kind=r.kind,
            consent_at=r.consent_at,
            retain_until=r.retain_until,
            revoked=r.revoked,
            credential_id=r.credential_id,
        )
        for r in rows
    ]
