"""Deposits and armored pickups: bags and seals, carrier verification, bank reconciliation.

Cash leaves the vault in a sealed deposit bag (a seal number is never reused). A pickup
is planned by :mod:`bastion.cash.planner`; only pickup planners see its time and its
one-time code (for the carrier's dispatcher), and the code works once. At the door the guard must give the
carrier's code word (or show an ID, which is recorded), the pickup's one-time code, and
the seal numbers of the bags. A refusal is kept and raises an alarm; it never moves cash.
The bank's confirmation is reconciled per bag: a different amount, or none in time,
raises an alarm.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash import alerts, movements, planner
from bastion.cash.models import (
    BankConfirmation,
    Carrier,
    CashContainer,
    Pickup,
    PickupAttempt,
)
from bastion.cash.movements import dollars
from bastion.cash.settings import CashSettings
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_CASH_PICKUP, CashPickupPayload, make_event
from bastion.site.schemas import Site
from bastion.store import crypto
from bastion.store.ledger import stage

CODE_PURPOSE = "cash-pickup-code"
WORD_PURPOSE = "cash-carrier-word"


def _key(value: str, purpose: str) -> str:
    return crypto.keyring().keyed_hash(value.strip().lower(), purpose=purpose)


def _match(value: str | None, key: str, purpose: str) -> bool:
    return bool(value and value.strip()) and secrets.compare_digest(_key(value or "", purpose), key)


@dataclass
class Refused:
    """Why an action at the pickup door was refused, and the alarm it raised."""

    reason: str
    alarm_id: str


@dataclass
class Planned:
    """A planned pickup and its one-time code (stored encrypted; only planners read it)."""

    pickup: Pickup
    code: str


@dataclass
class Verified:
    """The carrier passed verification."""

    pickup: Pickup
    notes: list[str] = field(default_factory=list)


def _event(
    session: Session,
    pickup: Pickup,
    action: str,
    context: Context,
    now: datetime,
    *,
    bags: tuple[str, ...] = (),
    reason: str = "",
) -> None:
    stage(
        session,
        make_event(
            EVENT_CASH_PICKUP,
            CashPickupPayload(
                pickup_id=pickup.id,
                action=action,
                carrier_id=pickup.carrier_id,
                bags=bags,
                reason=reason,
            ),
            context=context,
            time=now,
            site=pickup.site_id,
        ),
    )


# --- carriers --------------------------------------------------------------------------------


def add_carrier(
    *,
    session: Session,
    site_id: str,
    company: str,
    code_word: str,
    context: Context,
    now: datetime,
) -> Carrier:
    """Register an armored-car or courier company and its standing code word."""
    company = company.strip()
    if not company:
        raise InvalidInput("give the carrier company's name")
    if len(code_word.strip()) < 6:
        raise InvalidInput("the code word needs at least 6 characters")
    carrier = Carrier(
        id=new_id(),
        site_id=site_id,
        company=company[:120],
        code_word_key=_key(code_word, WORD_PURPOSE),
        active=True,
        created_at=now,
        created_by=context.actor,
    )
    session.add(carrier)
    movements.config_event(
        session,
        site_id=site_id,
        target=f"carrier:{carrier.id}",
        action="created",
        context=context,
        now=now,
    )
    return carrier


def list_carriers(*, session: Session, site_id: str) -> list[Carrier]:
    """Return a site's active carriers by company name."""
    return list(
        session.execute(
            select(Carrier)
            .where(Carrier.site_id == site_id, Carrier.active.is_(True))
            .order_by(Carrier.company)
        ).scalars()
    )


def get_carrier(*, session: Session, carrier_id: str) -> Carrier:
    """Return a carrier or raise NotFound."""
    row = session.get(Carrier, carrier_id)
    if row is None:
        raise NotFound(f"no carrier {carrier_id!r}")
    return row


# --- deposits --------------------------------------------------------------------------------


def seal_used(*, session: Session, site_id: str, seal_number: str) -> bool:
    """Return True when a seal number was already used at the site."""
    return (
        session.execute(
            select(CashContainer.id).where(
                CashContainer.site_id == site_id, CashContainer.seal_number == seal_number
            )
        ).first()
        is not None
    )


