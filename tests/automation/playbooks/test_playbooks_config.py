"""Playbook and emergency-plan files: the shipped ones load; bad ones fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.automation.playbooks.config import load_library, parse_playbook_text
from bastion.automation.playbooks.plan import parse_plan
from bastion.core.errors import ConfigError

GOOD = """
version: 1
id: test-book
name: Test
scenario: generic
triggers:
  - {kind: event, event_type: alarm.raised, filter: {alarm_type: test}}
templates:
  custom:
    title: "Count at {{ site }}"
    body: "Total {{ cash_total }} at {{ time }}"
    variables: [cash_total]
steps:
  - id: tell
    title: Tell management
    kind: notify
    notify: {call_tree: management, template: custom, variables: {cash_total: "0"}}
  - {id: look, title: Look around}
"""


def _bad(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_playbook_text(text, source="book.yaml")
    return caught.value


def test_a_good_playbook_parses():
    book = parse_playbook_text(GOOD, source="book.yaml")
    assert [s.id for s in book.steps] == ["tell", "look"]
    assert book.step("tell").automatic and not book.step("look").automatic


def test_unknown_action_names_file_line_and_field():
    text = GOOD.replace(
        "  - {id: look, title: Look around}",
        "  - id: look\n    title: Look\n    kind: actions\n    actions:\n      - {action: launch_missiles}",
    )
    error = _bad(text)
    assert error.file == "book.yaml" and error.field == "steps.1.actions.0"
    assert "unknown action 'launch_missiles'" in error.message and "lock_door" in error.message
    assert error.line == text.splitlines().index("      - {action: launch_missiles}") + 1


def test_template_with_an_undeclared_variable():
    error = _bad(GOOD.replace("variables: [cash_total]", "variables: []"))
    assert error.field == "templates.custom"
    assert "undeclared variable(s) cash_total" in error.message


def test_template_variable_left_unfilled_by_the_step():
    error = _bad(GOOD.replace(', variables: {cash_total: "0"}', ""))
    assert error.field == "steps.0.notify.variables"
    assert "needs variable(s) cash_total" in str(error)


def test_empty_call_tree():
    error = _bad(GOOD.replace("call_tree: management", 'call_tree: ""'))
    assert error.field == "steps.0.notify.call_tree"
    assert "at least 1 character" in error.message


def test_unknown_template_and_trigger_and_kind_fields():
    assert (
        "unknown template 'nope'"
        in _bad(GOOD.replace("template: custom", "template: nope")).message
    )
    error = _bad(GOOD.replace("event_type: alarm.raised", "event_type: alarm.rased"))
    assert error.field == "triggers.0.event_type" and "unknown event type" in error.message
    error = _bad(
        GOOD.replace("{id: look, title: Look around}", "{id: look, title: L, kind: doors}")
    )
    assert "'command' is needed by kind 'doors'" in error.message
    assert "duplicate step id" in _bad(GOOD.replace("id: look", "id: tell")).message
    assert "not valid YAML" in _bad("steps: [").message


def test_a_broken_edited_playbook_is_reported_and_the_shipped_one_kept(tmp_path: Path):
    (tmp_path / "fire.yaml").write_text(
        "version: 1\nid: fire\nname: Fire\nscenario: fire\nsteps: []\n", encoding="utf-8"
    )
    (tmp_path / "mine.yaml").write_text(GOOD, encoding="utf-8")
    errors: list[ConfigError] = []
    library = load_library([tmp_path], errors=errors)
    assert library["fire"].shipped and not library["test-book"].shipped
    [error] = errors
    assert error.file is not None and error.file.endswith("fire.yaml")
    assert error.field == "steps"


def test_emergency_plan_validation(dispensary):
    text = "version: 1\nsite: dispensary-main\nhazards:\n  - {name: Gas, zone: basement}\n"
    with pytest.raises(ConfigError) as caught:
        parse_plan(text, source="plan.yaml", site=dispensary)
    assert caught.value.field == "hazards.0.zone" and "unknown zone 'basement'" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_plan("version: 1\nsite: dispensary-main\nkey_holders: [{name: A}]\n", source="p")
    assert caught.value.field == "plan.key_holders.0.phone"
    with pytest.raises(ConfigError, match="not 'dispensary-main'"):
        parse_plan("version: 1\nsite: elsewhere\n", site=dispensary)
