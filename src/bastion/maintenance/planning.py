"""Asset register, maintenance schedules, work orders and upgrade planning.

The register is generated from the site model (one row per device) and completed by
people (model, firmware, install date, warranty, end of life, replacement cost).
Schedules recur every N days; when one falls due a work order with its checklist is
opened, and completing the order moves the schedule on. Every change is ledgered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from ulid import ULID

from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_MAINTENANCE, MaintenancePayload, make_event
from bastion.maintenance.models import Asset, Schedule, WorkOrder
from bastion.maintenance.uptime import DeviceUptime
from bastion.site.schemas import Site
from bastion.store.ledger import stage

TASKS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "assessment": (
        "Security assessment",
        182,
        (
            "Walk the perimeter, doors and locks",
            "Test every camera, sensor and alarm",
            "Review access levels and key holders",
            "Record findings and planned fixes",
        ),
    ),
    "camera_check": (
        "Camera view check",
        30,
        (
            "Run the view check on every camera",
            "Confirm no view is blocked by new inventory",
            "Confirm recordings of required areas have no gaps",
        ),
    ),
    "battery_test": (
        "Battery test",
        182,
        ("Test panel and sensor batteries", "Replace weak batteries"),
    ),
    "ups_test": ("UPS test", 90, ("Run the UPS self-test", "Record runtime on battery")),
    "firmware_update": (
        "Firmware and software updates",
        90,
        ("Check vendors' notices for new firmware", "Update and record the new versions"),
    ),
    "walk_test": ("Walk test", 182, ("Walk-test every zone's sensors",)),
}
"""Known tasks: title, default interval in days, and checklist."""


@dataclass(frozen=True)
class UpgradeItem:
    """A device to plan replacing, why, and what it costs."""

    device_id: str
    name: str
    reasons: tuple[str, ...]
    replacement_cents: int | None


def _record(
    session: Session,
    site_id: str,
    target: str,
    action: Any,
    context: Context,
    now: datetime,
    **detail: str,
) -> None:
    stage(
        session,
        make_event(
            EVENT_MAINTENANCE,
            MaintenancePayload(target=target, action=action, detail=detail),
            context=context,
            time=now,
            site=site_id,
        ),
    )


# --- assets ----------------------------------------------------------------------------------


def register(*, session: Session, site: Site, context: Context, now: datetime) -> list[Asset]:
    """Return the site's asset register, adding a row for every device it lacks."""
    rows = {
        a.device_id: a
        for a in session.execute(select(Asset).where(Asset.site_id == site.site.id)).scalars()
    }
    for device in site.devices:
        if device.id not in rows:
            row = Asset(
                site_id=site.site.id,
                device_id=device.id,
                kind=device.type.value,
                model="",
                firmware="",
                updated_at=now,
                updated_by=context.actor,
            )
            session.add(row)
            rows[device.id] = row
    session.flush()
    order = {d.id: i for i, d in enumerate(site.devices)}
    return sorted(rows.values(), key=lambda a: (order.get(a.device_id, 1 << 30), a.device_id))


def registered(*, session: Session, site_id: str) -> dict[str, Asset]:
    """Return the stored register rows of a site by device id."""
    rows = session.execute(select(Asset).where(Asset.site_id == site_id)).scalars()
    return {a.device_id: a for a in rows}


def blank_assets(site: Site, known: dict[str, Asset]) -> list[Asset]:
    """Return the register in site-model order: stored rows, and blank ones (not stored)."""
    out = []
    for device in site.devices:
        row = known.get(device.id)
        if row is None:
            row = Asset(site_id=site.site.id, device_id=device.id, kind=device.type.value)
            row.model, row.firmware = "", ""
        out.append(row)
    return out


def record_reference(
    *, session: Session, site_id: str, camera_id: str, context: Context, now: datetime
) -> None:
    """Ledger that a camera's reference view was approved."""
    _record(session, site_id, f"camera:{camera_id}", "approved", context, now)


ASSET_FIELDS = (
    "model",
    "firmware",
    "installed_on",
    "warranty_until",
    "end_of_life",
    "replacement_cents",
)


