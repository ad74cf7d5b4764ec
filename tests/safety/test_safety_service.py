"""Safety service logic on the frozen clock: levels, plans, PINs, timers, reports, routines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.notify import service as notify_service
from bastion.safety import guide, service
from bastion.safety.models import Timer
from bastion.safety.schemas import (
    AssessmentCreate,
    CheckIn,
    DoxingCreate,
    DoxingStepCreate,
    Extend,
    Finish,
    PinsUpdate,
    RoutineCreate,
    ThreatCallCreate,
    TimerCreate,
    TripCreate,
)
from tests.conftest import add_call_tree
from tests.safety.conftest import ACTOR, ledger_payloads, raw_rows

SUPERVISOR = "mailto://127.0.0.1:9?from=bastion@example.org&to=sup@example.org&mode=insecure"


def test_levels_follow_the_guide_factors():
    assert guide.level_for({}) == "low"
    assert guide.level_for({"working_alone": True, "in_person_services": True}) == "moderate"
    assert guide.level_for({"specific_threats": True, "working_alone": True}) == "elevated"
    assert guide.level_for({"specific_threats": True, "targeted_before": True}) == "high"
    assert guide.level_for({f.id: True for f in guide.FACTORS}) == "high"


def test_plan_is_tailored_to_the_answers():
    low = {a.id for a in guide.plan_for({})}
    alone = {a.id for a in guide.plan_for({"working_alone": True})}
    assert "aware_checkins" not in low and "aware_checkins" in alone
    high = guide.plan_for({"specific_threats": True, "targeted_before": True})
    assert {a.section for a in high} == set(guide.SECTIONS)
    assert len(high) == len(guide.ACTIONS)


def test_assessment_progress_and_privacy(hub, clock):
    with hub.unit_of_work() as session:
        row = service.create_assessment(
            session=session,
            owner_id=1,
            data=AssessmentCreate(answers={"working_alone": True}, notes="night shifts"),
            now=clock.now(),
        )
        read = service.assessment_read(session=session, assessment=row)
        assessment_id = row.id
    assert read.level == "low" and read.done == 0 and read.total == len(read.plan)
    with hub.unit_of_work() as session:
        with pytest.raises(NotFound):
            service.get_own_assessment(session=session, assessment_id=assessment_id, owner_id=2)
        with pytest.raises(NotFound):
            service.get_shared_assessment(session=session, assessment_id=assessment_id)
    raw = " ".join(raw_rows(hub.db, "SELECT answers, notes, level FROM safety_assessments"))
    assert "night shifts" not in raw and "working_alone" not in raw and "low" not in raw


def test_unknown_factor_is_refused(hub, clock):
    with hub.unit_of_work() as session, pytest.raises(InvalidInput, match="unknown risk factor"):
        service.create_assessment(
            session=session,
            owner_id=1,
            data=AssessmentCreate(answers={"has_dog": True}),
            now=clock.now(),
        )


def _timer(hub, clock, owner_id: int = 1, **fields) -> str:
    with hub.db.sessions() as session:
        missing = notify_service.tree_problem(session=session, tree="supervisors") is not None
    if missing:
        add_call_tree(hub, "supervisors", ("Supervisor", SUPERVISOR), now=clock.now())
    data = TimerCreate(
        task="Meter reading", interval_minutes=30, call_tree_id="supervisors", **fields
    )
    with hub.unit_of_work() as session:
        return service.start_timer(
            session=session, owner_id=owner_id, data=data, sites=(), context=ACTOR, now=clock.now()
        ).id


def _pins(hub, clock, owner_id: int = 1) -> None:
    with hub.unit_of_work() as session:
        service.set_pins(
            session=session,
            owner_id=owner_id,
            data=PinsUpdate(checkin_pin="1234", duress_pin="9876"),
            now=clock.now(),
        )


def _act(hub, clock, timer_id: str, fn, data):
    with hub.unit_of_work() as session:
        timer = service.get_own_timer(session=session, timer_id=timer_id, owner_id=1)
        fn(session=session, timer=timer, data=data, context=ACTOR, now=clock.now())
        return timer.status, timer.due_at, timer.checkins


def test_duress_pin_raises_priority_one_alarm_and_changes_timer_like_a_normal_check_in(hub, clock):
    _pins(hub, clock)
    normal, duress = _timer(hub, clock), _timer(hub, clock)
    clock.advance(600)
    a = _act(hub, clock, normal, service.check_in, CheckIn(pin="1234"))
    b = _act(hub, clock, duress, service.check_in, CheckIn(pin="9876"))
    assert a == b
    alarms = ledger_payloads(hub, "alarm.raised")
    assert [(x["alarm_type"], x["priority"]) for x in alarms] == [("duress", 1)]
    assert duress in alarms[0]["message"] and "Meter" not in alarms[0]["message"]


def test_duress_flag_extend_and_finish_with_duress_pin_alarm_too(hub, clock):
    _pins(hub, clock)
    first, second = _timer(hub, clock), _timer(hub, clock)
    _act(hub, clock, first, service.check_in, CheckIn(duress=True))
    _act(hub, clock, first, service.extend, Extend(minutes=10, pin="9876"))
    status, _, _ = _act(hub, clock, second, service.finish, Finish(pin="9876"))
    assert status == "finished"
    assert [x["priority"] for x in ledger_payloads(hub, "alarm.raised")] == [1, 1, 1]


def test_wrong_pin_is_neither_normal_nor_duress_and_changes_nothing(hub, clock):
    _pins(hub, clock)
    timer_id = _timer(hub, clock)
    before = _act(hub, clock, timer_id, service.extend, Extend(minutes=1))
    with pytest.raises(InvalidInput, match="not recognised"):
        _act(hub, clock, timer_id, service.check_in, CheckIn(pin="9867"))
    with hub.unit_of_work() as session:
        timer = session.get(Timer, timer_id)
        assert (timer.status, timer.due_at, timer.checkins) == before
    assert ledger_payloads(hub, "alarm.raised") == []
    checkins = [p["action"] for p in ledger_payloads(hub, "safety.lone_worker")]
    assert checkins == ["started", "extended"]


def test_pin_without_configured_pins_and_finished_timer_are_refused(hub, clock):
    timer_id = _timer(hub, clock)
    with pytest.raises(InvalidInput, match="no check-in PIN"):
        _act(hub, clock, timer_id, service.check_in, CheckIn(pin="1234"))
    _act(hub, clock, timer_id, service.finish, Finish())
    with pytest.raises(Conflict, match="finished"):
        _act(hub, clock, timer_id, service.check_in, CheckIn())
    with pytest.raises(NotFound), hub.unit_of_work() as session:
        service.get_own_timer(session=session, timer_id=timer_id, owner_id=2)


def test_late_check_in_reactivates_a_missed_timer(hub, clock):
    timer_id = _timer(hub, clock)
    clock.advance(31 * 60)
    with hub.unit_of_work() as session:
        missed = service.mark_missed(session=session, now=clock.now())
    assert [m.timer_id for m in missed] == [timer_id]
    status, due, count = _act(hub, clock, timer_id, service.check_in, CheckIn())
    assert (status, count) == ("active", 1)
    assert due == clock.now() + timedelta(minutes=30)


def test_threat_call_report_encrypts_details_and_alerts_security(hub, clock):
    data = ThreatCallCreate(
        exact_words="There is a bomb in the grow room",
        call_time=clock.now() - timedelta(minutes=3),
        caller_number="+15550100",
        voice=["calm", "male"],
        background=["street"],
        steps_taken=["keep_on_line", "write_down"],
    )
    with hub.unit_of_work() as session:
        report = service.file_threat_call(
            session=session, reporter_id=1, data=data, context=ACTOR, now=clock.now()
        )
        read = service.report_read(session=session, report=report)
    assert read.details["caller_number"] == "+15550100"
    assert read.occurred_at == clock.now() - timedelta(minutes=3)
    raw = " ".join(raw_rows(hub.db, "SELECT * FROM safety_reports"))
    assert "bomb" not in raw and "+15550100" not in raw
    ledger = " ".join(r.payload for r in hub.ledger.query(limit=100))
    assert "bomb" not in ledger and "+15550100" not in ledger
    alarms = ledger_payloads(hub, "alarm.raised")
    assert [(a["alarm_type"], a["priority"]) for a in alarms] == [("threat_call", 2)]
    with hub.unit_of_work() as session, pytest.raises(InvalidInput, match="voice"):
        service.file_threat_call(
            session=session,
            reporter_id=1,
            data=data.model_copy(update={"voice": ["robotic"]}),
            context=ACTOR,
            now=clock.now(),
        )


def test_doxing_steps_close_the_case_when_all_are_recorded(hub, clock):
    with hub.unit_of_work() as session:
        case = service.open_doxing(
            session=session,
            reporter_id=1,
            data=DoxingCreate(description="Home address posted on a forum"),
            context=ACTOR,
            now=clock.now(),
        )
        case_id = case.id
    for step in guide.DOXING_STEP_IDS:
        exposed = ["home_address"] if step == "assess" else []
        with hub.unit_of_work() as session:
            case = service.get_own_report(
                session=session, report_id=case_id, reporter_id=1, kind="doxing"
            )
            assert service.report_read(session=session, report=case).next_step == step
            service.record_doxing_step(
                session=session,
                report=case,
                data=DoxingStepCreate(step=step, notes=f"did {step}", exposed=exposed),
                context=ACTOR,
                now=clock.now(),
            )
    with hub.unit_of_work() as session:
        read = service.report_read(
            session=session, report=service.get_report(session=session, report_id=case_id)
        )
    assert read.status == "closed" and read.next_step is None
    assert [s.step for s in read.steps] == list(guide.DOXING_STEP_IDS)
    assert "did assess" not in " ".join(raw_rows(hub.db, "SELECT data FROM safety_case_steps"))


def test_predictable_departures_are_flagged_and_suggestions_vary(hub, clock):
    with hub.unit_of_work() as session:
        routine = service.create_routine(
            session=session,
            owner_id=1,
            data=RoutineCreate(
                name="Cash pickup", window_start="09:00", window_end="12:00", routes=["A", "B"]
            ),
            now=clock.now(),
        )
        for day in range(5):
            departed = datetime(2026, 3, 1 + day, 10, 2 + day, tzinfo=UTC)
            service.add_trip(
                session=session, routine=routine, data=TripCreate(departed_at=departed, route="A")
            )
        analysis = service.analyse_routine(session=session, routine=routine, now=clock.now())
    assert analysis.predictable_time and analysis.predictable_route
    assert analysis.time_spread_minutes is not None and analysis.time_spread_minutes < 2
    assert len(analysis.suggestions) == 3
    for suggestion in analysis.suggestions:
        minute = suggestion.depart_at.hour * 60 + suggestion.depart_at.minute
        assert 9 * 60 <= minute <= 12 * 60
    assert analysis.suggestions[0].route == "B"
    picks = [s.depart_at.hour * 60 + s.depart_at.minute for s in analysis.suggestions]
    assert min(abs(a - b) for i, a in enumerate(picks) for b in picks[i + 1 :]) >= 30


def test_varied_departures_are_not_flagged(hub, clock):
    with hub.unit_of_work() as session:
        routine = service.create_routine(
            session=session,
            owner_id=1,
            data=RoutineCreate(name="Bank run", window_start="08:00", window_end="16:00"),
            now=clock.now(),
        )
        for day, (hour, route) in enumerate([(8, "A"), (15, "B"), (11, "A"), (13, "C")]):
            departed = datetime(2026, 3, 1 + day, hour, 10, tzinfo=UTC)
            service.add_trip(
                session=session, routine=routine, data=TripCreate(departed_at=departed, route=route)
            )
        analysis = service.analyse_routine(session=session, routine=routine, now=clock.now())
        read = service.routine_read(session=session, routine=routine)
    assert not analysis.predictable_time and not analysis.predictable_route
    assert read.routes == ["A", "B", "C"] and read.trips == 4


def test_a_routine_window_is_read_on_the_sites_clock(hub, clock):
    """22:00-23:00 in Los Angeles is 06:00-07:00 UTC: trips and suggestions use local time."""
    with hub.unit_of_work() as session:
        routine = service.create_routine(
            session=session,
            owner_id=1,
            data=RoutineCreate(name="Night deposit", window_start="22:00", window_end="23:00"),
            now=clock.now(),
            zone="America/Los_Angeles",
        )
        for day in range(4):
            # 06:0x UTC the next morning is 22:0x the evening before in Los Angeles (PST).
            departed = datetime(2026, 11, 26 + day, 6, day, tzinfo=UTC)
            service.add_trip(
                session=session, routine=routine, data=TripCreate(departed_at=departed)
            )
        december = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # all of it standard time
        analysis = service.analyse_routine(session=session, routine=routine, now=december)
        read = service.routine_read(session=session, routine=routine)
    assert (read.window_start, read.window_end, read.timezone) == (
        "22:00",
        "23:00",
        "America/Los_Angeles",
    )
    # The four departures sit 0-3 minutes after 22:00 local: one habit, flagged.
    assert analysis.predictable_time and analysis.time_spread_minutes is not None
    assert analysis.time_spread_minutes < 2
    for suggestion in analysis.suggestions:
        utc = suggestion.depart_at.astimezone(UTC)
        assert 6 * 60 <= utc.hour * 60 + utc.minute <= 7 * 60, utc


def test_a_routine_in_an_unknown_zone_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a time zone"):
        RoutineCreate(name="x", window_start="22:00", window_end="23:00", timezone="Mars/Olympus")
