"""Video configuration, detections and biometric enrolments (keyword-only; callers commit).

Every change is staged to the ledger in the caller's transaction. A camera must be a
camera of the site model and a rule's zone a zone of it, so the geometry stays tied to
the site's plan. Biometric references are stored as a keyed hash plus ciphertext.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.cards import parse_card
from bastion.access.engine import AccessEngine
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_BIOMETRIC,
    EVENT_VIDEO_CONFIG,
    BiometricPayload,
    VideoConfigPayload,
    make_event,
)
from bastion.people.models import Person
from bastion.site.schemas import DeviceType, Site
from bastion.store import crypto
from bastion.store.ledger import stage
from bastion.video.models import (
    BiometricEnrolment,
    FaceDoorRule,
    VideoCamera,
    VideoDetection,
    VideoRule,
)
from bastion.video.rules import RuleSpec
from bastion.video.schemas import CameraWrite, EnrolmentWrite, FaceDoorWrite, RuleWrite

HASH_PURPOSE = "biometric"


def _config(
    session: Session, site_id: str, target: str, action: str, context: Context, now: datetime
) -> None:
    stage(
        session,
        make_event(
            EVENT_VIDEO_CONFIG,
            VideoConfigPayload(target=target, action=action),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def camera_name(site: Site, camera_id: str) -> str:
    """Return a camera's name in the site model (its id when it has none)."""
    try:
        device = site.device(camera_id)
    except KeyError:
        return camera_id
    return device.name or device.id


def verify_camera(site: Site, camera_id: str) -> None:
    """Require ``camera_id`` to be a camera of the site model."""
    try:
        device = site.device(camera_id)
    except KeyError:
        raise NotFound(f"the site has no camera {camera_id!r}") from None
    if device.type is not DeviceType.CAMERA:
        raise InvalidInput(f"{camera_id!r} is a {device.type}, not a camera")


def put_camera(
    *,
    session: Session,
    site: Site,
    camera_id: str,
    data: CameraWrite,
    context: Context,
    now: datetime,
) -> VideoCamera:
    """Analyse (or change how we analyse) one camera of the site."""
    verify_camera(site, camera_id)
    row = session.get(VideoCamera, (site.site.id, camera_id))
    action = "updated" if row else "created"
    if row is None:
        row = VideoCamera(site_id=site.site.id, camera_id=camera_id)
        session.add(row)
    row.source, row.fps, row.motion_gate = data.source, data.fps, data.motion_gate
    row.enabled, row.updated_at = data.enabled, now
    _config(session, site.site.id, f"camera:{camera_id}", action, context, now)
    return row


def list_cameras(*, session: Session, site_id: str | None = None) -> list[VideoCamera]:
    """Return the analysed cameras (of one site when given)."""
    query = select(VideoCamera).order_by(VideoCamera.site_id, VideoCamera.camera_id)
    if site_id is not None:
        query = query.where(VideoCamera.site_id == site_id)
    return list(session.scalars(query))


def remove_camera(
    *, session: Session, site_id: str, camera_id: str, context: Context, now: datetime
) -> None:
    """Stop analysing a camera and drop its rules (its detections stay as evidence)."""
    row = session.get(VideoCamera, (site_id, camera_id))
    if row is None:
        raise NotFound(f"camera {camera_id!r} is not analysed")
    session.delete(row)
    session.execute(
        delete(VideoRule).where(VideoRule.site_id == site_id, VideoRule.camera_id == camera_id)
    )
    _config(session, site_id, f"camera:{camera_id}", "removed", context, now)


def add_rule(
    *,
    session: Session,
    site: Site,
    camera_id: str,
    data: RuleWrite,
    context: Context,
    now: datetime,
) -> VideoRule:
    """Draw a rule on an analysed camera; its zone must be a zone of the site."""
    if session.get(VideoCamera, (site.site.id, camera_id)) is None:
        raise NotFound(f"camera {camera_id!r} is not analysed; add it first")
    if data.zone_id is not None:
        try:
            site.zone(data.zone_id)
        except KeyError:
            raise InvalidInput(f"the site has no zone {data.zone_id!r}") from None
    row = VideoRule(
        id=new_id(),
        site_id=site.site.id,
        camera_id=camera_id,
        name=data.name,
        kind=data.kind,
        points=[list(p) for p in data.points],
        seconds=data.seconds,
        zone_id=data.zone_id,
        labels=list(data.labels),
        starts=data.starts.strftime("%H:%M") if data.starts else None,
        ends=data.ends.strftime("%H:%M") if data.ends else None,
        enabled=True,
        updated_at=now,
    )
    session.add(row)
    _config(session, site.site.id, f"rule:{row.id}", "created", context, now)
    return row