def prepare_deposit(
    *,
    session: Session,
    site: Site,
    amount_cents: int,
    bag_number: str,
    seal_number: str,
    context: Context,
    now: datetime,
) -> CashContainer | Refused:
    """Seal cash from the vault into a deposit bag; a reused seal is refused with an alarm."""
    bag_number, seal_number = bag_number.strip(), seal_number.strip()
    if not bag_number or not seal_number:
        raise InvalidInput("give the bag number and the seal number")
    movements.check_amount(amount_cents, what="deposit")
    site_id = site.site.id
    vault = movements.vault_of(session=session, site_id=site_id)
    if seal_used(session=session, site_id=site_id, seal_number=seal_number):
        alarm = alerts.raise_alarm(
            session=session,
            site=site,
            site_id=site_id,
            alarm_type="seal_reused",
            message=f"Seal {seal_number} was already used on an earlier deposit bag",
            context=context,
            now=now,
            zone_id=vault.zone_id,
        )
        return Refused(f"seal {seal_number} was already used; use a new seal", alarm)
    bag = CashContainer(
        id=new_id(),
        site_id=site_id,
        kind="deposit_bag",
        name=f"Deposit bag {bag_number}",
        status="prepared",
        zone_id=vault.zone_id,
        bag_number=bag_number[:64],
        seal_number=seal_number[:64],
        alarm_raised=False,
        created_at=now,
        created_by=context.actor,
    )
    session.add(bag)
    session.flush()
    movements.transfer(
        session=session,
        site_id=site_id,
        kind="deposit_prepared",
        source=vault,
        target=bag,
        amount_cents=amount_cents,
        context=context,
        now=now,
        reference={"bag": bag.bag_number or "", "seal": bag.seal_number or ""},
    )
    return bag


def bags(
    *, session: Session, site_id: str, statuses: tuple[str, ...] = ("prepared", "in_transit")
) -> list[CashContainer]:
    """Return a site's deposit bags in the given states."""
    return movements.list_containers(
        session=session, site_id=site_id, kinds=("deposit_bag",), statuses=statuses
    )


# --- planning --------------------------------------------------------------------------------


