"""Read shapes of cash rows for the API and the console: names instead of ids, blind counts kept blind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.cash import counts, movements, tills
from bastion.cash.models import (
    Carrier,
    CashContainer,
    CashCount,
    CashMovement,
    CashTask,
    Pickup,
    PosException,
    PosTransaction,
    TillSession,
    VarianceReview,
)
from bastion.cash.planner import describe_key
from bastion.cash.rules import CODE_KIND, DRAWER, RULES
from bastion.cash.schemas import (
    ContainerRead,
    CountRead,
    ExceptionRead,
    MovementRead,
    MyTill,
    PickupRead,
    ReviewRead,
    TaskRead,
    TransactionRead,
)
from bastion.people.models import Person
from bastion.site.schemas import Site


def person_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Return the names of the given cardholders."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(Person).where(Person.id.in_(sorted(wanted)))).scalars()
    return {p.id: p.name for p in rows}


def user_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Return the display names (else user names) of the given accounts."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(User).where(User.id.in_(sorted(wanted)))).scalars()
    return {u.id: u.display_name or u.username for u in rows}


def _zone(site: Site | None, zone_id: str | None) -> str | None:
    if site is None or zone_id is None:
        return None
    try:
        return site.zone(zone_id).name
    except KeyError:
        return zone_id


def camera_name(site: Site | None, camera_id: str | None) -> str | None:
    """Return a camera's display name (its id when it has none)."""
    if site is None or camera_id is None:
        return None
    try:
        device = site.device(camera_id)
    except KeyError:
        return camera_id
    return device.name or device.id


def containers(
    session: Session, site: Site, rows: list[CashContainer], *, hide: set[str] | None = None
) -> list[ContainerRead]:
    """Return containers with balances (hidden while counted) and the cashier on each till."""
    hidden = counts.counting(session=session, site_id=site.site.id) if hide is None else hide
    cash = movements.balances(session=session, container_ids=[c.id for c in rows])
    open_tills = {
        t.register_id: t.person_id
        for t in session.execute(
            select(TillSession).where(
                TillSession.site_id == site.site.id, TillSession.status != "closed"
            )
        ).scalars()
    }
    names = person_names(session, open_tills.values())
    return [
        ContainerRead(
            id=c.id,
            kind=c.kind,
            name=c.name,
            status=c.status,
            zone_id=c.zone_id,
            zone=_zone(site, c.zone_id),
            camera_id=c.camera_id,
            camera=camera_name(site, c.camera_id),
            terminal=c.terminal,
            limit_cents=c.limit_cents,
            balance_cents=None if c.id in hidden else cash.get(c.id, 0),
            being_counted=c.id in hidden,
            over_limit_since=c.over_limit_since,
            cashier=names.get(open_tills.get(c.id, "")),
            bag_number=c.bag_number,
            seal_number=c.seal_number,
        )
        for c in rows
    ]


def movement_list(session: Session, rows: list[CashMovement]) -> list[MovementRead]:
    """Return movements with the containers and cashiers named."""
    ids = {r.container_id for r in rows} | {r.counterpart_id for r in rows if r.counterpart_id}
    named = {
        c.id: c.name
        for c in session.execute(
            select(CashContainer).where(CashContainer.id.in_(sorted(ids)))
        ).scalars()
    }
    people = person_names(session, (r.person_id for r in rows))
    return [
        MovementRead(
            id=r.id,
            kind=r.kind,
            at=r.at,
            amount_cents=r.amount_cents,
            source=named.get(r.container_id, r.container_id),
            target=named.get(r.counterpart_id, r.counterpart_id) if r.counterpart_id else None,
            cashier=people.get(r.person_id or ""),
            actor=r.actor,
            reference=dict(r.reference or {}),
        )
        for r in rows
    ]


def count_read(session: Session, count: CashCount) -> CountRead:
    """Return a count; while it is open, neither the book nor any figure is included."""
    container = movements.get_container(session=session, container_id=count.container_id)
    subs = [s for s in counts.submissions(session=session, count=count) if s.round == count.round]
    users = user_names(session, (s.user_id for s in subs))
    counted_by = [users.get(s.user_id, f"user {s.user_id}") for s in subs]
    needed = 2 if count.dual else 1
    if count.status != "open":
        waiting = ""
    elif len(subs) >= needed:
        waiting = "recount"
    elif subs:
        waiting = "a second, different counter"
    else:
        waiting = "two counters" if count.dual else "a counter"
    read = CountRead(
        id=count.id,
        container_id=count.container_id,
        container=container.name,
        kind=count.kind,
        status=count.status,
        dual=count.dual,
        round=count.round,
        started_at=count.started_at,
        counted_by=counted_by,
        waiting_for=waiting,
    )
    if count.status == "completed":
        read.completed_at = count.completed_at
        read.counted_cents = count.counted_cents
        read.book_cents = count.book_cents
        read.variance_cents = count.variance_cents
        read.threshold_cents = count.threshold_cents
        read.flags = flag_texts(session, count.flags or [])
    return read


def flag_texts(session: Session, flags: Iterable[str]) -> list[str]:
    """Return count flags in words, with counters named."""
    flags = list(flags)
    ids = [int(f.rsplit(":", 1)[1]) for f in flags if f.startswith("not_badged:user:")]
    names = user_names(session, ids)
    out = []
    for flag in flags:
        if flag.startswith("not_badged:user:"):
            uid = int(flag.rsplit(":", 1)[1])
            out.append(f"{names.get(uid, f'user {uid}')} had not badged into the count room")
        else:
            out.append(flag)
    return out