def list_rules(*, session: Session, site_id: str, camera_id: str | None = None) -> list[VideoRule]:
    """Return a site's rules (of one camera when given)."""
    query = select(VideoRule).where(VideoRule.site_id == site_id).order_by(VideoRule.id)
    if camera_id is not None:
        query = query.where(VideoRule.camera_id == camera_id)
    return list(session.scalars(query))


def remove_rule(
    *, session: Session, site_id: str, rule_id: str, context: Context, now: datetime
) -> None:
    """Delete a rule of this site."""
    row = session.get(VideoRule, rule_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no video rule {rule_id!r} at site {site_id}")
    session.delete(row)
    _config(session, site_id, f"rule:{rule_id}", "removed", context, now)


def spec_of(row: VideoRule) -> RuleSpec:
    """Return the rule engine's form of a stored rule."""
    return RuleSpec(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        points=tuple((float(x), float(y)) for x, y in row.points),
        seconds=row.seconds,
        zone_id=row.zone_id,
        labels=frozenset(row.labels),
        starts=time.fromisoformat(row.starts) if row.starts else None,
        ends=time.fromisoformat(row.ends) if row.ends else None,
    )


def recent_detections(
    *, session: Session, site_id: str, camera_id: str | None = None, limit: int = 50
) -> list[VideoDetection]:
    """Return the newest detections of a site (of one camera when given)."""
    query = select(VideoDetection).where(VideoDetection.site_id == site_id)
    if camera_id is not None:
        query = query.where(VideoDetection.camera_id == camera_id)
    return list(session.scalars(query.order_by(VideoDetection.at.desc()).limit(limit)))


# --- biometrics -------------------------------------------------------------------------------


def _keyed_hash(value: str, *, purpose: str) -> str:
    return crypto.keyring().keyed_hash(value, purpose=purpose)


def match_hash(kind: str, reference: str) -> str:
    """Return the keyed hash a biometric reference is looked up by."""
    return crypto.keyring().keyed_hash(f"{kind}:{reference.strip()}", purpose=HASH_PURPOSE)


def enrol(
    *,
    session: Session,
    site_id: str,
    data: EnrolmentWrite,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> BiometricEnrolment:
    """Enrol a person's fingerprint or face; refused without recorded consent.

    A fingerprint with the card number its reader sends after a match also gets an access
    card credential (expiring with the enrolment), so the match opens doors like a card.
    """
    if not data.consent:
        raise InvalidInput("biometric enrolment needs the person's written consent")
    if data.card is not None and data.kind != "fingerprint":
        raise InvalidInput("only a fingerprint reader sends a card number after a match")
    person = session.get(Person, data.person_id)
    if person is None or person.site_id not in (site_id, None):
        raise NotFound(f"no person {data.person_id!r} at site {site_id}")
    digest = match_hash(data.kind, data.reference)
    clash = session.scalar(
        select(BiometricEnrolment).where(
            BiometricEnrolment.site_id == site_id,
            BiometricEnrolment.kind == data.kind,
            BiometricEnrolment.match_hash == digest,
        )
    )
    if clash is not None and not clash.revoked:
        raise Conflict(f"this {data.kind} reference is already enrolled for someone")
    if clash is not None:
        session.delete(clash)
        session.flush()
    row = BiometricEnrolment(
        id=new_id(),
        person_id=person.id,
        site_id=site_id,
        kind=data.kind,
        match_hash=digest,
        reference=data.reference.strip(),
        template=data.template,
        consent_at=now,
        consent_by=context.actor or "unknown",
        consent_text=data.consent_text,
        retain_until=now + timedelta(days=data.retain_days),
        revoked=False,
        created_at=now,
    )
    if data.card is not None:
        credential = access_service.issue_credential(
            session=session,
            person_id=person.id,
            kind="card",
            card=parse_card(data.card.strip()),
            hasher=_keyed_hash,
            expires_at=row.retain_until,
            context=context,
            now=now,
            engine=engine,
        )
        row.credential_id = credential.id
    session.add(row)
    _biometric(session, row, "enrolled", context, now)
    return row


def _revoke_credential(
    session: Session,
    row: BiometricEnrolment,
    context: Context,
    now: datetime,
    engine: AccessEngine | None,
) -> None:
    if row.credential_id is not None:
        access_service.revoke_credential(
            session=session,
            credential_id=row.credential_id,
            reason="biometric enrolment ended",
            context=context,
            now=now,
            engine=engine,
        )


def _biometric(
    session: Session, row: BiometricEnrolment, action: str, context: Context, now: datetime
) -> None:
    stage(
        session,
        make_event(
            EVENT_BIOMETRIC,
            BiometricPayload(
                subject=row.person_id,
                kind=row.kind,
                action=action,
                enrolment_id=row.id,
            ),
            context=context,
            time=now,
            site=row.site_id,
        ),
    )


def revoke(
    *,
    session: Session,
    site_id: str,
    enrolment_id: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> BiometricEnrolment:
    """Revoke an enrolment and erase its template and reference (only the hash stays)."""
    row = session.get(BiometricEnrolment, enrolment_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no biometric enrolment {enrolment_id!r} at site {site_id}")
    row.revoked, row.template, row.reference = True, None, "(erased)"
    _revoke_credential(session, row, context, now, engine)
    _biometric(session, row, "revoked", context, now)
    return row


def expire(
    *, session: Session, now: datetime, context: Context, engine: AccessEngine | None = None
) -> int:
    """Erase enrolments past their retention date; return how many."""
    rows = session.scalars(
        select(BiometricEnrolment).where(
            BiometricEnrolment.revoked.is_(False), BiometricEnrolment.retain_until <= now
        )
    ).all()
    for row in rows:
        row.revoked, row.template, row.reference = True, None, "(erased)"
        _revoke_credential(session, row, context, now, engine)
        _biometric(session, row, "expired", context, now)
    return len(rows)


def enrolments(*, session: Session, site_id: str) -> list[BiometricEnrolment]:
    """Return a site's enrolments, newest first."""
    query = select(BiometricEnrolment).where(BiometricEnrolment.site_id == site_id)
    return list(session.scalars(query.order_by(BiometricEnrolment.created_at.desc())))


def face_library(*, session: Session, now: datetime) -> dict[tuple[str, str], str]:
    """Return (site, hash of a face name) → person id for every live face enrolment."""
    rows = session.scalars(
        select(BiometricEnrolment).where(
            BiometricEnrolment.kind == "face",
            BiometricEnrolment.revoked.is_(False),
            BiometricEnrolment.retain_until > now,
        )
    )
    return {(r.site_id, r.match_hash): r.person_id for r in rows}


def person_names(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Return the names of people by id (decrypted)."""
    if not ids:
        return {}
    rows = session.scalars(select(Person).where(Person.id.in_(set(ids))))
    return {p.id: p.name for p in rows}


def put_face_door(
    *,
    session: Session,
    site: Site,
    door_id: str,
    data: FaceDoorWrite,
    context: Context,
    now: datetime,
) -> FaceDoorRule:
    """Make a door need card and a face match of the same person on its camera."""
    try:
        site.door(door_id)
    except KeyError:
        raise NotFound(f"the site has no door {door_id!r}") from None
    verify_camera(site, data.camera_id)
    row = session.get(FaceDoorRule, (site.site.id, door_id))
    action = "updated" if row else "created"
    if row is None:
        row = FaceDoorRule(site_id=site.site.id, door_id=door_id)
        session.add(row)
    row.camera_id, row.window_s, row.min_score = data.camera_id, data.window_s, data.min_score
    row.updated_at = now
    _config(session, site.site.id, f"face_door:{door_id}", action, context, now)
    return row


def face_doors(*, session: Session, site_id: str | None = None) -> list[FaceDoorRule]:
    """Return the doors that need a face match."""
    query = select(FaceDoorRule)
    if site_id is not None:
        query = query.where(FaceDoorRule.site_id == site_id)
    return list(session.scalars(query))


def remove_face_door(
    *, session: Session, site_id: str, door_id: str, context: Context, now: datetime
) -> None:
    """Drop the face requirement of a door."""
    row = session.get(FaceDoorRule, (site_id, door_id))
    if row is None:
        raise NotFound(f"door {door_id!r} does not need a face match")
    session.delete(row)
    _config(session, site_id, f"face_door:{door_id}", "removed", context, now)