def list_pickups(
    *, session: Session, site_id: str, statuses: tuple[str, ...] | None = None, limit: int = 50
) -> list[Pickup]:
    """Return a site's pickups, latest scheduled first."""
    stmt = select(Pickup).where(Pickup.site_id == site_id)
    if statuses is not None:
        stmt = stmt.where(Pickup.status.in_(statuses))
    stmt = stmt.order_by(Pickup.scheduled_at.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def get_pickup(*, session: Session, pickup_id: str) -> Pickup:
    """Return a pickup or raise NotFound."""
    row = session.get(Pickup, pickup_id)
    if row is None:
        raise NotFound(f"no pickup {pickup_id!r}")
    return row


def plan(
    *,
    session: Session,
    site: Site,
    carrier: Carrier,
    settings: CashSettings,
    context: Context,
    now: datetime,
    urgent: bool = False,
    rng: random.Random | None = None,
) -> Planned:
    """Schedule the next pickup inside the allowed windows; return it with its one-time code."""
    if not carrier.active or carrier.site_id != site.site.id:
        raise InvalidInput("choose an active carrier of this site")
    if settings.pickup_schedule is None:
        raise InvalidInput("set the site's pickup schedule in the cash settings first")
    site_id = site.site.id
    history = list_pickups(
        session=session,
        site_id=site_id,
        statuses=("scheduled", "completed"),
        limit=max(settings.pickup_no_repeat, 1) + 60,
    )
    recent = [p.slot for p in history[: settings.pickup_no_repeat]]
    candidates = planner.slots(
        site, settings.pickup_schedule, after=now, days=settings.pickup_horizon_days
    )
    when = planner.choose(
        candidates,
        recent_keys=recent,
        taken=[p.scheduled_at for p in history],
        per_week=settings.pickups_per_week,
        timezone=site.site.timezone,
        urgent=urgent,
        rng=rng,
    )
    if when is None:
        raise Conflict(
            "no allowed slot is left in the planning horizon (weekly cap, repeats or windows); "
            "widen the pickup schedule or the horizon"
        )
    code = f"{secrets.randbelow(10**8):08d}"
    pickup = Pickup(
        id=new_id(),
        site_id=site_id,
        carrier_id=carrier.id,
        scheduled_at=when,
        slot=planner.slot_key(when, site.site.timezone),
        urgent=urgent,
        status="scheduled",
        code_key=_key(code, CODE_PURPOSE),
        code=code,
        created_at=now,
        created_by=context.actor,
    )
    session.add(pickup)
    _event(session, pickup, "scheduled", context, now)
    return Planned(pickup, code)


def cancel(
    *, session: Session, pickup: Pickup, reason: str, context: Context, now: datetime
) -> None:
    """Cancel a scheduled pickup (its slot no longer counts for the planner)."""
    if pickup.status != "scheduled":
        raise Conflict(f"the pickup is {pickup.status}")
    if not reason.strip():
        raise InvalidInput("say why the pickup is cancelled")
    pickup.status = "cancelled"
    _event(session, pickup, "cancelled", context, now, reason=reason.strip()[:200])


# --- at the door -----------------------------------------------------------------------------


def _refuse(
    session: Session,
    site: Site,
    pickup: Pickup,
    reason: str,
    guard_name: str | None,
    context: Context,
    now: datetime,
    settings: CashSettings,
) -> Refused:
    session.add(
        PickupAttempt(
            pickup_id=pickup.id,
            at=now,
            outcome="refused",
            reason=reason[:200],
            guard_name=guard_name,
            actor=context.actor,
        )
    )
    _event(session, pickup, "refused", context, now, reason=reason[:200])
    vault = movements.vault_of(session=session, site_id=site.site.id)
    alarm = alerts.raise_alarm(
        session=session,
        site=site,
        site_id=site.site.id,
        alarm_type="pickup_verification_failed",
        message=f"Armored pickup refused: {reason}. Do not hand over any cash.",
        context=context,
        now=now,
        zone_id=vault.zone_id,
    )
    alerts.notify(
        session=session,
        call_tree=settings.manager_call_tree,
        message="An armored pickup was refused at the door; security was alerted.",
        site_id=site.site.id,
        context=context,
        now=now,
        priority=2,
    )
    return Refused(reason, alarm)


def verify(
    *,
    session: Session,
    site: Site,
    pickup: Pickup,
    company: str,
    guard_name: str,
    one_time_code: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
    code_word: str | None = None,
    id_number: str | None = None,
) -> Verified | Refused:
    """Check the carrier at the door: company, code word or ID, and the pickup's one-time code."""
    if pickup.status != "scheduled":
        raise Conflict(f"the pickup is {pickup.status}")
    guard_name = guard_name.strip()
    if not guard_name:
        raise InvalidInput("write down the guard's name")
    carrier = get_carrier(session=session, carrier_id=pickup.carrier_id)
    if company.strip().lower() != carrier.company.lower():
        return _refuse(
            session,
            site,
            pickup,
            f"the guard is not from {carrier.company}",
            guard_name,
            context,
            now,
            settings,
        )
    if code_word is not None and code_word.strip():
        if not _match(code_word, carrier.code_word_key, WORD_PURPOSE):
            return _refuse(
                session, site, pickup, "wrong code word", guard_name, context, now, settings
            )
    elif not (id_number and id_number.strip()):
        raise InvalidInput("the guard must give the code word or show an ID (enter its number)")
    if pickup.code_used_at is not None or not _match(one_time_code, pickup.code_key, CODE_PURPOSE):
        return _refuse(
            session,
            site,
            pickup,
            "wrong or already used one-time code",
            guard_name,
            context,
            now,
            settings,
        )
    pickup.code_used_at = now
    pickup.verified_at, pickup.verified_by = now, context.actor
    pickup.guard_name = guard_name[:200]
    pickup.guard_id_number = id_number.strip()[:64] if id_number and id_number.strip() else None
    session.add(
        PickupAttempt(
            pickup_id=pickup.id,
            at=now,
            outcome="verified",
            reason="",
            guard_name=guard_name,
            actor=context.actor,
        )
    )
    _event(session, pickup, "verified", context, now)
    notes = [] if code_word else ["identity checked by ID instead of the code word"]
    return Verified(pickup, notes)


def hand_over(
    *,
    session: Session,
    site: Site,
    pickup: Pickup,
    seals: dict[str, str],
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> list[CashContainer] | Refused:
    """Hand verified bags to the carrier: ``seals`` maps each bag number to the seal read."""
    if pickup.verified_at is None or pickup.status != "scheduled":
        raise Conflict("verify the carrier before handing over any bag")
    if not seals:
        raise InvalidInput("list the bags handed over with their seal numbers")
    ready = {
        b.bag_number: b for b in bags(session=session, site_id=site.site.id, statuses=("prepared",))
    }
    chosen: list[CashContainer] = []
    for bag_number, seal in seals.items():
        bag = ready.get(bag_number.strip())
        if bag is None:
            raise InvalidInput(f"bag {bag_number} is not a prepared deposit bag of this site")
        if (bag.seal_number or "") != seal.strip():
            return _refuse(
                session,
                site,
                pickup,
                f"seal on bag {bag_number} reads {seal.strip()}, expected {bag.seal_number}",
                pickup.guard_name,
                context,
                now,
                settings,
            )
        chosen.append(bag)
    total = 0
    for bag in chosen:
        amount = movements.balance(session=session, container_id=bag.id)
        total += amount
        bag.status, bag.pickup_id = "in_transit", pickup.id
        movements.post(
            session=session,
            site_id=site.site.id,
            kind="pickup",
            amount_cents=amount,
            container_id=bag.id,
            legs=[],
            context=context,
            now=now,
            reference={
                "pickup": pickup.id,
                "bag": bag.bag_number or "",
                "seal": bag.seal_number or "",
            },
        )
    pickup.status, pickup.completed_at, pickup.total_cents = "completed", now, total
    _event(session, pickup, "completed", context, now, bags=tuple(b.id for b in chosen))
    return chosen


# --- the bank's side -------------------------------------------------------------------------


def confirm(
    *,
    session: Session,
    site: Site,
    bag: CashContainer,
    amount_cents: int,
    reference: str,
    context: Context,
    now: datetime,
) -> BankConfirmation:
    """Record the bank's figure for a bag; a difference raises an alarm and stays on the bag."""
    if bag.kind != "deposit_bag" or bag.site_id != site.site.id:
        raise InvalidInput("confirm a deposit bag of this site")
    if bag.status != "in_transit":
        raise Conflict(f"bag {bag.bag_number} is {bag.status.replace('_', ' ')}")
    if amount_cents < 0 or amount_cents > movements.MAX_MOVEMENT_CENTS:
        raise InvalidInput("the confirmed amount is not plausible")
    expected = movements.balance(session=session, container_id=bag.id)
    row = BankConfirmation(
        bag_id=bag.id,
        amount_cents=amount_cents,
        expected_cents=expected,
        reference=reference.strip()[:120] or "—",
        at=now,
        actor=context.actor,
    )
    session.add(row)
    movements.post(
        session=session,
        site_id=site.site.id,
        kind="bank_confirmation",
        amount_cents=amount_cents,
        container_id=bag.id,
        legs=[(bag.id, -amount_cents)] if amount_cents else [],
        context=context,
        now=now,
        reference={"bag": bag.bag_number or "", "bank_reference": row.reference},
    )
    if amount_cents == expected:
        bag.status = "confirmed"
        return row
    bag.status = "discrepancy"
    alerts.raise_alarm(
        session=session,
        site=site,
        site_id=site.site.id,
        alarm_type="deposit_mismatch",
        message=(
            f"The bank confirmed {dollars(amount_cents)} for bag {bag.bag_number}, "
            f"but {dollars(expected)} left the vault"
        ),
        context=context,
        now=now,
        zone_id=bag.zone_id,
    )
    return row


def unconfirmed(
    *, session: Session, site: Site, settings: CashSettings, context: Context, now: datetime
) -> list[str]:
    """Raise an alarm for each bag picked up too long ago without the bank's confirmation."""
    cutoff = now - timedelta(hours=settings.bank_confirmation_hours)
    raised = []
    for bag in bags(session=session, site_id=site.site.id, statuses=("in_transit",)):
        pickup = session.get(Pickup, bag.pickup_id) if bag.pickup_id else None
        if bag.alarm_raised or pickup is None or (pickup.completed_at or now) > cutoff:
            continue
        bag.alarm_raised = True
        raised.append(
            alerts.raise_alarm(
                session=session,
                site=site,
                site_id=site.site.id,
                alarm_type="deposit_unconfirmed",
                message=(
                    f"The bank has not confirmed bag {bag.bag_number} "
                    f"{settings.bank_confirmation_hours} h after the pickup"
                ),
                context=context,
                now=now,
                zone_id=bag.zone_id,
            )
        )
    return raised


def vault_trigger(
    *,
    session: Session,
    site: Site,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> Planned | None:
    """Bring a pickup forward when the vault passes its trigger (once per excursion)."""
    try:
        vault = movements.vault_of(session=session, site_id=site.site.id)
    except NotFound:
        return None
    cash = movements.balance(session=session, container_id=vault.id)
    if cash <= settings.pickup_trigger_cents:
        vault.over_limit_since = None
        return None
    if vault.over_limit_since is not None:
        return None
    vault.over_limit_since = now
    soon = [
        p
        for p in list_pickups(session=session, site_id=site.site.id, statuses=("scheduled",))
        if p.scheduled_at <= now + timedelta(days=1)
    ]
    carriers = list_carriers(session=session, site_id=site.site.id)
    if soon or not carriers:
        return None
    planned = plan(
        session=session,
        site=site,
        carrier=carriers[0],
        settings=settings,
        context=context,
        now=now,
        urgent=True,
    )
    alerts.notify(
        session=session,
        call_tree=settings.manager_call_tree,
        message=(
            f"The vault is over {dollars(settings.pickup_trigger_cents)}: a pickup was brought "
            "forward. See the pickups page for its time and one-time code."
        ),
        site_id=site.site.id,
        context=context,
        now=now,
    )
    return planned
