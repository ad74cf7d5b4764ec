"""Deposits and pickups: the planner's rules, carrier checks, seals, and bank reconciliation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.cash import movements, pickups, planner
from bastion.cash import settings as cash_settings
from bastion.cash.models import PickupAttempt
from bastion.core.errors import Conflict, InvalidInput

from .conftest import CTX, balance_of, ledger_payloads

CHICAGO = ZoneInfo("America/Chicago")


def settings_of(session, store):
    return cash_settings.load(session=session, site_id=store.site.site.id)


@pytest.fixture
def vault_cash(store, site_hub, clock):
    with site_hub.unit_of_work() as session:
        movements.post(
            session=session,
            site_id=store.site.site.id,
            kind="funding",
            amount_cents=5_000_000,
            container_id=store.vault,
            legs=[(store.vault, 5_000_000)],
            context=CTX,
            now=clock.now(),
        )
        carrier = pickups.add_carrier(
            session=session,
            site_id=store.site.site.id,
            company="Brink Armored",
            code_word="bluebird-42",
            context=CTX,
            now=clock.now(),
        )
        return carrier.id


def alarms_of(hub, kind):
    with hub.db.sessions() as session:
        return session.execute(select(Alarm).where(Alarm.alarm_type == kind)).scalars().all()


def test_the_planner_varies_slots_inside_the_windows_without_repeats_or_crowded_weeks(
    dispensary,
):
    rng = random.Random(3)
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday morning in Chicago
    taken: list[datetime] = []
    for _ in range(12):
        candidates = planner.slots(dispensary, "delivery-window", after=now, days=28)
        recent = [planner.slot_key(t, "America/Chicago") for t in taken[-4:]]
        when = planner.choose(
            candidates,
            recent_keys=recent,
            taken=taken,
            per_week=3,
            timezone="America/Chicago",
            rng=rng,
        )
        assert when is not None
        local = when.astimezone(CHICAGO)
        assert local.weekday() < 5 and 10 <= local.hour < 14  # inside Mon–Fri 10:00–14:00
        assert planner.slot_key(when, "America/Chicago") not in recent
        assert local.date() not in {t.astimezone(CHICAGO).date() for t in taken}
        taken.append(when)
    weeks: dict[tuple[int, int], int] = {}
    for t in taken:
        iso = t.isocalendar()
        weeks[(iso[0], iso[1])] = weeks.get((iso[0], iso[1]), 0) + 1
    assert max(weeks.values()) <= 3
    assert len({planner.slot_key(t, "America/Chicago") for t in taken}) >= 8
    urgent = planner.choose(
        planner.slots(dispensary, "delivery-window", after=now, days=14),
        recent_keys=[],
        taken=[],
        per_week=3,
        timezone="America/Chicago",
        urgent=True,
        rng=rng,
    )
    assert urgent is not None and urgent.astimezone(CHICAGO).date() == now.date()


def test_a_verified_carrier_takes_sealed_bags_and_the_bank_confirms_them(
    store, site_hub, clock, vault_cash
):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        settings = settings_of(session, store)
        bag = pickups.prepare_deposit(
            session=session,
            site=store.site,
            amount_cents=1_500_000,
            bag_number="B-1",
            seal_number="S-1001",
            context=CTX,
            now=now,
        )
        reused = pickups.prepare_deposit(
            session=session,
            site=store.site,
            amount_cents=1_000,
            bag_number="B-2",
            seal_number="S-1001",
            context=CTX,
            now=now,
        )
        assert isinstance(reused, pickups.Refused) and "already used" in reused.reason
        carrier = pickups.get_carrier(session=session, carrier_id=vault_cash)
        planned = pickups.plan(
            session=session,
            site=store.site,
            carrier=carrier,
            settings=settings,
            context=CTX,
            now=now,
            rng=random.Random(1),
        )
        pickup_id, code, bag_id = planned.pickup.id, planned.code, bag.id
    assert balance_of(site_hub, store.vault) == 5_000_000 - 1_500_000
    assert len(alarms_of(site_hub, "seal_reused")) == 1
    (scheduled,) = ledger_payloads(site_hub, "cash.pickup")
    assert set(scheduled) == {"pickup_id", "action", "carrier_id", "bags", "reason"}

    at_door = now + timedelta(days=1)
    with site_hub.unit_of_work() as session:
        pickup = pickups.get_pickup(session=session, pickup_id=pickup_id)
        wrong = pickups.verify(
            session=session,
            site=store.site,
            pickup=pickup,
            company="Brink Armored",
            guard_name="Sam Guard",
            one_time_code=code,
            code_word="redbird-42",
            settings=settings_of(session, store),
            context=CTX,
            now=at_door,
        )
    assert isinstance(wrong, pickups.Refused) and wrong.reason == "wrong code word"
    assert len(alarms_of(site_hub, "pickup_verification_failed")) == 1
    with site_hub.unit_of_work() as session:
        pickup = pickups.get_pickup(session=session, pickup_id=pickup_id)
        ok = pickups.verify(
            session=session,
            site=store.site,
            pickup=pickup,
            company="brink armored",
            guard_name="Sam Guard",
            one_time_code=code,
            code_word="Bluebird-42",
            settings=settings_of(session, store),
            context=CTX,
            now=at_door,
        )
        assert isinstance(ok, pickups.Verified)
        with pytest.raises(Conflict, match="verify the carrier"):
            other = pickups.plan(
                session=session,
                site=store.site,
                carrier=pickups.get_carrier(session=session, carrier_id=vault_cash),
                settings=settings_of(session, store),
                context=CTX,
                now=now,
                rng=random.Random(2),
            ).pickup
            pickups.hand_over(
                session=session,
                site=store.site,
                pickup=other,
                seals={"B-1": "S-1001"},
                settings=settings_of(session, store),
                context=CTX,
                now=at_door,
            )
    with site_hub.unit_of_work() as session:
        pickup = pickups.get_pickup(session=session, pickup_id=pickup_id)
        handed = pickups.hand_over(
            session=session,
            site=store.site,
            pickup=pickup,
            seals={"B-1": "S-1001"},
            settings=settings_of(session, store),
            context=CTX,
            now=at_door,
        )
        assert [b.id for b in handed] == [bag_id]
        assert pickup.status == "completed" and pickup.total_cents == 1_500_000
        attempts = session.execute(select(PickupAttempt.outcome).order_by(PickupAttempt.id))
        assert list(attempts.scalars()) == ["refused", "verified"]
    with site_hub.unit_of_work() as session:
        bag = movements.get_container(session=session, container_id=bag_id)
        pickups.confirm(
            session=session,
            site=store.site,
            bag=bag,
            amount_cents=1_500_000,
            reference="BANK-778",
            context=CTX,
            now=at_door + timedelta(hours=20),
        )
        assert bag.status == "confirmed"
    assert balance_of(site_hub, bag_id) == 0


def test_a_reused_one_time_code_or_wrong_seal_is_refused_and_a_short_deposit_alarms(
    store, site_hub, clock, vault_cash
):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        settings = settings_of(session, store)
        bag = pickups.prepare_deposit(
            session=session,
            site=store.site,
            amount_cents=200_000,
            bag_number="B-9",
            seal_number="S-9",
            context=CTX,
            now=now,
        )
        carrier = pickups.get_carrier(session=session, carrier_id=vault_cash)
        planned = pickups.plan(
            session=session,
            site=store.site,
            carrier=carrier,
            settings=settings,
            context=CTX,
            now=now,
            rng=random.Random(5),
        )
        with pytest.raises(InvalidInput, match="code word or show an ID"):
            pickups.verify(
                session=session,
                site=store.site,
                pickup=planned.pickup,
                company="Brink Armored",
                guard_name="Kim",
                one_time_code=planned.code,
                settings=settings,
                context=CTX,
                now=now,
            )
        first = pickups.verify(
            session=session,
            site=store.site,
            pickup=planned.pickup,
            company="Brink Armored",
            guard_name="Kim",
            one_time_code=planned.code,
            id_number="D1234567",
            settings=settings,
            context=CTX,
            now=now,
        )
        assert isinstance(first, pickups.Verified) and first.notes
        refused = pickups.hand_over(
            session=session,
            site=store.site,
            pickup=planned.pickup,
            seals={"B-9": "S-8"},
            settings=settings,
            context=CTX,
            now=now,
        )
        assert isinstance(refused, pickups.Refused) and "reads S-8, expected S-9" in refused.reason
        pickups.hand_over(
            session=session,
            site=store.site,
            pickup=planned.pickup,
            seals={"B-9": "S-9"},
            settings=settings,
            context=CTX,
            now=now,
        )
        second = pickups.plan(
            session=session,
            site=store.site,
            carrier=carrier,
            settings=settings,
            context=CTX,
            now=now,
            rng=random.Random(6),
        )
        reuse = pickups.verify(
            session=session,
            site=store.site,
            pickup=second.pickup,
            company="Brink Armored",
            guard_name="Kim",
            one_time_code=planned.code,
            code_word="bluebird-42",
            settings=settings,
            context=CTX,
            now=now,
        )
        assert isinstance(reuse, pickups.Refused)
        assert reuse.reason == "wrong or already used one-time code"
        bag_id = bag.id

    with site_hub.unit_of_work() as session:
        settings = settings_of(session, store)
        assert (
            pickups.unconfirmed(
                session=session,
                site=store.site,
                settings=settings,
                context=CTX,
                now=now + timedelta(hours=47),
            )
            == []
        )
        assert (
            len(
                pickups.unconfirmed(
                    session=session,
                    site=store.site,
                    settings=settings,
                    context=CTX,
                    now=now + timedelta(hours=49),
                )
            )
            == 1
        )
        assert (
            pickups.unconfirmed(
                session=session,
                site=store.site,
                settings=settings,
                context=CTX,
                now=now + timedelta(hours=50),
            )
            == []
        )
        bag = movements.get_container(session=session, container_id=bag_id)
        pickups.confirm(
            session=session,
            site=store.site,
            bag=bag,
            amount_cents=190_000,
            reference="BANK-9",
            context=CTX,
            now=now + timedelta(hours=51),
        )
        assert bag.status == "discrepancy"
    assert balance_of(site_hub, bag_id) == 10_000  # the missing $100 stays on the bag
    (mismatch,) = alarms_of(site_hub, "deposit_mismatch")
    assert "$1,900.00" in mismatch.message and "$2,000.00" in mismatch.message
    assert len(alarms_of(site_hub, "deposit_unconfirmed")) == 1
    assert len(alarms_of(site_hub, "pickup_verification_failed")) == 2


def test_a_full_vault_brings_a_pickup_forward_once(store, site_hub, clock, vault_cash):
    now = clock.now()
    with site_hub.unit_of_work() as session:
        settings = cash_settings.update(
            session=session,
            site_id=store.site.site.id,
            changes={"pickup_trigger_cents": 4_000_000},
            context=CTX,
            now=now,
        )
        planned = pickups.vault_trigger(
            session=session, site=store.site, settings=settings, context=CTX, now=now
        )
        assert planned is not None and planned.pickup.urgent
        assert planned.pickup.scheduled_at - now < timedelta(days=4)
        assert (
            pickups.vault_trigger(
                session=session, site=store.site, settings=settings, context=CTX, now=now
            )
            is None
        )
