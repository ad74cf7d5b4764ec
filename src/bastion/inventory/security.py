"""Security links of a movement: the badge at the zone's door, arming, the camera clip.

A movement into or out of a restricted or vault zone by a person with no granted access
decision at a door into that zone in the preceding window is flagged ``no_badge``; one
while the zone is armed by schedule or an operator is flagged ``zone_armed`` (24-hour
zones are always armed, so there the badge-in is what authorises the entry). The badge
lookup is the cash domain's count-room check and the clip the cash domain's helper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from bastion.alarms import service as alarms_service
from bastion.alarms.service import AlarmSpec
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.automation.models import ZoneArming
from bastion.cash import alerts as cash_alerts
from bastion.cash.counts import badged_into
from bastion.core.context import Context
from bastion.core.ports import ClipSource
from bastion.inventory.settings import InventorySettings
from bastion.site.schemas import Layer, Site

ALARM_TYPE = "inventory_diversion"


@cache
def _sops() -> SopCatalogue:
    return load_sops()


@dataclass(frozen=True)
class Verdict:
    """What the checks found about one movement: flags and the zone's clip."""

    flags: tuple[str, ...]
    clip: dict[str, Any] | None
    zone_id: str | None


def guarded(site: Site | None, zone_id: str | None) -> bool:
    """Return True for a restricted or vault zone."""
    if site is None or zone_id is None:
        return False
    try:
        return site.zone(zone_id).layer >= Layer.RESTRICTED
    except KeyError:
        return False


def armed_now(session: Session, site: Site, zone_id: str, now: datetime) -> bool:
    """Return True when the zone is armed by schedule or operator (not a 24-hour zone)."""
    if site.zone(zone_id).always_armed:
        return False
    row = session.get(ZoneArming, (site.site.id, zone_id))
    return row is not None and row.state == "armed" and row.effective_at <= now


def check(
    session: Session,
    *,
    site: Site | None,
    zones: tuple[str | None, ...],
    person_id: str | None,
    now: datetime,
    settings: InventorySettings,
    clips: ClipSource | None = None,
) -> Verdict:
    """Judge a movement touching ``zones`` by ``person_id`` at ``now``."""
    flags: list[str] = []
    watched = [z for z in dict.fromkeys(zones) if z is not None and guarded(site, z)]
    if site is None or not watched:
        return Verdict((), None, None)
    window = timedelta(minutes=settings.badge_window_minutes)
    for zone in watched:
        if not badged_into(
            session, site=site, person_id=person_id, zone_id=zone, since=now - window, until=now
        ):
            flags.append(f"no_badge:{zone}")
        if armed_now(session, site, zone, now):
            flags.append(f"zone_armed:{zone}")
    zone = watched[-1]
    camera = cash_alerts.camera_for_zone(site, zone)
    start, end = cash_alerts.around(now, settings.clip_before_s, settings.clip_after_s)
    video = cash_alerts.clip(clips, camera, start, end)
    clip = (
        None
        if video is None
        else {
            "camera_id": video.camera_id,
            "from": video.start.isoformat(),
            "to": video.end.isoformat(),
            "url": video.url or "",
        }
    )
    return Verdict(tuple(flags), clip, zone)


def alarm(
    session: Session,
    *,
    site: Site | None,
    site_id: str,
    message: str,
    verdict: Verdict,
    context: Context,
    now: datetime,
) -> str:
    """Raise the diversion alarm (with its incident) and attach the clip; return its id."""
    result = alarms_service.raise_alarm(
        session=session,
        spec=AlarmSpec(ALARM_TYPE, message, zone_id=verdict.zone_id, priority=2),
        site=site,
        site_id=site_id,
        context=context,
        now=now,
        sops=_sops(),
    )
    if verdict.clip is not None and result.created:
        alarms_service.add_evidence(
            session=session,
            alarm_id=result.alarm.id,
            kind="bookmark",
            ref=str(verdict.clip["camera_id"]),
            now=now,
            detail={k: str(v) for k, v in verdict.clip.items() if k != "camera_id"},
        )
    return result.alarm.id
