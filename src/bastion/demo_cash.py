"""The demo's cash day: the last weekday before today, played through the real services.

Registers, a drop safe and the vault are set up; the vault's morning deposit goes out
with a verified armored pickup and the bank confirms it; two tills open with floats; the
simulator's day of sales goes through the POS adapter's CSV reader and the ingest; a till
that passes its limit asks for a drop, is left over it long enough to alarm, then drops;
at close both tills get dual blind counts by two badged-in counters, one of them $7 short,
which goes to the bookkeeper. Done once per data directory.
"""

from __future__ import annotations

import random
import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bastion.auth import service as auth_service
from bastion.cash import counts, movements, pickups, pos, tills
from bastion.cash import settings as cash_settings
from bastion.cash.runtime import customer_key
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.demo import DEMO_NAMES
from bastion.hub import Hub
from bastion.integrations.pos.formats import read_bastion_csv
from bastion.integrations.simulator.pos import SimTill, sales_day_csv
from bastion.people import employees
from bastion.site.schemas import Site
from bastion.store.ledger import stage

CTX = Context(actor="demo")
CARRIER = "Brink's Armored"
TILLS = (("Register 1", "T1", "cam-pos", "0042"), ("Register 2", "T2", "cam-sales-1", "0043"))


def demo_day(today: date, site: Site) -> date:
    """Return the last weekday before ``today`` (pickups run Monday to Friday)."""
    day = today - timedelta(days=1)
    holidays = {h.date for s in site.holiday_sets for h in s.holidays}
    while day.weekday() >= 5 or day in holidays:
        day -= timedelta(days=1)
    return day


def _at(day: date, hh: int, mm: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hh, mm), zone)


def _badge(session: Session, site: Site, person_id: str, when: datetime) -> None:
    stage(
        session,
        make_event(
            EVENT_ACCESS_DECISION,
            AccessDecisionPayload(
                door_id="cash-door",
                reader_id="cash-door-rdr-in",
                subject=person_id,
                granted=True,
                reason="granted",
                detail="demo",
            ),
            context=Context(actor="device:cash-door-rdr-in"),
            time=when,
            site=site.site.id,
        ),
    )


def seed_cash_day(hub: Hub, site: Site, *, operator: str, admin: str) -> bool:
    """Play the demo's cash day once; return False when the data directory already has it."""
    site_id = site.site.id
    needed = {z.id for z in site.zones} >= {"sales-floor", "cash-room", "vault"}
    if not needed or {"cam-pos", "cam-sales-1"} - {d.id for d in site.devices}:
        return False
    zone = ZoneInfo(site.site.timezone)
    day = demo_day(hub.clock.now().astimezone(zone).date(), site)
    with hub.unit_of_work() as session:
        if movements.list_containers(session=session, site_id=site_id, statuses=None):
            return False
        registers = [
            movements.create_container(
                session=session,
                site=site,
                kind="register",
                name=name,
                zone_id="sales-floor",
                camera_id=camera,
                terminal=terminal,
                context=CTX,
                now=_at(day, 7, 0, zone),
            )
            for name, terminal, camera, _code in TILLS
        ]
        safe = movements.create_container(
            session=session,
            site=site,
            kind="drop_safe",
            name="Drop safe",
            zone_id="cash-room",
            context=CTX,
            now=_at(day, 7, 0, zone),
        )
        vault = movements.create_container(
            session=session,
            site=site,
            kind="vault",
            name="Vault",
            zone_id="vault",
            context=CTX,
            now=_at(day, 7, 0, zone),
        )
        staff = employees.list_staff(session=session, site_id=site_id)
        people = {p.name: p.id for p in staff}
        counters = []
        for username, person in ((admin, DEMO_NAMES[0]), (operator, DEMO_NAMES[1])):
            user = auth_service.find_user(session=session, username=username)
            if user is not None and person in people:
                employees.link(
                    session=session,
                    person_id=people[person],
                    user_id=user.id,
                    context=CTX,
                    now=_at(day, 7, 0, zone),
                )
                counters.append((user.id, people[person]))
        cashiers = [people.get(DEMO_NAMES[3]), people.get(DEMO_NAMES[4])]
        for (_n, _t, _c, code), cashier in zip(TILLS, cashiers, strict=True):
            if cashier:
                pos.set_cashier_code(
                    session=session,
                    site_id=site_id,
                    code=code,
                    person_id=cashier,
                    context=CTX,
                    now=_at(day, 7, 0, zone),
                )
        ids = [r.id for r in registers], safe.id, vault.id
    if len(counters) < 2 or None in cashiers:
        return False
    _morning(hub, site, day, zone, ids[2])
    _trading(hub, site, day, zone, ids[0], ids[1], [c for c in cashiers if c], counters[0][0])
    _closing(hub, site, day, zone, ids[0], ids[1], ids[2], counters)
    return True


