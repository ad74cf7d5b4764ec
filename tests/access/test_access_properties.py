"""Property test: on random policies and event sequences the engine agrees with a simple model.

The reference evaluator below is written for clarity, not speed: schedules are read
from the site's intervals with ``zoneinfo`` on every call, lockdown walks the doors
list, and every rule is a plain ``if`` on plain dicts. It shares no code with the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.access.engine import AccessEngine
from bastion.access.snapshot import (
    AntiPassbackMode,
    AntiPassbackSpec,
    CredentialKind,
    CredentialSpec,
    DoorMode,
    DoorPolicySpec,
    InterlockSpec,
    LevelSpec,
    PersonSpec,
    Policy,
)
from bastion.core.clock import FrozenClock
from bastion.core.ports import Presentation, PresentationKind
from bastion.site.loader import load_site
from bastion.site.schemas import ALL_DAYS, Schedule, Site
from tests.access.conftest import SITE_YAML

SITE: Site = load_site(SITE_YAML, source="test")
TZ = ZoneInfo(SITE.site.timezone)
DOORS = [d.id for d in SITE.doors]
ZONES = [z.id for z in SITE.zones]
SCHEDULES = [s.id for s in SITE.schedules]
READERS = {d.id: (d.door, d.side) for d in SITE.devices if d.type.value == "reader"}
START = dt.datetime(2026, 3, 7, 6, 0, tzinfo=dt.UTC)  # two days before the DST change


# --- the reference model ------------------------------------------------------------------------


def ref_active(schedule: Schedule, when: dt.datetime) -> bool:
    wall = when.astimezone(TZ)
    minute = wall.hour * 60 + wall.minute
    holidays = {
        h.date for hs in SITE.holiday_sets if hs.id in schedule.holidays for h in hs.holidays
    }
    intervals = schedule.holiday_intervals if wall.date() in holidays else schedule.intervals
    today = ALL_DAYS[wall.weekday()]
    yesterday = ALL_DAYS[(wall.weekday() - 1) % 7]
    for iv in intervals:
        start = iv.start.hour * 60 + iv.start.minute
        end = 1440 if iv.end == dt.time(23, 59) else iv.end.hour * 60 + iv.end.minute
        if start < end:
            if today in iv.days and start <= minute < end:
                return True
        elif (today in iv.days and minute >= start) or (yesterday in iv.days and minute < end):
            return True
    return False


def ref_local_date(when: dt.datetime) -> dt.date:
    return when.astimezone(TZ).date()


def ref_lockdown_doors(zones: set[str]) -> set[str]:
    locked: set[str] = set()
    for zone in zones:
        area = {zone}
        for door in SITE.doors:
            if zone in (door.from_zone, door.to_zone):
                area |= {door.from_zone, door.to_zone}
        area.discard("outside")
        locked |= {d.id for d in SITE.doors if d.from_zone in area or d.to_zone in area}
    return locked


@dataclass
class Model:
    people: dict[str, PersonSpec]
    creds: dict[str, CredentialSpec]
    levels: dict[str, LevelSpec]
    doors: dict[str, DoorPolicySpec]
    apb: dict[str, AntiPassbackSpec]
    interlock: tuple[str, ...]
    threat: int = 0
    lockdown: set[str] = field(default_factory=set)
    open: set[str] = field(default_factory=set)
    where: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)
    two: dict[str, tuple[str, str, dt.datetime]] = field(default_factory=dict)
    hosts: dict[str, list[Any]] = field(default_factory=dict)
    first_in: dict[str, dt.date] = field(default_factory=dict)

    def schedule(self, sid: str) -> Schedule:
        return SITE.schedule(sid)

    def covers(self, level: LevelSpec, door_id: str) -> bool:
        return door_id in level.doors or SITE.door(door_id).to_zone in level.zones

    def level_ok(self, level: LevelSpec, person: PersonSpec, when: dt.datetime) -> int:
        if level.schedule_id and not ref_active(self.schedule(level.schedule_id), when):
            return 0
        if self.threat > level.max_threat_level:
            return 1
        if level.requires_background_check and person.background_check != "cleared":
            return 2
        training = dict(person.training)
        for course in level.requires_training:
            if course not in training:
                return 3
            expiry = training[course]
            if expiry is not None and expiry <= when.timestamp():
                return 3
        return 4

    def decide(self, p: Presentation, when: dt.datetime) -> tuple[str, str | None]:
        if p.door_id not in DOORS:
            return "unknown_door", None
        policy = self.doors.get(p.door_id) or DoorPolicySpec("lab", p.door_id)
        if p.door_id in ref_lockdown_doors(self.lockdown) or policy.mode == DoorMode.LOCKDOWN:
            return "lockdown", None
        if policy.mode == DoorMode.LOCKED:
            return "door_locked", None
        if policy.mode == DoorMode.EGRESS_ONLY:
            return "egress_only", None
        if p.kind == PresentationKind.PIN and policy.mode in (
            DoorMode.CARD_ONLY,
            DoorMode.CARD_AND_PIN,
        ):
            return "card_required", None
        cred = None
        for c in self.creds.values():
            if p.kind == PresentationKind.PIN:
                if c.kind == CredentialKind.PIN and c.pin_hash == p.pin_hash:
                    cred = c
            elif c.card_hash is not None and c.card_hash == p.card_hash:
                cred = c
        if cred is None:
            return "unknown_credential", None
        t = when.timestamp()
        if cred.revoked:
            return "revoked", None
        if cred.activates_at is not None and t < cred.activates_at:
            return "not_yet_active", None
        if cred.expires_at is not None and t >= cred.expires_at:
            return "expired", None
        person = self.people[cred.person_id]
        if person.status != "active":
            return "person_suspended", person.id
        if p.kind != PresentationKind.PIN and (
            policy.mode == DoorMode.CARD_AND_PIN or cred.kind == CredentialKind.CARD_AND_PIN
        ):
            if p.pin_hash is None:
                return "pin_required", person.id
            if p.pin_hash != cred.pin_hash:
                return "pin_invalid", person.id
        ranks = [
            self.level_ok(self.levels[lid], person, when)
            for lid in person.levels
            if lid in self.levels and self.covers(self.levels[lid], p.door_id)
        ]
        if not ranks:
            return "no_level_for_door", person.id
        best = max(ranks)
        if best < 4:
            return [
                "outside_schedule",
                "threat_level",
                "background_check_pending",
                "training_required",
            ][best], person.id
        unlock = self.schedule(policy.unlock_schedule_id) if policy.unlock_schedule_id else None
        if (
            policy.first_person_in
            and unlock is not None
            and ref_active(unlock, when)
            and self.first_in.get(p.door_id) != ref_local_date(when)
            and person.role not in policy.supervisor_roles
        ):
            return "first_person_pending", person.id
        if p.door_id in self.interlock and any(
            d in self.open for d in self.interlock if d != p.door_id
        ):
            return "interlock_open", person.id
        door = SITE.door(p.door_id)
        exit_side = p.reader_id is not None and READERS.get(p.reader_id, ("", None))[1] == "exit"
        target = door.from_zone if exit_side else door.to_zone
        soft = False
        apb = self.apb.get(target)
        where = self.where.get(person.id)
        if apb is not None and where is not None and where[0] == target:
            if apb.mode == AntiPassbackMode.HARD:
                return "anti_passback", person.id
            if (
                apb.mode == AntiPassbackMode.TIMED
                and (when - where[1]).total_seconds() < apb.timeout_s
            ):
                return "anti_passback", person.id
            if apb.mode == AntiPassbackMode.SOFT:
                soft = True
        escorted = False
        if person.kind == "visitor" and policy.escort_required:
            host = self.hosts.get(p.door_id)
            if host is None or (when - host[0]).total_seconds() > policy.escort_window_s:
                return "escort_required", person.id
            if host[1] >= policy.escort_ratio:
                return "escort_ratio_exceeded", person.id
            escorted = True
        partner = None
        if policy.two_person:
            first = self.two.get(p.door_id)
            if (
                first is None
                or (when - first[2]).total_seconds() > policy.two_person_window_s
                or first[0] == person.id
            ):
                reason = (
                    "two_person_timeout"
                    if first is not None
                    and (when - first[2]).total_seconds() > policy.two_person_window_s
                    else "two_person_pending"
                )
                self.two[p.door_id] = (person.id, person.role, when)
                return reason, person.id
            if policy.two_person_distinct_roles and first[1] == person.role:
                return "two_person_pending", person.id
            partner = self.people[first[0]]
            del self.two[p.door_id]
        if escorted:
            self.hosts[p.door_id][1] += 1
        for who in [x for x in (partner, person) if x is not None]:
            self.where[who.id] = (target, when)
            if who.kind != "visitor":
                self.hosts[p.door_id] = [when, 0]
            if (
                policy.first_person_in
                and unlock is not None
                and who.role in policy.supervisor_roles
                and ref_active(unlock, when)
            ):
                self.first_in[p.door_id] = ref_local_date(when)
        return ("anti_passback_soft" if soft else "granted"), person.id


# --- random policies and sequences ----------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    # l0 opens everything, always, so that the sequences reach the door rules often.
    levels = [LevelSpec("l0", "lab", zones=tuple(ZONES), max_threat_level=draw(st.integers(0, 4)))]
    for i in range(1, draw(st.integers(1, 4))):
        doors = tuple(draw(st.lists(st.sampled_from(DOORS), max_size=3, unique=True)))
        zones = tuple(draw(st.lists(st.sampled_from(ZONES), max_size=2, unique=True)))
        if not doors and not zones:
            doors = (draw(st.sampled_from(DOORS)),)
        levels.append(
            LevelSpec(
                f"l{i}",
                "lab",
                schedule_id=draw(st.none() | st.sampled_from(SCHEDULES)),
                doors=doors,
                zones=zones,
                max_threat_level=draw(st.integers(0, 3)),
                requires_training=draw(st.sampled_from([(), (), ("t1",)])),
                requires_background_check=draw(st.sampled_from([False, False, True])),
            )
        )
    level_ids = [lv.id for lv in levels]
    people, creds = [], []
    base = START.timestamp()
    for i in range(draw(st.integers(1, 5))):
        pid = f"p{i}"
        people.append(
            PersonSpec(
                pid,
                kind=draw(st.sampled_from(["employee", "employee", "contractor", "visitor"])),
                status=draw(st.sampled_from(["active"] * 9 + ["suspended"])),
                role=draw(st.sampled_from(["guard", "manager", "supervisor"])),
                levels=tuple(draw(st.lists(st.sampled_from(level_ids), max_size=3, unique=True)))
                or ("l0",),
                training=draw(st.sampled_from([(), (("t1", None),), (("t1", base + 86400 * 2),)])),
                background_check=draw(st.sampled_from(["cleared", "cleared", "pending"])),
            )
        )
        kind = draw(
            st.sampled_from(
                [
                    CredentialKind.CARD,
                    CredentialKind.CARD,
                    CredentialKind.CARD_AND_PIN,
                    CredentialKind.PIN,
                ]
            )
        )
        creds.append(
            CredentialSpec(
                f"c{i}",
                pid,
                kind,
                card_hash=None if kind is CredentialKind.PIN else f"card{i}",
                pin_hash=None if kind is CredentialKind.CARD else f"pin{i}",
                activates_at=draw(st.sampled_from([None, None, None, base + 3600])),
                expires_at=draw(st.sampled_from([None, None, None, base + 86400 * 3])),
                revoked=draw(st.sampled_from([False] * 7 + [True])),
            )
        )
    door_policies = []
    for door in draw(st.lists(st.sampled_from(DOORS), max_size=4, unique=True)):
        mode = draw(st.sampled_from([DoorMode.CARD_ONLY] * 8 + list(DoorMode)))
        unlock = (
            draw(st.sampled_from(SCHEDULES))
            if mode is DoorMode.UNLOCKED_BY_SCHEDULE
            else draw(st.none() | st.sampled_from(SCHEDULES))
        )
        door_policies.append(
            DoorPolicySpec(
                "lab",
                door,
                mode=mode,
                unlock_schedule_id=unlock,
                two_person=draw(st.booleans()),
                two_person_window_s=draw(st.sampled_from([10.0, 60.0])),
                two_person_distinct_roles=draw(st.booleans()),
                escort_required=draw(st.booleans()),
                escort_window_s=draw(st.sampled_from([10.0, 120.0])),
                escort_ratio=draw(st.integers(1, 2)),
                first_person_in=draw(st.booleans()),
                supervisor_roles=("supervisor",),
            )
        )
    apb = [
        AntiPassbackSpec(
            "lab",
            zone,
            draw(st.sampled_from(list(AntiPassbackMode))),
            draw(st.sampled_from([30.0, 600.0])),
        )
        for zone in draw(st.lists(st.sampled_from(ZONES), max_size=3, unique=True))
    ]
    interlocks = (
        (InterlockSpec("lab", "trap", ("trap-a", "trap-b")),) if draw(st.booleans()) else ()
    )
    return Policy(
        tuple(people), tuple(creds), tuple(levels), tuple(door_policies), tuple(apb), interlocks
    )


presents = st.tuples(
    st.just("present"),
    st.integers(0, 5),
    st.sampled_from([*DOORS, *DOORS, "nowhere"]),
    st.sampled_from([None, *READERS]),
    st.sampled_from(["right", "right", "right", "wrong", "none"]),
)
ops = st.one_of(
    presents,
    presents,
    presents,
    presents,
    presents,
    presents,
    st.tuples(st.just("door"), st.sampled_from(DOORS), st.sampled_from(["open", "closed"])),
    st.tuples(st.just("threat"), st.integers(0, 4)),
    st.tuples(st.just("lockdown"), st.sampled_from(ZONES), st.sampled_from([True, False, False])),
    st.tuples(st.just("revoke"), st.integers(0, 12)),
    st.tuples(st.just("suspend"), st.integers(0, 12)),
    st.tuples(st.just("forgive"), st.integers(0, 5)),
)
steps = st.lists(
    st.tuples(st.sampled_from([0, 1, 5, 20, 40, 90, 900, 3600, 5 * 3600]), ops),
    min_size=15,
    max_size=60,
)


SEEN: set[str] = set()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), sequence=steps, offset=st.integers(0, 4 * 86400))
def _agrees(policy: Policy, sequence: list[tuple[int, Any]], offset: int) -> None:
    clock = FrozenClock(START)
    engine = AccessEngine(clock=clock)
    engine.load([SITE], policy)
    model = Model(
        people={p.id: p for p in policy.people},
        creds={c.id: c for c in policy.credentials},
        levels={lv.id: lv for lv in policy.levels},
        doors={d.door_id: d for d in policy.door_policies},
        apb={a.zone_id: a for a in policy.anti_passback},
        interlock=policy.interlocks[0].doors if policy.interlocks else (),
    )
    when = START + dt.timedelta(seconds=offset)
    for advance, op in sequence:
        when += dt.timedelta(seconds=advance)
        kind = op[0]
        if kind == "present":
            _, index, door, reader, pin = op
            cred = policy.credentials[index % len(policy.credentials)]
            if index == 5:
                cred = CredentialSpec("ghost", "nobody", CredentialKind.CARD, card_hash="ghost")
            pin_hash = {"right": cred.pin_hash, "wrong": "bad", "none": None}[pin]
            if cred.kind is CredentialKind.PIN:
                p_kind = PresentationKind.PIN
            else:
                p_kind = (
                    PresentationKind.CARD if pin_hash is None else PresentationKind.CARD_AND_PIN
                )
            p = Presentation(
                door_id=door,
                reader_id=reader,
                kind=p_kind,
                card_hash=cred.card_hash,
                pin_hash=pin_hash,
                time=when,
            )
            verdict = engine.decide(p)
            expected, person = model.decide(p, when)
            assert verdict.reason == expected, (op, verdict.reason, expected)
            if person is not None:
                assert verdict.person_id == person
            SEEN.add(expected)
            assert verdict.granted == (expected in ("granted", "anti_passback_soft"))
        elif kind == "door":
            engine.door_state(op[1], op[2])
            (model.open.add if op[2] == "open" else model.open.discard)(op[1])
        elif kind == "threat":
            engine.set_threat_level("lab", op[1])
            model.threat = op[1]
        elif kind == "lockdown":
            engine.lockdown("lab", op[1], active=op[2])
            (model.lockdown.add if op[2] else model.lockdown.discard)(op[1])
        elif kind == "revoke" and op[1] < len(policy.credentials):
            cred = policy.credentials[op[1] % len(policy.credentials)]
            engine.revoke_credential(cred.id)
            model.creds[cred.id] = replace(model.creds[cred.id], revoked=True)
        elif kind == "suspend" and op[1] < len(policy.people):
            person = policy.people[op[1] % len(policy.people)]
            suspended = replace(model.people[person.id], status="suspended")
            engine.put_person(suspended)
            model.people[person.id] = suspended
        elif kind == "forgive":
            person = policy.people[op[1] % len(policy.people)]
            engine.forgive(person.id)
            model.where.pop(person.id, None)
    for person in policy.people:
        expected_zone = model.where.get(person.id)
        assert engine.location(person.id) == (f"lab/{expected_zone[0]}" if expected_zone else None)


def test_engine_agrees_with_reference() -> None:
    SEEN.clear()
    _agrees()
    # The random policies must reach most rules, or agreement would prove little.
    assert len(SEEN) >= 14, " ".join(sorted(SEEN))