def exception_list(session: Session, site: Site, rows: list[PosException]) -> list[ExceptionRead]:
    """Return review items with register, cashier and camera named."""
    registers = {
        c.id: c.name
        for c in movements.list_containers(
            session=session, site_id=site.site.id, kinds=("register",), statuses=None
        )
    }
    people = person_names(session, (r.person_id for r in rows))
    return [
        ExceptionRead(
            id=r.id,
            rule=r.rule,
            rule_name=RULES.get(r.rule, r.rule),
            pos_id=r.pos_id,
            register_name=registers.get(r.register_id or ""),
            terminal=r.terminal,
            cashier=people.get(r.person_id or "") or r.cashier,
            at=r.at,
            amount_cents=r.amount_cents,
            summary=r.summary,
            camera_id=r.camera_id,
            camera=camera_name(site, r.camera_id),
            clip_url=r.clip_url,
            clip_from=r.clip_from,
            clip_to=r.clip_to,
            status=r.status,
            reviewed_by=r.reviewed_by,
            reviewed_at=r.reviewed_at,
        )
        for r in rows
    ]


def review_list(
    session: Session, rows: list[VarianceReview], site: Site | None = None
) -> list[ReviewRead]:
    """Return variance reviews with the container and the camera named."""
    named = {
        c.id: c.name
        for c in session.execute(
            select(CashContainer).where(CashContainer.id.in_([r.container_id for r in rows]))
        ).scalars()
    }
    return [
        ReviewRead(
            id=r.id,
            count_id=r.count_id,
            container=named.get(r.container_id, r.container_id),
            variance_cents=r.variance_cents,
            threshold_cents=r.threshold_cents,
            level=r.level,
            status=r.status,
            due_at=r.due_at,
            outcome=r.outcome,
            alarm_id=r.alarm_id,
            camera_id=r.camera_id,
            camera=camera_name(site, r.camera_id) or r.camera_id,
            clip_url=r.clip_url,
            clip_from=r.clip_from,
            clip_to=r.clip_to,
            opened_at=r.opened_at,
        )
        for r in rows
    ]


def task_read(task: CashTask) -> TaskRead:
    """Return a task."""
    return TaskRead(
        id=task.id,
        kind=task.kind,
        title=task.title,
        detail=task.detail,
        state=task.state,
        due_at=task.due_at,
        status=task.status,
        created_at=task.created_at,
        done_at=task.done_at,
    )


def pickup_list(session: Session, rows: list[Pickup]) -> list[PickupRead]:
    """Return pickups for planners: time, slot, one-time code (until used), bags."""
    carriers = {
        c.id: c.company
        for c in session.execute(
            select(Carrier).where(Carrier.id.in_([r.carrier_id for r in rows]))
        ).scalars()
    }
    bags: dict[str, list[str]] = {}
    for bag in session.execute(
        select(CashContainer).where(CashContainer.pickup_id.in_([r.id for r in rows]))
    ).scalars():
        bags.setdefault(bag.pickup_id or "", []).append(bag.bag_number or bag.id)
    return [
        PickupRead(
            id=r.id,
            carrier=carriers.get(r.carrier_id, r.carrier_id),
            scheduled_at=r.scheduled_at,
            slot=describe_key(r.slot),
            urgent=r.urgent,
            status=r.status,
            one_time_code=r.code if r.code_used_at is None and r.status == "scheduled" else None,
            verified_at=r.verified_at,
            completed_at=r.completed_at,
            total_cents=r.total_cents,
            bags=sorted(bags.get(r.id, [])),
        )
        for r in rows
    ]


def transaction_list(rows: list[PosTransaction]) -> list[TransactionRead]:
    """Return stored POS transactions."""
    return [
        TransactionRead(
            pos_id=r.pos_id,
            terminal=r.terminal,
            cashier=r.cashier,
            at=datetime.fromtimestamp(r.at_ms / 1000, UTC),
            kind=CODE_KIND[r.kind_code].value if r.kind_code in CODE_KIND else "?",
            total_cents=r.total_cents,
            cash_cents=r.cash_cents,
            discount_cents=r.discount_cents,
            original_id=r.original_id,
            detail=r.detail,
        )
        for r in rows
    ]


def my_tills(session: Session, site: Site, person_id: str | None, now: datetime) -> list[MyTill]:
    """Return a cashier's own open tills: no balance, but whether a drop is needed."""
    if person_id is None:
        return []
    zone = ZoneInfo(site.site.timezone)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    found = []
    for till in tills.sessions_of_person(session=session, person_id=person_id):
        register = movements.get_container(session=session, container_id=till.register_id)
        if register.site_id != site.site.id:
            continue
        since_ms = int(max(midnight, till.opened_at).timestamp() * 1000)
        n = session.execute(
            select(func.count()).where(
                PosTransaction.register_id == register.id,
                PosTransaction.at_ms >= since_ms,
                PosTransaction.kind_code != DRAWER,
            )
        ).scalar_one()
        current = counts.open_count(session=session, container_id=register.id)
        found.append(
            MyTill(
                register_id=register.id,
                register_name=register.name,
                terminal=register.terminal,
                opened_at=till.opened_at,
                status=till.status,
                drop_needed=register.over_limit_since is not None,
                transactions_today=int(n),
                open_count_id=current.id if current else None,
            )
        )
    return found