def _morning(hub: Hub, site: Site, day: date, zone: ZoneInfo, vault_id: str) -> None:
    """Fund the vault, seal yesterday's takings, and send them with a verified carrier."""
    site_id = site.site.id
    with hub.unit_of_work() as session:
        vault = movements.get_container(session=session, container_id=vault_id)
        movements.post(
            session=session,
            site_id=site_id,
            kind="funding",
            amount_cents=2_200_000,
            container_id=vault.id,
            legs=[(vault.id, 2_200_000)],
            context=CTX,
            now=_at(day, 7, 30, zone),
            reference={"reference": "opening balance"},
        )
        bag = pickups.prepare_deposit(
            session=session,
            site=site,
            amount_cents=1_500_000,
            bag_number="B-0417",
            seal_number=f"S-{day:%m%d}-0193",
            context=CTX,
            now=_at(day, 8, 15, zone),
        )
        assert not isinstance(bag, pickups.Refused)
        word = secrets.token_urlsafe(9)
        carrier = pickups.add_carrier(
            session=session,
            site_id=site_id,
            company=CARRIER,
            code_word=word,
            context=CTX,
            now=_at(day, 7, 0, zone),
        )
        settings = cash_settings.load(session=session, site_id=site_id)
        planned = pickups.plan(
            session=session,
            site=site,
            carrier=carrier,
            settings=settings,
            context=CTX,
            now=_at(day, 8, 30, zone),
            urgent=True,
            rng=random.Random(4),
        )
        at_door = planned.pickup.scheduled_at + timedelta(minutes=3)
        pickups.verify(
            session=session,
            site=site,
            pickup=planned.pickup,
            company=CARRIER,
            guard_name="R. Okafor",
            one_time_code=planned.code,
            code_word=word,
            settings=settings,
            context=CTX,
            now=at_door,
        )
        pickups.hand_over(
            session=session,
            site=site,
            pickup=planned.pickup,
            seals={bag.bag_number or "": bag.seal_number or ""},
            settings=settings,
            context=CTX,
            now=at_door + timedelta(minutes=4),
        )
        pickups.confirm(
            session=session,
            site=site,
            bag=bag,
            amount_cents=1_500_000,
            reference="DEP-88213",
            context=CTX,
            now=_at(day, 16, 5, zone),
        )
        safe = movements.list_containers(session=session, site_id=site_id, kinds=("drop_safe",))[0]
        movements.transfer(
            session=session,
            site_id=site_id,
            kind="vault_transfer",
            source=vault,
            target=safe,
            amount_cents=60_000,
            context=CTX,
            now=_at(day, 8, 40, zone),
        )


