"""Alarms, notifications and clips the cash domain raises, in the caller's transaction.

Alarms go through the alarms service in the same unit of work as the cash change that
caused them (the alarms runtime then sees the staged ``alarm.raised`` event as already
handled); notifications are ``notify.requested`` events for a call tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.orm import Session

from bastion.alarms import service as alarms_service
from bastion.alarms.service import AlarmSpec
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.core.context import Context
from bastion.core.events import EVENT_NOTIFY, NotifyPayload, make_event
from bastion.core.ports import ClipSource
from bastion.site.schemas import DeviceType, Site
from bastion.store.ledger import stage

PRIORITY = {
    "till_over_limit": 3,
    "cash_discrepancy": 2,
    "pickup_verification_failed": 2,
    "seal_reused": 2,
    "deposit_mismatch": 2,
    "deposit_unconfirmed": 3,
}


@dataclass(frozen=True)
class Clip:
    """Video of one camera over a window: a recorder URL, or a bookmark when there is none."""

    camera_id: str
    start: datetime
    end: datetime
    url: str | None

    @property
    def kind(self) -> str:
        """Return ``clip`` when a recorder serves it, else ``bookmark``."""
        return "clip" if self.url else "bookmark"


def clip(
    clips: ClipSource | None, camera_id: str | None, start: datetime, end: datetime
) -> Clip | None:
    """Return the clip of ``camera_id`` between two moments (None without a camera)."""
    if camera_id is None:
        return None
    url = clips.clip_url(camera_id, start, end) if clips is not None else None
    return Clip(camera_id, start, end, url)


def around(moment: datetime, before_s: int, after_s: int) -> tuple[datetime, datetime]:
    """Return the window from ``before_s`` seconds before to ``after_s`` after a moment."""
    return moment - timedelta(seconds=before_s), moment + timedelta(seconds=after_s)


def camera_for_zone(site: Site | None, zone_id: str | None) -> str | None:
    """Return the first camera (by id) that covers a zone."""
    if site is None or zone_id is None:
        return None
    cameras = sorted(
        d.id
        for d in site.devices
        if d.type is DeviceType.CAMERA and (zone_id in d.covers or d.zone == zone_id)
    )
    return cameras[0] if cameras else None


@cache
def _sops() -> SopCatalogue:
    return load_sops()


def raise_alarm(
    *,
    session: Session,
    site: Site | None,
    site_id: str,
    alarm_type: str,
    message: str,
    context: Context,
    now: datetime,
    zone_id: str | None = None,
    device_id: str | None = None,
    video: Clip | None = None,
) -> str:
    """Raise a cash alarm (with its incident) now; attach the clip as evidence; return its id."""
    result = alarms_service.raise_alarm(
        session=session,
        spec=AlarmSpec(
            alarm_type,
            message,
            zone_id=zone_id,
            device_id=device_id,
            priority=PRIORITY.get(alarm_type, 3),
        ),
        site=site,
        site_id=site_id,
        context=context,
        now=now,
        sops=_sops(),
    )
    if video is not None and result.created:
        alarms_service.add_evidence(
            session=session,
            alarm_id=result.alarm.id,
            kind="bookmark",
            ref=video.camera_id,
            now=now,
            detail={
                "from": video.start.isoformat(),
                "to": video.end.isoformat(),
                "clip_url": video.url or "",
            },
        )
    return result.alarm.id


def notify(
    *,
    session: Session,
    call_tree: str | None,
    message: str,
    site_id: str,
    context: Context,
    now: datetime,
    priority: int = 3,
    zone_id: str | None = None,
) -> None:
    """Ask the notification domain to run a call tree (nothing when none is configured)."""
    if not call_tree:
        return
    stage(
        session,
        make_event(
            EVENT_NOTIFY,
            NotifyPayload(call_tree=call_tree, message=message, priority=priority, zone_id=zone_id),
            context=context,
            time=now,
            site=site_id,
        ),
    )
