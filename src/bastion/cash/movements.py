"""Cash containers and the one way their balances change: posting a movement.

A movement has legs, one per container it touches (a drop is −amount on the till and
+amount on the safe; a sale's cash has only the till's leg). Each leg is an entry with
the container's running balance after it, so a balance is the last entry's and the whole
history adds up. Containers are locked in id order while posting (PostgreSQL row locks;
SQLite units of work hold the write lock), so concurrent posts never lose an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from bastion.cash.models import CashContainer, CashEntry, CashMovement
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_CASH_CONFIG,
    EVENT_CASH_MOVEMENT,
    CashConfigPayload,
    CashMovementPayload,
    make_event,
)
from bastion.site.schemas import DeviceType, Site
from bastion.store.ledger import stage

ContainerKind = Literal["register", "drop_safe", "vault", "deposit_bag"]
FIXED_KINDS: tuple[ContainerKind, ...] = ("register", "drop_safe", "vault")
KIND_LABEL = {
    "register": "Register",
    "drop_safe": "Drop safe",
    "vault": "Vault",
    "deposit_bag": "Deposit bag",
}
_ENTRY_TABLE = cast(Table, CashEntry.__table__)
MAX_MOVEMENT_CENTS = 1_000_000_000
"""$10 million: any single movement above this is a typing error, not cash."""
MovementKind = Literal[
    "funding",
    "till_open",
    "sale_cash_in",
    "refund",
    "payout",
    "safe_drop",
    "till_close",
    "over_short",
    "vault_transfer",
    "deposit_prepared",
    "pickup",
    "bank_confirmation",
]


def dollars(cents: int) -> str:
    """Format cents as dollars for people: ``$1,234.50``, ``-$3.00``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def check_amount(amount_cents: int, *, what: str = "amount") -> int:
    """Refuse zero, negative and absurd amounts with a plain message."""
    if amount_cents <= 0:
        raise InvalidInput(f"the {what} must be more than $0.00")
    if amount_cents > MAX_MOVEMENT_CENTS:
        raise InvalidInput(f"the {what} of {dollars(amount_cents)} is not plausible; check it")
    return amount_cents


# --- containers ------------------------------------------------------------------------------