def _trading(
    hub: Hub,
    site: Site,
    day: date,
    zone: ZoneInfo,
    register_ids: list[str],
    safe_id: str,
    cashiers: list[str],
    manager: int,
) -> None:
    """Open the tills, run the simulated day through the POS adapter, drop when asked."""
    site_id = site.site.id
    with hub.unit_of_work() as session:
        safe = movements.get_container(session=session, container_id=safe_id)
        for register_id, person in zip(register_ids, cashiers, strict=True):
            register = movements.get_container(session=session, container_id=register_id)
            till = tills.open_till(
                session=session,
                register=register,
                source=safe,
                person_id=person,
                float_cents=20_000,
                context=CTX,
                now=_at(day, 8, 50, zone),
            )
            settings = cash_settings.load(session=session, site_id=site_id)
            count = counts.start(
                session=session,
                container=register,
                kind="opening",
                settings=settings,
                context=CTX,
                now=_at(day, 8, 52, zone),
                session_id=till.id,
            )
            counts.submit(
                session=session,
                site=site,
                count=count,
                user_id=manager,
                amount_cents=20_000,
                settings=settings,
                context=Context(actor=f"user:{manager}"),
                now=_at(day, 8, 55, zone),
            )
    parsed = read_bastion_csv(
        sales_day_csv(
            day=day, timezone=site.site.timezone, tills=[SimTill(t, c) for _n, t, _cam, c in TILLS]
        )
    )
    key = customer_key(hub)
    seen_over: set[str] = set()
    for hour in range(9, 22):
        end = _at(day, hour, 59, zone)
        batch = [r for r in parsed.records if _at(day, hour, 0, zone) <= r.time <= end]
        with hub.unit_of_work() as session:
            settings = cash_settings.load(session=session, site_id=site_id)
            pos.ingest(
                session=session,
                site=site,
                records=batch,
                rejects=[],
                source="bastion-csv:demo-day",
                context=Context(actor="integration:pos"),
                now=end,
                settings=settings,
                customer_key=key,
            )
            tills.overdue_drops(
                session=session,
                site=site,
                settings=settings,
                context=Context(actor="cash"),
                now=end,
            )
            for register_id in register_ids:
                register = movements.get_container(session=session, container_id=register_id)
                if register.over_limit_since is None:
                    continue
                # The first time, the manager is late (the over-limit alarm shows it).
                if register_id in seen_over:
                    cash = movements.balance(session=session, container_id=register_id)
                    tills.drop(
                        session=session,
                        register=register,
                        safe=movements.get_container(session=session, container_id=safe_id),
                        amount_cents=cash - 25_000,
                        settings=settings,
                        context=CTX,
                        now=end + timedelta(minutes=1),
                        witness="shift lead",
                    )
                seen_over.add(register_id)


def _closing(
    hub: Hub,
    site: Site,
    day: date,
    zone: ZoneInfo,
    register_ids: list[str],
    safe_id: str,
    vault_id: str,
    counters: list[tuple[int, str]],
) -> None:
    """Close both tills with dual blind counts (one $7 short), then move the safe to the vault."""
    site_id = site.site.id
    shortfalls = {register_ids[0]: 0, register_ids[1]: 700}
    with hub.unit_of_work() as session:
        for _user, person in counters:
            _badge(session, site, person, _at(day, 21, 2, zone))
        for register_id in register_ids:
            register = movements.get_container(session=session, container_id=register_id)
            settings = cash_settings.load(session=session, site_id=site_id)
            count = tills.start_close(
                session=session,
                register=register,
                settings=settings,
                context=CTX,
                now=_at(day, 21, 5, zone),
            )
            figure = count.book_cents - shortfalls[register_id]
            for user, _person in counters:
                counts.submit(
                    session=session,
                    site=site,
                    count=count,
                    user_id=user,
                    amount_cents=figure,
                    settings=settings,
                    context=Context(actor=f"user:{user}"),
                    now=_at(day, 21, 20, zone),
                )
        safe = movements.get_container(session=session, container_id=safe_id)
        vault = movements.get_container(session=session, container_id=vault_id)
        movements.transfer(
            session=session,
            site_id=site_id,
            kind="vault_transfer",
            source=safe,
            target=vault,
            amount_cents=movements.balance(session=session, container_id=safe_id),
            context=CTX,
            now=_at(day, 21, 40, zone),
        )
