"""Walk tests: a technician tests every sensor of a zone while Bastion holds its alarms.

Starting a test puts the zone's sensors (and the doors their contacts and readers sit
on) on hold until the window ends — ``device.hold``, which the alarms domain and the
rules engine honour for those devices only. Each device must report once in the
window; when it does it passes, and when the window closes (or the technician finishes)
every silent device fails. Start, each device seen and the results are ledgered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from ulid import ULID

from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_DEVICE_HOLD,
    EVENT_WALK_TEST,
    DeviceHoldPayload,
    Event,
    WalkTestPayload,
    make_event,
)
from bastion.maintenance.models import WalkTest, WalkTestDevice
from bastion.site.schemas import Device, DeviceType, Site
from bastion.store.ledger import stage

WALKABLE = frozenset(
    {
        DeviceType.MOTION,
        DeviceType.CONTACT,
        DeviceType.GLASS_BREAK,
        DeviceType.PANIC,
        DeviceType.FENCE_SENSOR,
        DeviceType.REX,
        DeviceType.READER,
    }
)
"""Devices a person can trigger on a walk (cameras and environmental sensors are not)."""
MAX_WINDOW = timedelta(hours=4)


@dataclass(frozen=True)
class Started:
    """A walk test that began, and the devices it holds."""

    test: WalkTest
    devices: tuple[str, ...]
    held: tuple[str, ...]


def devices_of(site: Site, zone_id: str) -> list[Device]:
    """Return the walkable devices of a zone: those watching it, and those on its doors."""
    try:
        site.zone(zone_id)
    except KeyError:
        raise NotFound(f"site {site.site.id!r} has no zone {zone_id!r}") from None
    doors = {d.id for d in site.doors if zone_id in (d.to_zone, d.from_zone)}
    return [
        d
        for d in site.devices
        if d.type in WALKABLE and (d.zone == zone_id or (d.zone is None and d.door in doors))
    ]


def start(
    *,
    session: Session,
    site: Site,
    zone_id: str,
    minutes: float,
    context: Context,
    now: datetime,
) -> Started:
    """Open a walk test of a zone for ``minutes`` and put its devices on hold."""
    if not 0 < minutes <= MAX_WINDOW.total_seconds() / 60:
        raise InvalidInput("a walk test lasts between 1 minute and 4 hours")
    devices = devices_of(site, zone_id)
    if not devices:
        raise InvalidInput(f"zone {zone_id!r} has no sensors a walk test can trigger")
    running = session.scalar(
        select(WalkTest).where(
            WalkTest.site_id == site.site.id,
            WalkTest.zone_id == zone_id,
            WalkTest.state == "running",
        )
    )
    if running is not None:
        raise Conflict(f"a walk test of zone {zone_id!r} is already running")
    test = WalkTest(
        id=str(ULID()),
        site_id=site.site.id,
        zone_id=zone_id,
        state="running",
        started_at=now,
        ends_at=now + timedelta(minutes=minutes),
        started_by=context.actor,
    )
    session.add(test)
    session.flush()
    ids = tuple(d.id for d in devices)
    for device_id in ids:
        session.add(WalkTestDevice(walk_test_id=test.id, device_id=device_id, result="pending"))
    held = held_by(site, ids)
    _stage(session, site.site.id, context, now, test, "started")
    stage(
        session,
        make_event(
            EVENT_DEVICE_HOLD,
            DeviceHoldPayload(
                device_ids=held, active=True, until=test.ends_at, reason=f"walk test {test.id}"
            ),
            context=context,
            time=now,
            site=site.site.id,
        ),
    )
    return Started(test, ids, held)


def see(
    *, session: Session, site_id: str | None, device_id: str, context: Context, now: datetime
) -> list[str]:
    """Mark a device as seen by the running walk tests that wait for it; return their ids."""
    rows = session.execute(
        select(WalkTestDevice, WalkTest)
        .join(WalkTest, WalkTest.id == WalkTestDevice.walk_test_id)
        .where(
            WalkTest.site_id == site_id,
            WalkTest.state == "running",
            WalkTestDevice.device_id == device_id,
            WalkTestDevice.result == "pending",
        )
    ).all()
    passed = []
    for device, test in rows:
        if now > test.ends_at:
            continue
        device.result, device.seen_at = "passed", now
        _stage(session, test.site_id, context, now, test, "device_seen", device_id=device_id)
        passed.append(test.id)
    return passed


def finish(
    *,
    session: Session,
    site: Site,
    test_id: str,
    context: Context,
    now: datetime,
    cancel: bool = False,
) -> WalkTest:
    """Close a walk test: silent devices fail, the hold is released, the result ledgered."""
    test = get(session=session, test_id=test_id)
    if test.site_id != site.site.id:
        raise NotFound(f"no walk test {test_id!r} at site {site.site.id}")
    if test.state != "running":
        raise Conflict(f"walk test {test_id} is already {test.state}")
    devices = results(session=session, test_id=test_id)
    for device in devices:
        if device.result == "pending":
            device.result = "cancelled" if cancel else "failed"
    failed = tuple(d.device_id for d in devices if d.result == "failed")
    passed = tuple(d.device_id for d in devices if d.result == "passed")
    test.state = "cancelled" if cancel else ("failed" if failed else "passed")
    test.finished_at = now
    action = "cancelled" if cancel else "finished"
    _stage(session, test.site_id, context, now, test, action, passed=passed, failed=failed)
    held = held_by(site, [d.device_id for d in devices])
    stage(
        session,
        make_event(
            EVENT_DEVICE_HOLD,
            DeviceHoldPayload(device_ids=held, active=False, reason=f"walk test {test.id} ended"),
            context=context,
            time=now,
            site=test.site_id,
        ),
    )
    return test


def get(*, session: Session, test_id: str) -> WalkTest:
    """Return a walk test (NotFound when there is none)."""
    test = session.get(WalkTest, test_id)
    if test is None:
        raise NotFound(f"no walk test {test_id!r}")
    return test


def results(*, session: Session, test_id: str) -> list[WalkTestDevice]:
    """Return the devices of a walk test and how each did."""
    return list(
        session.execute(
            select(WalkTestDevice)
            .where(WalkTestDevice.walk_test_id == test_id)
            .order_by(WalkTestDevice.device_id)
        ).scalars()
    )


def running(*, session: Session) -> list[WalkTest]:
    """Return every walk test still running (all sites)."""
    return list(session.execute(select(WalkTest).where(WalkTest.state == "running")).scalars())


def recent(*, session: Session, site_id: str, limit: int = 50) -> list[WalkTest]:
    """Return a site's walk tests, newest first."""
    return list(
        session.execute(
            select(WalkTest)
            .where(WalkTest.site_id == site_id)
            .order_by(WalkTest.started_at.desc())
            .limit(limit)
        ).scalars()
    )


def held_by(site: Site, device_ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return what a walk test of these devices holds: them, and the doors they sit on.

    Door events (forced, held open) name the door, not its contact, so the door is held too.
    """
    known = {d.id: d for d in site.devices}
    doors = {door for i in device_ids if i in known and (door := known[i].door) is not None}
    return (*device_ids, *sorted(doors))


def _stage(
    session: Session,
    site_id: str,
    context: Context,
    now: datetime,
    test: WalkTest,
    action: Any,
    **extra: Any,
) -> Event[WalkTestPayload]:
    event = make_event(
        EVENT_WALK_TEST,
        WalkTestPayload(walk_test_id=test.id, zone_id=test.zone_id, action=action, **extra),
        context=context,
        time=now,
        site=site_id,
    )
    stage(session, event)
    return event