def config_event(
    session: Session,
    *,
    site_id: str,
    target: str,
    action: Literal["created", "updated", "retired"],
    context: Context,
    now: datetime,
    detail: dict[str, str] | None = None,
) -> None:
    """Stage the ``cash.config`` event of a configuration change."""
    stage(
        session,
        make_event(
            EVENT_CASH_CONFIG,
            CashConfigPayload(target=target, action=action, detail=detail or {}),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def _check_place(site: Site, zone_id: str | None, camera_id: str | None) -> None:
    if zone_id is not None:
        try:
            site.zone(zone_id)
        except KeyError:
            raise InvalidInput(f"site {site.site.id} has no zone {zone_id!r}") from None
    if camera_id is not None:
        try:
            device = site.device(camera_id)
        except KeyError:
            raise InvalidInput(f"site {site.site.id} has no camera {camera_id!r}") from None
        if device.type is not DeviceType.CAMERA:
            raise InvalidInput(f"{camera_id!r} is a {device.type.value}, not a camera")


def create_container(
    *,
    session: Session,
    site: Site,
    kind: ContainerKind,
    name: str,
    context: Context,
    now: datetime,
    zone_id: str | None = None,
    camera_id: str | None = None,
    terminal: str | None = None,
    limit_cents: int | None = None,
) -> CashContainer:
    """Create a register, drop safe or vault; registers need a zone, a camera and a terminal."""
    if kind not in FIXED_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(FIXED_KINDS)}")
    name = name.strip()
    if not name:
        raise InvalidInput("give the container a name")
    if kind == "register" and (zone_id is None or camera_id is None or not terminal):
        raise InvalidInput("a register needs its zone, the camera that sees it and its terminal")
    if kind != "register" and (terminal or limit_cents is not None):
        raise InvalidInput("only registers have a POS terminal and a cash limit")
    if limit_cents is not None:
        check_amount(limit_cents, what="limit")
    _check_place(site, zone_id, camera_id)
    sid = site.site.id
    if terminal and find_by_terminal(session=session, site_id=sid, terminal=terminal):
        raise Conflict(f"terminal {terminal!r} already belongs to another register")
    if kind == "vault" and list_containers(session=session, site_id=sid, kinds=("vault",)):
        raise Conflict("the site already has a vault")
    row = CashContainer(
        id=new_id(),
        site_id=sid,
        kind=kind,
        name=name[:120],
        status="active",
        zone_id=zone_id,
        camera_id=camera_id,
        terminal=terminal,
        limit_cents=limit_cents,
        alarm_raised=False,
        created_at=now,
        created_by=context.actor,
    )
    session.add(row)
    config_event(
        session,
        site_id=sid,
        target=f"container:{row.id}",
        action="created",
        context=context,
        now=now,
        detail={"kind": kind},
    )
    return row


def update_container(
    *,
    session: Session,
    site: Site,
    container: CashContainer,
    context: Context,
    now: datetime,
    name: str | None = None,
    camera_id: str | None = None,
    limit_cents: int | None = None,
    retire: bool = False,
) -> CashContainer:
    """Rename a container, change a register's camera or limit, or retire an empty one."""
    if name is not None:
        if not name.strip():
            raise InvalidInput("give the container a name")
        container.name = name.strip()[:120]
    if camera_id is not None:
        _check_place(site, None, camera_id)
        container.camera_id = camera_id
    if limit_cents is not None:
        if container.kind != "register":
            raise InvalidInput("only registers have a cash limit")
        container.limit_cents = check_amount(limit_cents, what="limit")
    if retire:
        if balance(session=session, container_id=container.id) != 0:
            raise Conflict("empty the container (drop or transfer its cash) before retiring it")
        container.status = "retired"
    config_event(
        session,
        site_id=container.site_id,
        target=f"container:{container.id}",
        action="retired" if retire else "updated",
        context=context,
        now=now,
    )
    return container


def get_container(*, session: Session, container_id: str) -> CashContainer:
    """Return a container or raise NotFound."""
    row = session.get(CashContainer, container_id)
    if row is None:
        raise NotFound(f"no cash container {container_id!r}")
    return row


def find_by_terminal(*, session: Session, site_id: str, terminal: str) -> CashContainer | None:
    """Return the register bound to a POS terminal, if any."""
    return session.execute(
        select(CashContainer).where(
            CashContainer.site_id == site_id, CashContainer.terminal == terminal
        )
    ).scalar_one_or_none()


def list_containers(
    *,
    session: Session,
    site_id: str,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = ("active",),
) -> list[CashContainer]:
    """Return a site's containers (active ones by default), registers first, by name."""
    stmt = select(CashContainer).where(CashContainer.site_id == site_id)
    if kinds is not None:
        stmt = stmt.where(CashContainer.kind.in_(list(kinds)))
    if statuses is not None:
        stmt = stmt.where(CashContainer.status.in_(list(statuses)))
    order = {"register": 0, "drop_safe": 1, "vault": 2, "deposit_bag": 3}
    rows = list(session.execute(stmt).scalars())
    return sorted(rows, key=lambda c: (order.get(c.kind, 9), c.name, c.id))


def vault_of(*, session: Session, site_id: str) -> CashContainer:
    """Return the site's vault or raise NotFound."""
    rows = list_containers(session=session, site_id=site_id, kinds=("vault",))
    if not rows:
        raise NotFound(f"site {site_id} has no vault; add one first")
    return rows[0]


# --- balances --------------------------------------------------------------------------------


def balance(*, session: Session, container_id: str) -> int:
    """Return the container's balance: the running balance after its last entry (0 if none)."""
    value = session.execute(
        select(CashEntry.balance_after_cents)
        .where(CashEntry.container_id == container_id)
        .order_by(CashEntry.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return int(value or 0)


def balances(*, session: Session, container_ids: Iterable[str]) -> dict[str, int]:
    """Return the balance of each container in one query."""
    ids = sorted(set(container_ids))
    if not ids:
        return {}
    last = (
        select(CashEntry.container_id, func.max(CashEntry.id).label("last_id"))
        .where(CashEntry.container_id.in_(ids))
        .group_by(CashEntry.container_id)
        .subquery()
    )
    rows = session.execute(
        select(CashEntry.container_id, CashEntry.balance_after_cents).join(
            last, CashEntry.id == last.c.last_id
        )
    ).all()
    found = {cid: int(value) for cid, value in rows}
    return {cid: found.get(cid, 0) for cid in ids}


def recomputed_balance(*, session: Session, container_id: str) -> int:
    """Return the sum of a container's entries (checks that the running balance adds up)."""
    value = session.execute(
        select(func.coalesce(func.sum(CashEntry.delta_cents), 0)).where(
            CashEntry.container_id == container_id
        )
    ).scalar_one()
    return int(value)


# --- posting ---------------------------------------------------------------------------------


def _lock(session: Session, ids: Sequence[str]) -> None:
    """Take the containers' row locks in id order (a no-op on SQLite, which locks the file)."""
    session.execute(
        select(CashContainer.id)
        .where(CashContainer.id.in_(sorted(ids)))
        .order_by(CashContainer.id)
        .with_for_update()
    ).all()


@dataclass(frozen=True)
class Post:
    """One movement to post: its kind, amount, main container and legs (container, delta)."""

    kind: MovementKind
    amount_cents: int
    container_id: str
    legs: Sequence[tuple[str, int]]
    counterpart_id: str | None = None
    person_id: str | None = None
    session_id: str | None = None
    reference: dict[str, str] | None = None


def post_many(
    *, session: Session, site_id: str, posts: Sequence[Post], context: Context, now: datetime
) -> list[CashMovement]:
    """Record movements, their entries and their ``cash.movement`` events together.

    The containers touched are locked once and their balances read once, however many
    movements there are (a POS batch posts one per register and kind).
    """
    touched = sorted({cid for p in posts for cid, _ in p.legs})
    if touched:
        _lock(session, touched)
    current = balances(session=session, container_ids=touched)
    events, rows = [], []
    for p in posts:
        if p.amount_cents < 0:
            raise InvalidInput("a movement's amount cannot be negative")
        legs = [cid for cid, _ in p.legs]
        if len(set(legs)) != len(legs):
            raise InvalidInput("a movement touches each container once")
        reference = dict(p.reference or {})
        event = make_event(
            EVENT_CASH_MOVEMENT,
            CashMovementPayload(
                movement_id=new_id(),
                kind=p.kind,
                device_id=p.container_id,
                counterpart_id=p.counterpart_id,
                amount_cents=p.amount_cents,
                subject=p.person_id,
                reference=reference,
            ),
            context=context,
            time=now,
            site=site_id,
        )
        movement = CashMovement(
            id=event.payload.movement_id,
            site_id=site_id,
            kind=p.kind,
            container_id=p.container_id,
            counterpart_id=p.counterpart_id,
            amount_cents=p.amount_cents,
            at=now,
            actor=context.actor,
            context_id=context.id,
            event_id=event.id,
            person_id=p.person_id,
            session_id=p.session_id,
            reference=reference,
        )
        rows.append(movement)
        events.append(event)
    session.add_all(rows)
    session.flush()  # movements before their entries (foreign key)
    entries = []
    for p, movement in zip(posts, rows, strict=True):
        for cid, delta in p.legs:
            current[cid] += delta
            entries.append(
                {
                    "movement_id": movement.id,
                    "container_id": cid,
                    "delta_cents": delta,
                    "balance_after_cents": current[cid],
                    "at": now,
                }
            )
    # Entries are never handed back, so they go in as one Core insert (in posting order,
    # which the running balances follow) rather than as ORM objects flushed one by one.
    if entries:
        session.execute(insert(_ENTRY_TABLE), entries)
    stage(session, *events)
    return rows


def post(
    *,
    session: Session,
    site_id: str,
    kind: MovementKind,
    amount_cents: int,
    container_id: str,
    legs: Sequence[tuple[str, int]],
    context: Context,
    now: datetime,
    counterpart_id: str | None = None,
    person_id: str | None = None,
    session_id: str | None = None,
    reference: dict[str, str] | None = None,
) -> CashMovement:
    """Record one movement, its entries and its ``cash.movement`` ledger event together."""
    return post_many(
        session=session,
        site_id=site_id,
        posts=[
            Post(
                kind,
                amount_cents,
                container_id,
                legs,
                counterpart_id,
                person_id,
                session_id,
                reference,
            )
        ],
        context=context,
        now=now,
    )[0]


def transfer(
    *,
    session: Session,
    site_id: str,
    kind: MovementKind,
    source: CashContainer,
    target: CashContainer,
    amount_cents: int,
    context: Context,
    now: datetime,
    person_id: str | None = None,
    session_id: str | None = None,
    reference: dict[str, str] | None = None,
) -> CashMovement:
    """Move counted cash from one container to another of the same site."""
    check_amount(amount_cents)
    if source.id == target.id:
        raise InvalidInput("the cash must go to a different container")
    for row in (source, target):
        if row.site_id != site_id:
            raise InvalidInput(f"{row.name} belongs to another site")
        if row.status == "retired":
            raise Conflict(f"{row.name} is retired")
    return post(
        session=session,
        site_id=site_id,
        kind=kind,
        amount_cents=amount_cents,
        container_id=source.id,
        counterpart_id=target.id,
        legs=[(source.id, -amount_cents), (target.id, amount_cents)],
        context=context,
        now=now,
        person_id=person_id,
        session_id=session_id,
        reference=reference,
    )


def movements_of(
    *,
    session: Session,
    site_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    container_id: str | None = None,
    limit: int = 500,
) -> list[CashMovement]:
    """Return a site's movements, newest first."""
    stmt = select(CashMovement).where(CashMovement.site_id == site_id)
    if since is not None:
        stmt = stmt.where(CashMovement.at >= since)
    if until is not None:
        stmt = stmt.where(CashMovement.at < until)
    if container_id is not None:
        stmt = stmt.where(
            (CashMovement.container_id == container_id)
            | (CashMovement.counterpart_id == container_id)
        )
    stmt = stmt.order_by(CashMovement.at.desc(), CashMovement.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())
