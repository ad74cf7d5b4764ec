"""Rule files: parsing, registry look-ups, unknown actions and cycles rejected at check time."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bastion.automation.actions import ACTIONS
from bastion.automation.conditions import CONDITIONS
from bastion.automation.config import load_rules_file, parse_rules
from bastion.automation.engine import RuleEngine
from bastion.automation.state import RuleEnv
from bastion.automation.triggers import TRIGGERS, ScheduleTriggerConfig, next_schedule_time
from bastion.core.errors import ConfigError
from tests.monitoring_support import EXAMPLE_RULES


def _rules(body: str) -> str:
    return "version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def test_example_rules_check_and_compile_against_the_site(site):
    ruleset = load_rules_file(EXAMPLE_RULES)
    engine = RuleEngine(RuleEnv(sites={site.site.id: site}))
    engine.load(ruleset.rules)
    assert "forced-door-response" in engine.rules
    assert {"door.forced", "sensor.state", "sensor.reading"} <= engine.event_types


def test_registries_are_module_level_dicts():
    assert {"event", "schedule", "threshold"} == set(TRIGGERS)
    assert {"zone_armed", "threat_level", "time_window", "door_state", "sensor_state"} <= set(
        CONDITIONS
    )
    assert {
        "lock_door",
        "unlock_door",
        "lockdown",
        "set_threat_level",
        "raise_alarm",
        "ptz_preset",
        "bookmark_cameras",
        "call_tree",
        "notify",
        "create_incident",
    } <= set(ACTIONS)


def test_unknown_action_is_rejected_with_file_and_line():
    text = _rules(
        """
        - id: r1
          triggers: [{kind: event, event_type: door.forced}]
          actions:
            - action: lock_door
              doors: adjacent
            - action: launch_missiles
              target: everything
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_rules(text, source="rules.yaml")
    err = info.value
    assert "unknown action 'launch_missiles'" in err.message
    assert err.file == "rules.yaml"
    assert err.line == 9
    assert err.field == "rules.0.actions.1"


def test_rule_that_triggers_itself_is_rejected():
    text = _rules(
        """
        - id: echo
          triggers: [{kind: event, event_type: alarm.raised}]
          actions:
            - {action: raise_alarm, alarm_type: again, message: again}
        """
    )
    with pytest.raises(ConfigError, match="'echo' triggers itself"):
        parse_rules(text)


def test_cycle_through_two_rules_is_rejected():
    text = _rules(
        """
        - id: lock-on-command
          triggers: [{kind: event, event_type: door.command, filter: {command: unlock}}]
          actions: [{action: set_threat_level, level: 2}]
        - id: unlock-on-threat
          triggers: [{kind: event, event_type: site.threat_level}]
          actions: [{action: unlock_door, doors: [front-entry]}]
        """
    )
    with pytest.raises(ConfigError, match="cycle"):
        parse_rules(text)


def test_filters_that_cannot_match_are_not_cycles():
    text = _rules(
        """
        - id: escalate
          triggers: [{kind: event, event_type: alarm.raised, filter: {alarm_type: door_forced}}]
          actions: [{action: raise_alarm, alarm_type: escalation, message: escalated}]
        """
    )
    assert [r.id for r in parse_rules(text).rules] == ["escalate"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "- id: a\n  triggers: [{kind: event, event_type: door.nope}]\n  actions: [{action: lock_door, doors: trigger}]",
            "unknown event type",
        ),
        (
            "- id: a\n  triggers: [{kind: event, event_type: door.forced, filter: {colour: red}}]\n  actions: [{action: lock_door, doors: trigger}]",
            "no field 'colour'",
        ),
        (
            "- id: a\n  triggers: [{kind: telepathy}]\n  actions: [{action: lock_door, doors: trigger}]",
            "unknown trigger kind",
        ),
        (
            "- id: a\n  triggers: [{kind: schedule}]\n  actions: [{action: lock_door, doors: trigger}]",
            "exactly one of",
        ),
        (
            "- id: a\n  triggers: [{kind: event, event_type: door.forced}]\n  conditions: [{condition: moon_phase}]\n  actions: [{action: lock_door, doors: trigger}]",
            "unknown condition",
        ),
        (
            "- id: a\n  triggers: [{kind: event, event_type: door.forced}]\n  mode: sometimes\n  actions: [{action: lock_door, doors: trigger}]",
            "mode",
        ),
        (
            "- id: a\n  triggers: [{kind: event, event_type: door.forced}]\n  actions: [{action: lock_door, doors: trigger}]\n- id: a\n  triggers: [{kind: event, event_type: door.held}]\n  actions: [{action: lock_door, doors: trigger}]",
            "duplicate rule id",
        ),
    ],
)
def test_bad_rules_give_one_clear_error(body, message):
    with pytest.raises(ConfigError) as info:
        parse_rules("version: 1\nrules:\n" + textwrap.indent(body, "  "))
    assert message in str(info.value)


def test_references_are_checked_against_the_site_at_compile_time(site):
    text = _rules(
        """
        - id: bad-preset
          triggers: [{kind: event, event_type: door.forced}]
          actions: [{action: ptz_preset, camera: cam-lot-ptz, preset: moon}]
        """
    )
    engine = RuleEngine(RuleEnv(sites={site.site.id: site}))
    with pytest.raises(ConfigError, match="no preset 'moon'"):
        engine.load(parse_rules(text).rules)


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigError) as info:
        parse_rules("version: 1\nrules:\n  - id: [unclosed\n", source="x.yaml")
    assert info.value.line is not None


def test_a_schedule_at_22_00_in_los_angeles_runs_at_22_00_local():
    """'at' is read on the site's clock: 22:00 Pacific is 06:00 UTC (PST) or 05:00 (PDT)."""
    west = ZoneInfo("America/Los_Angeles")
    cfg = ScheduleTriggerConfig(at=time(22, 0))
    winter = next_schedule_time(cfg, datetime(2026, 12, 3, 0, 0, tzinfo=UTC), west)
    assert winter == datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    assert winter.astimezone(west).strftime("%H:%M %Z") == "22:00 PST"
    summer = next_schedule_time(cfg, datetime(2026, 7, 1, 12, 0, tzinfo=UTC), west)
    assert summer == datetime(2026, 7, 2, 5, 0, tzinfo=UTC)  # 22:00 PDT on 1 July
