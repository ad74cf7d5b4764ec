"""Till sessions: the float in, drops and payouts, the register limit, and the close.

A cashier's shift on a register opens with a float from the safe (or vault) and an
opening count; sales cash arrives from the POS; drops go to the drop safe; the close
starts a blind closing count, and when that count is agreed the counted cash goes to the
safe and the over/short is booked so the register's book returns to zero. A till that
passes its limit asks the cashier's terminal and the manager for a drop at once, and
raises an alarm if it stays over the limit too long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash import alerts, movements
from bastion.cash.models import CashContainer, CashCount, TillSession
from bastion.cash.movements import dollars
from bastion.cash.settings import CashSettings
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_CASH_DROP_REQUESTED, CashDropRequestPayload, make_event
from bastion.site.schemas import Site
from bastion.store.ledger import stage


def open_session(*, session: Session, register_id: str) -> TillSession | None:
    """Return the register's open (or closing) till session, if any."""
    return session.execute(
        select(TillSession)
        .where(TillSession.register_id == register_id, TillSession.status != "closed")
        .order_by(TillSession.opened_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def get_session(*, session: Session, session_id: str) -> TillSession:
    """Return a till session or raise NotFound."""
    row = session.get(TillSession, session_id)
    if row is None:
        raise NotFound(f"no till session {session_id!r}")
    return row


def sessions_of_person(*, session: Session, person_id: str) -> list[TillSession]:
    """Return a person's till sessions that are not closed (a cashier's own tills)."""
    return list(
        session.execute(
            select(TillSession).where(
                TillSession.person_id == person_id, TillSession.status != "closed"
            )
        ).scalars()
    )


def _register(container: CashContainer) -> CashContainer:
    if container.kind != "register":
        raise InvalidInput(f"{container.name} is not a register")
    if container.status != "active":
        raise Conflict(f"{container.name} is {container.status}")
    return container


def open_till(
    *,
    session: Session,
    register: CashContainer,
    source: CashContainer,
    person_id: str,
    float_cents: int,
    context: Context,
    now: datetime,
) -> TillSession:
    """Give a cashier a register with a float moved from the safe or the vault."""
    _register(register)
    if source.kind not in ("drop_safe", "vault"):
        raise InvalidInput("the float comes from the drop safe or the vault")
    if open_session(session=session, register_id=register.id) is not None:
        raise Conflict(f"{register.name} already has an open till; close it first")
    till = TillSession(
        id=new_id(),
        site_id=register.site_id,
        register_id=register.id,
        person_id=person_id,
        status="open",
        float_cents=movements.check_amount(float_cents, what="float"),
        opened_at=now,
        opened_by=context.actor,
    )
    session.add(till)
    movements.transfer(
        session=session,
        site_id=register.site_id,
        kind="till_open",
        source=source,
        target=register,
        amount_cents=float_cents,
        context=context,
        now=now,
        person_id=person_id,
        session_id=till.id,
    )
    return till


def drop(
    *,
    session: Session,
    register: CashContainer,
    safe: CashContainer,
    amount_cents: int,
    settings: CashSettings,
    context: Context,
    now: datetime,
    witness: str | None = None,
) -> None:
    """Drop counted cash from a till into the drop safe (in camera view)."""
    _register(register)
    if safe.kind not in ("drop_safe", "vault"):
        raise InvalidInput("a drop goes into the drop safe or the vault")
    till = open_session(session=session, register_id=register.id)
    movements.transfer(
        session=session,
        site_id=register.site_id,
        kind="safe_drop",
        source=register,
        target=safe,
        amount_cents=amount_cents,
        context=context,
        now=now,
        person_id=till.person_id if till else None,
        session_id=till.id if till else None,
        reference={"witness": witness} if witness else None,
    )
    check_limit(session=session, register=register, settings=settings, context=context, now=now)


def payout(
    *,
    session: Session,
    register: CashContainer,
    amount_cents: int,
    reason: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> None:
    """Pay cash out of a till for a reason (a supplier, a petty expense)."""
    _register(register)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say what the payout was for")
    movements.check_amount(amount_cents, what="payout")
    till = open_session(session=session, register_id=register.id)
    movements.post(
        session=session,
        site_id=register.site_id,
        kind="payout",
        amount_cents=amount_cents,
        container_id=register.id,
        legs=[(register.id, -amount_cents)],
        context=context,
        now=now,
        person_id=till.person_id if till else None,
        session_id=till.id if till else None,
        reference={"reason": reason[:120]},
    )
    check_limit(session=session, register=register, settings=settings, context=context, now=now)


def limit_of(register: CashContainer, settings: CashSettings) -> int:
    """Return the register's cash limit (its own, else the site's)."""
    return register.limit_cents or settings.register_limit_cents


def check_limit(
    *,
    session: Session,
    register: CashContainer,
    settings: CashSettings,
    context: Context,
    now: datetime,
    cash: int | None = None,
) -> bool:
    """Start or end the register's over-limit excursion; return True when a drop was requested.

    Passing the limit tells the cashier's terminal (``cash.drop_requested``, which the POS
    adapter relays) and the manager's call tree, once per excursion.
    """
    if cash is None:
        cash = movements.balance(session=session, container_id=register.id)
    limit = limit_of(register, settings)
    if cash <= limit:
        register.over_limit_since = None
        register.alarm_raised = False
        return False
    if register.over_limit_since is not None:
        return False
    register.over_limit_since = now
    register.alarm_raised = False
    stage(
        session,
        make_event(
            EVENT_CASH_DROP_REQUESTED,
            CashDropRequestPayload(
                device_id=register.id,
                terminal=register.terminal,
                balance_cents=cash,
                limit_cents=limit,
            ),
            context=context,
            time=now,
            site=register.site_id,
        ),
    )
    alerts.notify(
        session=session,
        call_tree=settings.manager_call_tree,
        message=f"{register.name} is over its {dollars(limit)} limit: drop cash to the safe now.",
        site_id=register.site_id,
        context=context,
        now=now,
        zone_id=register.zone_id,
    )
    return True


def overdue_drops(
    *,
    session: Session,
    site: Site,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> list[str]:
    """Raise an alarm for each register over its limit for too long (once per excursion)."""
    raised: list[str] = []
    cutoff = now - timedelta(minutes=settings.over_limit_alarm_minutes)
    rows = session.execute(
        select(CashContainer).where(
            CashContainer.site_id == site.site.id,
            CashContainer.kind == "register",
            CashContainer.over_limit_since.is_not(None),
            CashContainer.over_limit_since <= cutoff,
            CashContainer.alarm_raised.is_(False),
        )
    ).scalars()
    for register in rows:
        register.alarm_raised = True
        minutes = int((now - (register.over_limit_since or now)).total_seconds() // 60)
        raised.append(
            alerts.raise_alarm(
                session=session,
                site=site,
                site_id=site.site.id,
                alarm_type="till_over_limit",
                message=(
                    f"{register.name} has been over its {dollars(limit_of(register, settings))} "
                    f"limit for {minutes} min without a drop"
                ),
                context=context,
                now=now,
                zone_id=register.zone_id,
                device_id=register.camera_id,
            )
        )
    return raised


def start_close(
    *,
    session: Session,
    register: CashContainer,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> CashCount:
    """Stop the till and start its blind closing count (dual where the site asks)."""
    from bastion.cash import counts

    _register(register)
    till = open_session(session=session, register_id=register.id)
    if till is None:
        raise Conflict(f"{register.name} has no open till")
    if till.status == "closing":
        raise Conflict(f"{register.name} is already being counted")
    till.status = "closing"
    count = counts.start(
        session=session,
        container=register,
        kind="closing",
        settings=settings,
        context=context,
        now=now,
        session_id=till.id,
    )
    till.closing_count_id = count.id
    return count


def finish_close(
    *,
    session: Session,
    count: CashCount,
    context: Context,
    now: datetime,
) -> None:
    """Move an agreed closing count to the drop safe, book the over/short, close the till."""
    register = movements.get_container(session=session, container_id=count.container_id)
    till = get_session(session=session, session_id=count.session_id or "")
    safes = movements.list_containers(
        session=session, site_id=register.site_id, kinds=("drop_safe", "vault")
    )
    if not safes:
        raise NotFound("the site has no drop safe or vault for the closing cash")
    counted = count.counted_cents or 0
    if counted > 0:
        movements.transfer(
            session=session,
            site_id=register.site_id,
            kind="till_close",
            source=register,
            target=safes[0],
            amount_cents=counted,
            context=context,
            now=now,
            person_id=till.person_id,
            session_id=till.id,
            reference={"count": count.id},
        )
    left = movements.balance(session=session, container_id=register.id)
    if left != 0:
        movements.post(
            session=session,
            site_id=register.site_id,
            kind="over_short",
            amount_cents=abs(left),
            container_id=register.id,
            legs=[(register.id, -left)],
            context=context,
            now=now,
            person_id=till.person_id,
            session_id=till.id,
            reference={"count": count.id, "result": "short" if left > 0 else "over"},
        )
    till.status, till.closed_at = "closed", now
    register.over_limit_since, register.alarm_raised = None, False
