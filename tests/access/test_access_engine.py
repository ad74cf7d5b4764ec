"""Each rule of the decision engine, its reason code, and its interplay with lockdown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.access.engine import AccessEngine
from bastion.access.reasons import TEXT, Reason
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
)
from bastion.core.errors import ConfigError, NotFound
from bastion.core.events import EVENT_ACCESS_DECISION
from bastion.core.ports import Presentation, PresentationKind
from tests.access.conftest import card, local, present

MON_10 = local(2026, 3, 9, 10, 0)  # Monday, in business hours
MON_20 = local(2026, 3, 9, 20, 0)
ALL = LevelSpec("all", "lab", zones=("lobby", "hall", "vault", "trap", "store"))
BUSINESS = LevelSpec("biz", "lab", schedule_id="business", zones=("lobby", "hall"))


def staff(
    pid: str = "ann", *levels: str, role: str = "clerk", kind: str = "employee"
) -> PersonSpec:
    return PersonSpec(pid, kind=kind, role=role, levels=levels or ("all",))


def test_every_reason_has_text():
    assert set(TEXT) == set(Reason)
    assert len({r.value for r in Reason}) == len(Reason)


def test_grant_and_event_queued_with_context_parent(make_engine):
    engine = make_engine((staff(),), (ALL,))
    p = present("ann", "front", MON_10, reader="front-in")
    verdict = engine.decide(p)
    assert verdict.granted and verdict.reason == "granted"
    assert verdict.person_id == "ann" and verdict.credential_id == "c-ann-1"
    assert verdict.strike_time_s == 5.0 and verdict.snapshot_version == engine.version
    [event] = engine.take_decision_events()
    assert event.type is EVENT_ACCESS_DECISION
    assert event.context.parent_id == p.context.id
    assert event.payload.reason == "granted" and event.payload.subject == "ann"
    assert event.payload.credential_ref == "c-ann-1" and event.site == "lab"
    assert "h-ann" not in event.payload_json()


def test_unknown_door_and_unknown_credential(make_engine):
    engine = make_engine((staff(),), (ALL,))
    assert engine.decide(present("ann", "nowhere", MON_10)).reason == "unknown_door"
    assert engine.decide(present("bob", "front", MON_10)).reason == "unknown_credential"
    blank = Presentation(door_id="front", reader_id=None, kind=PresentationKind.CARD, time=MON_10)
    assert engine.decide(blank).reason == "unknown_credential"
    events = engine.take_decision_events()
    assert events[1].payload.credential_ref.startswith("unknown:")


def test_credential_validity(make_engine):
    start, end = MON_10.timestamp(), (MON_10 + timedelta(days=1)).timestamp()
    creds = (
        CredentialSpec(
            "c-ann-1",
            "ann",
            CredentialKind.CARD,
            card_hash="h-ann-1",
            activates_at=start,
            expires_at=end,
        ),
        CredentialSpec("c-bob-1", "bob", CredentialKind.CARD, card_hash="h-bob-1", revoked=True),
    )
    engine = make_engine((staff(), staff("bob")), (ALL,), credentials=creds)
    assert (
        engine.decide(present("ann", "front", MON_10 - timedelta(seconds=1))).reason
        == "not_yet_active"
    )
    assert engine.decide(present("ann", "front", MON_10)).reason == "granted"
    assert engine.decide(present("ann", "front", MON_10 + timedelta(days=1))).reason == "expired"
    assert engine.decide(present("bob", "front", MON_10)).reason == "revoked"


def test_suspended_person_and_instant_revocation(make_engine):
    engine = make_engine((staff(),), (ALL,))
    assert engine.decide(present("ann", "front", MON_10)).granted
    version = engine.version
    engine.revoke_credential("c-ann-1")
    assert engine.version > version
    assert engine.decide(present("ann", "front", MON_10)).reason == "revoked"
    engine.put_credential(card("ann", 2))
    assert engine.decide(present("ann", "front", MON_10, n=2)).granted
    engine.put_person(PersonSpec("ann", status="suspended", levels=("all",)))
    assert engine.decide(present("ann", "front", MON_10, n=2)).reason == "person_suspended"
    with pytest.raises(NotFound):
        engine.revoke_credential("nope")


def test_levels_schedule_and_holiday(make_engine):
    engine = make_engine((staff("ann", "biz"),), (BUSINESS,))
    assert engine.decide(present("ann", "front", MON_10)).granted
    assert engine.decide(present("ann", "front", MON_20)).reason == "outside_schedule"
    assert engine.decide(present("ann", "vault-door", MON_10)).reason == "no_level_for_door"
    # Tuesday 2026-03-10 is a holiday: only 10:00–12:00 applies.
    assert (
        engine.decide(present("ann", "front", local(2026, 3, 10, 9, 30))).reason
        == "outside_schedule"
    )
    assert engine.decide(present("ann", "front", local(2026, 3, 10, 11, 0))).granted
    assert (
        engine.decide(present("ann", "front", local(2026, 3, 10, 13, 0))).reason
        == "outside_schedule"
    )
    # Saturday: no interval at all.
    assert (
        engine.decide(present("ann", "front", local(2026, 3, 14, 10, 0))).reason
        == "outside_schedule"
    )


def test_best_level_wins(make_engine):
    night = LevelSpec("night", "lab", schedule_id="night", zones=("lobby",))
    engine = make_engine((staff("ann", "biz", "night"),), (BUSINESS, night))
    assert engine.decide(present("ann", "front", local(2026, 3, 9, 23, 0))).granted
    assert engine.decide(present("ann", "front", local(2026, 3, 10, 5, 59))).granted
    assert (
        engine.decide(present("ann", "front", local(2026, 3, 10, 6, 0))).reason
        == "outside_schedule"
    )


def test_threat_level_and_gating(make_engine):
    guarded = LevelSpec(
        "guarded",
        "lab",
        zones=("vault",),
        max_threat_level=2,
        requires_background_check=True,
        requires_training=("vault-101",),
    )
    future = (MON_10 + timedelta(days=30)).timestamp()
    people = (
        PersonSpec(
            "ann",
            role="manager",
            levels=("guarded", "all"),
            background_check="cleared",
            training=(("vault-101", future),),
        ),
        PersonSpec(
            "bob", levels=("guarded",), background_check="pending", training=(("vault-101", None),)
        ),
        PersonSpec(
            "cy",
            levels=("guarded",),
            background_check="cleared",
            training=(("vault-101", MON_10.timestamp()),),
        ),
    )
    engine = make_engine(people, (guarded, ALL))
    assert engine.decide(present("ann", "vault-door", MON_10)).granted
    assert engine.decide(present("bob", "vault-door", MON_10)).reason == "background_check_pending"
    assert engine.decide(present("cy", "vault-door", MON_10)).reason == "training_required"
    engine.set_threat_level("lab", 1)
    assert engine.decide(present("ann", "vault-door", MON_10)).granted
    engine.set_threat_level("lab", 3)
    assert engine.decide(present("ann", "vault-door", MON_10)).reason == "threat_level"
    assert engine.decide(present("ann", "front", MON_10)).reason == "threat_level"
    with pytest.raises(ConfigError):
        engine.set_threat_level("lab", 11)


def test_pin_rules(make_engine):
    creds = (
        CredentialSpec(
            "c-ann-1", "ann", CredentialKind.CARD_AND_PIN, card_hash="h-ann-1", pin_hash="p-ann"
        ),
        CredentialSpec("c-bob-1", "bob", CredentialKind.CARD, card_hash="h-bob-1"),
        CredentialSpec("c-cy-1", "cy", CredentialKind.PIN, pin_hash="p-cy"),
    )
    engine = make_engine((staff(), staff("bob"), staff("cy")), (ALL,), credentials=creds)
    first = engine.decide(present("ann", "front", MON_10))
    assert first.reason == "pin_required" and first.pending and not first.granted
    assert engine.decide(present("ann", "front", MON_10, pin="wrong")).reason == "pin_invalid"
    assert engine.decide(present("ann", "front", MON_10, pin="p-ann")).granted
    assert engine.decide(present("bob", "front", MON_10)).granted
    pin_only = Presentation(
        door_id="front", reader_id=None, kind=PresentationKind.PIN, pin_hash="p-cy", time=MON_10
    )
    assert engine.decide(pin_only).reason == "card_required"
    engine.put_door_policy(DoorPolicySpec("lab", "front", mode=DoorMode.CARD_AND_PIN))
    assert engine.decide(present("bob", "front", MON_10)).reason == "pin_required"
    assert engine.decide(present("bob", "front", MON_10, pin="p-x")).reason == "pin_invalid"
    engine.put_door_policy(
        DoorPolicySpec(
            "lab", "front", mode=DoorMode.UNLOCKED_BY_SCHEDULE, unlock_schedule_id="business"
        )
    )
    assert engine.decide(pin_only).granted


def test_door_modes(make_engine):
    engine = make_engine((staff(),), (ALL,))
    engine.put_door_policy(DoorPolicySpec("lab", "front", mode=DoorMode.LOCKED))
    assert engine.decide(present("ann", "front", MON_10)).reason == "door_locked"
    engine.put_door_policy(DoorPolicySpec("lab", "front", mode=DoorMode.EGRESS_ONLY))
    assert engine.decide(present("ann", "front", MON_10)).reason == "egress_only"
    assert engine.request_exit("front").reason == "egress"
    engine.put_door_policy(DoorPolicySpec("lab", "front", mode=DoorMode.LOCKDOWN))
    assert engine.decide(present("ann", "front", MON_10)).reason == "lockdown"
    assert engine.request_exit("front").granted
    assert engine.request_exit("nowhere").reason == "unknown_door"
    with pytest.raises(ConfigError, match="names no unlock schedule"):
        engine.put_door_policy(DoorPolicySpec("lab", "front", mode=DoorMode.UNLOCKED_BY_SCHEDULE))


def test_lockdown_of_zone_and_adjacent_zones_wins_over_everything_but_egress(make_engine):
    engine = make_engine((staff(),), (ALL,))
    doors = engine.lockdown("lab", "vault")
    # vault and its adjacent zone (hall): every door of both.
    assert set(doors) == {"vault-door", "hall-door", "trap-b"}
    for door in doors:
        assert engine.decide(present("ann", door, MON_10)).reason == "lockdown"
        assert engine.request_exit(door).granted
    assert engine.decide(present("ann", "front", MON_10)).granted
    # Lockdown wins over an unknown card and a revoked one alike.
    assert engine.decide(present("zed", "vault-door", MON_10)).reason == "lockdown"
    assert engine.door_locked_down("vault-door")
    engine.lockdown("lab", "vault", active=False)
    assert engine.decide(present("ann", "vault-door", MON_10)).granted
    with pytest.raises(NotFound):
        engine.lockdown("lab", "nope")


def test_first_person_in(make_engine):
    people = (staff("sup", role="supervisor"), staff("ann"))
    engine = make_engine(people, (ALL,))
    engine.put_door_policy(
        DoorPolicySpec(
            "lab",
            "front",
            mode=DoorMode.UNLOCKED_BY_SCHEDULE,
            unlock_schedule_id="business",
            first_person_in=True,
            supervisor_roles=("supervisor",),
        )
    )
    assert not engine.scheduled_unlock("front", MON_10)
    assert engine.decide(present("ann", "front", MON_10)).reason == "first_person_pending"
    # Outside the unlock schedule the door works on cards as usual.
    assert engine.decide(present("ann", "front", MON_20)).granted
    assert engine.decide(present("sup", "front", MON_10)).granted
    assert engine.scheduled_unlock("front", MON_10 + timedelta(minutes=5))
    assert engine.decide(present("ann", "front", MON_10 + timedelta(minutes=1))).granted
    # The next day starts locked again.
    tuesday = local(2026, 3, 11, 10, 0)
    assert engine.decide(present("ann", "front", tuesday)).reason == "first_person_pending"


def test_interlock(make_engine):
    engine = make_engine(
        (staff(),), (ALL,), interlocks=(InterlockSpec("lab", "trap", ("trap-a", "trap-b")),)
    )
    engine.door_state("trap-a", "open")
    assert engine.is_open("trap-a")
    assert engine.decide(present("ann", "trap-b", MON_10)).reason == "interlock_open"
    assert engine.decide(present("ann", "front", MON_10)).granted
    engine.door_state("trap-a", "closed")
    assert engine.decide(present("ann", "trap-b", MON_10)).granted


@pytest.mark.parametrize("mode", list(AntiPassbackMode))
def test_anti_passback(make_engine, mode):
    engine = make_engine(
        (staff(),), (ALL,), anti_passback=(AntiPassbackSpec("lab", "lobby", mode, 60.0),)
    )
    assert engine.decide(present("ann", "front", MON_10, reader="front-in")).granted
    assert engine.location("ann") == "lab/lobby"
    again = engine.decide(
        present("ann", "front", MON_10 + timedelta(seconds=10), reader="front-in")
    )
    expected = {"hard": "anti_passback", "soft": "anti_passback_soft", "timed": "anti_passback"}[
        mode
    ]
    assert again.reason == expected
    assert again.granted is (mode is AntiPassbackMode.SOFT)
    later = engine.decide(
        present("ann", "front", MON_10 + timedelta(seconds=120), reader="front-in")
    )
    assert (
        later.reason
        == {"hard": "anti_passback", "soft": "anti_passback_soft", "timed": "granted"}[mode]
    )
    # Leaving through the exit reader, then coming back in, is fine.
    assert engine.decide(
        present("ann", "front", MON_10 + timedelta(seconds=130), reader="front-out")
    ).granted
    assert (
        engine.decide(
            present("ann", "front", MON_10 + timedelta(seconds=140), reader="front-in")
        ).reason
        == "granted"
    )


def test_anti_passback_forgiveness(make_engine):
    engine = make_engine((staff(),), (ALL,), anti_passback=(AntiPassbackSpec("lab", "lobby"),))
    engine.decide(present("ann", "front", MON_10, reader="front-in"))
    assert (
        engine.decide(present("ann", "front", MON_10, reader="front-in")).reason == "anti_passback"
    )
    assert engine.forgive("ann") == 1
    assert engine.decide(present("ann", "front", MON_10, reader="front-in")).granted
    assert engine.forgive(site_id="lab") == 1


def test_two_person_rule(make_engine):
    people = (staff("ann", role="manager"), staff("bob", role="manager"), staff("cy", role="guard"))
    engine = make_engine(people, (ALL,))
    engine.put_door_policy(
        DoorPolicySpec(
            "lab",
            "vault-door",
            two_person=True,
            two_person_window_s=30,
            two_person_distinct_roles=True,
        )
    )
    first = engine.decide(present("ann", "vault-door", MON_10))
    assert first.reason == "two_person_pending" and first.pending and not first.granted
    assert (
        engine.decide(present("ann", "vault-door", MON_10 + timedelta(seconds=2))).reason
        == "two_person_pending"
    )
    # Same role does not count when roles must differ.
    assert (
        engine.decide(present("bob", "vault-door", MON_10 + timedelta(seconds=5))).reason
        == "two_person_pending"
    )
    done = engine.decide(present("cy", "vault-door", MON_10 + timedelta(seconds=10)))
    assert done.granted and done.strike_time_s == 3
    events = engine.take_decision_events()
    granted = [e.payload.subject for e in events if e.payload.granted]
    assert granted == ["ann", "cy"]  # the first card is granted too, as its own event
    # Too slow: the first card times out.
    engine.decide(present("ann", "vault-door", MON_10 + timedelta(seconds=100)))
    late = engine.decide(present("cy", "vault-door", MON_10 + timedelta(seconds=140)))
    assert late.reason == "two_person_timeout" and late.pending
    assert engine.decide(present("ann", "vault-door", MON_10 + timedelta(seconds=150))).granted


def test_escort_and_ratio(make_engine):
    people = (
        staff("host"),
        staff("v1", kind="visitor"),
        staff("v2", kind="visitor"),
        staff("v3", kind="visitor"),
    )
    engine = make_engine(people, (ALL,))
    engine.put_door_policy(DoorPolicySpec("lab", "hall-door", escort_window_s=20, escort_ratio=2))
    alone = engine.decide(present("v1", "hall-door", MON_10))
    assert alone.reason == "escort_required" and alone.pending
    assert engine.decide(present("host", "hall-door", MON_10)).granted
    assert engine.decide(present("v1", "hall-door", MON_10 + timedelta(seconds=5))).granted
    assert engine.decide(present("v2", "hall-door", MON_10 + timedelta(seconds=6))).granted
    assert (
        engine.decide(present("v3", "hall-door", MON_10 + timedelta(seconds=7))).reason
        == "escort_ratio_exceeded"
    )
    assert (
        engine.decide(present("v3", "hall-door", MON_10 + timedelta(seconds=60))).reason
        == "escort_required"
    )
    # A door without the escort rule lets visitors through on their own level.
    engine.put_door_policy(DoorPolicySpec("lab", "front", escort_required=False))
    assert engine.decide(present("v3", "front", MON_10)).granted


def test_lockdown_beats_two_person_escort_and_first_person(make_engine):
    people = (staff("ann"), staff("v", kind="visitor"))
    engine = make_engine(people, (ALL,))
    engine.put_door_policy(DoorPolicySpec("lab", "vault-door", two_person=True))
    engine.decide(present("ann", "vault-door", MON_10))
    engine.lockdown("lab", "hall")
    assert engine.decide(present("v", "vault-door", MON_10)).reason == "lockdown"
    assert engine.decide(present("ann", "hall-door", MON_10)).reason == "lockdown"
    assert engine.request_exit("vault-door").reason == "egress"


def test_explain_is_a_dry_run_with_the_full_chain(make_engine):
    engine = make_engine(
        (staff("ann", "biz"),), (BUSINESS,), anti_passback=(AntiPassbackSpec("lab", "lobby"),)
    )
    p = engine.presentation_for("c-ann-1", "front", at=MON_20)
    explanation = engine.explain(p)
    assert explanation.verdict.reason == "outside_schedule"
    checks = [s.check for s in explanation.steps]
    assert checks[:4] == ["door", "lockdown", "credential", "person"] and "level biz" in checks
    assert explanation.lines()[-1].startswith("=> DENIED: outside_schedule")
    ok = engine.explain(engine.presentation_for("c-ann-1", "front", at=MON_10))
    assert ok.verdict.granted and [s.check for s in ok.steps][-1] == "anti-passback"
    assert engine.location("ann") is None and engine.pending_decisions() == 0
    with pytest.raises(NotFound):
        engine.presentation_for("nope", "front")


def test_who_can(make_engine):
    vault = LevelSpec("vault", "lab", zones=("vault",))
    night = LevelSpec("night-vault", "lab", schedule_id="night", doors=("vault-door",))
    people = (
        staff("ann", "vault"),
        staff("bob", "night-vault"),
        staff("cy", "biz"),
        PersonSpec("dee", status="suspended", levels=("vault",)),
    )
    engine = make_engine(people, (vault, night, BUSINESS))
    assert [h.person_id for h in engine.who_can("vault-door")] == ["ann", "bob"]
    assert [h.person_id for h in engine.who_can("vault-door", at=MON_10)] == ["ann"]
    engine.revoke_credential("c-ann-1")
    assert [h.person_id for h in engine.who_can("vault-door")] == ["bob"]
    assert engine.doors_for("vault") == ["lab/vault-door"]
    with pytest.raises(NotFound):
        engine.who_can("nope")


def test_level_with_missing_schedule_is_a_clear_error_and_nothing_changes(make_engine):
    engine = make_engine((staff("ann", "bad"),), ())
    version = engine.version
    with pytest.raises(
        ConfigError, match="references schedule 'weekends', which site 'lab' does not define"
    ):
        engine.put_level(LevelSpec("bad", "lab", schedule_id="weekends", zones=("lobby",)))
    with pytest.raises(ConfigError, match="door 'nope'"):
        engine.put_level(LevelSpec("bad", "lab", doors=("nope",)))
    with pytest.raises(ConfigError, match="not loaded"):
        engine.put_level(LevelSpec("bad", "elsewhere", zones=("lobby",)))
    assert engine.version == version and "bad" not in engine.snapshot.levels
    assert engine.decide(present("ann", "front", MON_10)).reason == "no_level_for_door"


def test_load_with_a_bad_level_leaves_the_old_snapshot(make_engine, lab_site):
    from bastion.access.snapshot import Policy

    engine = make_engine((staff(),), (ALL,))
    bad = Policy(
        people=(staff(),),
        credentials=(card("ann"),),
        levels=(LevelSpec("all", "lab", schedule_id="missing", zones=("lobby",)),),
    )
    with pytest.raises(ConfigError):
        engine.load([lab_site], bad)
    assert engine.decide(present("ann", "front", MON_10)).granted


def test_decide_uses_the_clock_when_the_read_has_no_time(make_engine, clock):
    engine = make_engine((staff("ann", "biz"),), (BUSINESS,))
    clock.set(MON_10)
    p = Presentation(
        door_id="front", reader_id=None, kind=PresentationKind.CARD, card_hash="h-ann-1"
    )
    assert engine.decide(p).granted
    clock.set(MON_20)
    assert engine.decide(p).reason == "outside_schedule"


def test_queue_notifier_fires_once_per_batch(make_engine):
    engine = make_engine((staff(),), (ALL,))
    calls = []
    engine.set_notifier(lambda: calls.append(1))
    for _ in range(3):
        engine.decide(present("ann", "front", MON_10))
    assert calls == [1]
    assert len(engine.take_decision_events()) == 3
    engine.decide(present("ann", "front", MON_10))
    assert calls == [1, 1]


def test_plain_door_ids_are_ambiguous_across_sites(lab_site, clock):
    other = lab_site.model_copy(update={"site": lab_site.site.model_copy(update={"id": "lab2"})})
    engine = AccessEngine(clock=clock)
    from bastion.access.snapshot import Policy

    engine.load(
        [lab_site, other],
        Policy(
            people=(staff("ann", "l2"),),
            credentials=(card("ann"),),
            levels=(LevelSpec("l2", "lab2", zones=("lobby",)),),
        ),
    )
    assert engine.decide(present("ann", "front", MON_10)).reason == "unknown_door"
    assert engine.decide(present("ann", "lab2/front", MON_10)).granted
    assert engine.decide(present("ann", "lab/front", MON_10)).reason == "no_level_for_door"