def update_asset(
    *,
    session: Session,
    site: Site,
    device_id: str,
    changes: dict[str, Any],
    context: Context,
    now: datetime,
) -> Asset:
    """Change what is known about one device (model, firmware, dates, replacement cost)."""
    register(session=session, site=site, context=context, now=now)
    row = session.get(Asset, (site.site.id, device_id))
    if row is None:
        raise NotFound(f"site {site.site.id!r} has no device {device_id!r}")
    unknown = sorted(set(changes) - set(ASSET_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown asset fields: {', '.join(unknown)}")
    for name, value in changes.items():
        # A text field sent as null means "not known any more": stored as empty text.
        setattr(row, name, "" if value is None and name in ("model", "firmware") else value)
    row.updated_at, row.updated_by = now, context.actor
    detail = {k: str(v) for k, v in changes.items() if k in ("model", "firmware")}
    _record(session, site.site.id, f"asset:{device_id}", "updated", context, now, **detail)
    return row


def upgrade_plan(
    assets: list[Asset], uptime: list[DeviceUptime], today: date, *, min_uptime: float = 99.0
) -> list[UpgradeItem]:
    """Return devices past end of life, out of warranty with failures, or with poor uptime."""
    by_device = {u.device_id: u for u in uptime}
    items = []
    for asset in assets:
        reasons = []
        if asset.end_of_life is not None and asset.end_of_life <= today:
            reasons.append(f"past end of life ({asset.end_of_life.isoformat()})")
        health = by_device.get(asset.device_id)
        if health is not None and health.uptime_pct < min_uptime:
            reasons.append(f"uptime {health.uptime_pct:.1f}%")
        if (
            health is not None
            and health.failures
            and asset.warranty_until is not None
            and asset.warranty_until < today
        ):
            reasons.append(f"{health.failures} failure(s) out of warranty")
        if reasons:
            name = health.name if health is not None else asset.device_id
            items.append(
                UpgradeItem(asset.device_id, name, tuple(reasons), asset.replacement_cents)
            )
    return items


# --- schedules and work orders ---------------------------------------------------------------


def ensure_default_schedules(
    *, session: Session, site: Site, context: Context, now: datetime
) -> list[Schedule]:
    """Give a site the standard schedules it has none of; return all of its schedules."""
    existing = list_schedules(session=session, site_id=site.site.id)
    have = {s.task for s in existing}
    for task in TASKS:
        if task not in have:
            existing.append(
                add_schedule(session=session, site=site, task=task, context=context, now=now)
            )
    return existing


def add_schedule(
    *,
    session: Session,
    site: Site,
    task: str,
    context: Context,
    now: datetime,
    every_days: int | None = None,
    first_due: datetime | None = None,
    zone_id: str | None = None,
) -> Schedule:
    """Add a recurring task (interval defaults to the task's usual one)."""
    if task not in TASKS:
        raise InvalidInput(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    title, default_days, _ = TASKS[task]
    days = default_days if every_days is None else every_days
    if not 1 <= days <= 3660:
        raise InvalidInput("a schedule repeats every 1 to 3660 days")
    if zone_id is not None:
        try:
            site.zone(zone_id)
        except KeyError:
            raise NotFound(f"site {site.site.id!r} has no zone {zone_id!r}") from None
    row = Schedule(
        id=str(ULID()),
        site_id=site.site.id,
        task=task,
        title=title if zone_id is None else f"{title}: {site.zone(zone_id).name}",
        every_days=days,
        zone_id=zone_id,
        next_due=first_due or now,
        created_at=now,
        created_by=context.actor,
    )
    session.add(row)
    session.flush()
    _record(session, site.site.id, f"schedule:{row.id}", "created", context, now, task=task)
    return row


def list_schedules(*, session: Session, site_id: str) -> list[Schedule]:
    """Return a site's schedules, soonest due first."""
    return list(
        session.execute(
            select(Schedule).where(Schedule.site_id == site_id).order_by(Schedule.next_due)
        ).scalars()
    )


def open_due(*, session: Session, now: datetime, context: Context) -> list[WorkOrder]:
    """Open a work order for every schedule that is due and has no open order yet."""
    opened = []
    for schedule in session.execute(select(Schedule).where(Schedule.next_due <= now)).scalars():
        pending = session.scalar(
            select(WorkOrder.id).where(
                WorkOrder.schedule_id == schedule.id, WorkOrder.state == "open"
            )
        )
        if pending is None:
            opened.append(_open(session, schedule, context, now))
    return opened


def _open(session: Session, schedule: Schedule, context: Context, now: datetime) -> WorkOrder:
    _, _, checklist = TASKS[schedule.task]
    order = WorkOrder(
        id=str(ULID()),
        site_id=schedule.site_id,
        schedule_id=schedule.id,
        task=schedule.task,
        title=schedule.title,
        state="open",
        checklist=[{"item": item, "done": False} for item in checklist],
        due_at=schedule.next_due,
        created_at=now,
        created_by=context.actor,
        note="",
    )
    session.add(order)
    session.flush()
    _record(session, schedule.site_id, f"work_order:{order.id}", "created", context, now)
    return order


def complete(
    *,
    session: Session,
    site_id: str,
    order_id: str,
    done_items: list[str],
    note: str,
    context: Context,
    now: datetime,
) -> WorkOrder:
    """Complete a work order; every checklist item must be ticked; its schedule moves on."""
    order = work_order(session=session, site_id=site_id, order_id=order_id)
    if order.state != "open":
        raise Conflict(f"work order {order_id} is already {order.state}")
    items = [entry["item"] for entry in order.checklist]
    missing = [item for item in items if item not in done_items]
    if missing:
        raise InvalidInput(f"not yet done: {'; '.join(missing)}")
    order.checklist = [{"item": item, "done": True} for item in items]
    order.state, order.done_at, order.done_by, order.note = "done", now, context.actor, note
    if order.schedule_id is not None:
        schedule = session.get(Schedule, order.schedule_id)
        if schedule is not None:
            schedule.last_done = now
            schedule.next_due = now + timedelta(days=schedule.every_days)
    _record(session, site_id, f"work_order:{order.id}", "done", context, now, task=order.task)
    return order


def work_order(*, session: Session, site_id: str, order_id: str) -> WorkOrder:
    """Return a work order of a site (NotFound when unknown or elsewhere)."""
    order = session.get(WorkOrder, order_id)
    if order is None or order.site_id != site_id:
        raise NotFound(f"no work order {order_id!r} at site {site_id}")
    return order


def work_orders(*, session: Session, site_id: str, state: str | None = None) -> list[WorkOrder]:
    """Return a site's work orders, soonest due first."""
    stmt = select(WorkOrder).where(WorkOrder.site_id == site_id)
    if state is not None:
        stmt = stmt.where(WorkOrder.state == state)
    return list(session.execute(stmt.order_by(WorkOrder.due_at)).scalars())
