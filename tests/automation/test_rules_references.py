"""Every name a rule uses is checked against the site and the notify store, with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.automation.config import check_rule_references, load_rule_sets, parse_rules
from bastion.automation.engine import RuleEngine
from bastion.automation.playbooks.config import check_playbook_references, load_library
from bastion.automation.references import Catalog, catalog_from_store, offline_catalog
from bastion.automation.runtime import start_automation
from bastion.automation.state import RuleEnv
from bastion.cli.main import app
from bastion.core.errors import ConfigError
from bastion.demo import install_demo_call_trees, prepare_demo
from bastion.hub import open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from tests.monitoring_support import EXAMPLE_RULES, EXAMPLE_SITE

BAD_RULES = """\
version: 1
rules:
  - id: everything-wrong
    triggers:
      - kind: event
        event_type: sensor.state
        filter: {zone_id: [vault, vualt], device_id: counter-panik-1}
      - kind: threshold
        device_id: cam-lobby
        quantity: vape_index
        above: 70
    conditions:
      - condition: sensor_state
        device: vault-pri-1
        state: active
      - condition: or
        conditions:
          - {condition: zone_armed, zone: cash-rooom}
          - {condition: door_state, door: trigger, state: [open]}
    actions:
      - action: lock_door
        doors: [vault-door, trapdoor-xyz]
      - action: lockdown
        zone: vaultt
      - action: ptz_preset
        camera: cam-lot-ptz
        preset: moon
      - action: bookmark_cameras
        cameras: [cam-lobby, lobby-pir]
      - action: call_tree
        call_tree: after-hours
        message: hi
      - action: notify
        roles: [supervisor]
        message: hi
      - action: arm_zone
        site: dispensary-mian
        zones: [lobby]
"""


def test_every_kind_of_missing_name_is_reported_at_once_with_its_line(site):
    ruleset = parse_rules(BAD_RULES, source="bad.yaml")
    catalog = Catalog(sites={site.site.id: site}, call_trees={"after-hours-intrusion": None})
    errors = check_rule_references(ruleset, catalog)
    found = {(e.line, e.field): e.message for e in errors}
    assert all(e.file == "bad.yaml" for e in errors)
    assert found == {
        (7, "rules.0.triggers.0.filter.zone_id"): (
            "site 'dispensary-main' has no zone 'vualt' (did you mean 'vault'?)"
        ),
        (7, "rules.0.triggers.0.filter.device_id"): (
            "site 'dispensary-main' has no device 'counter-panik-1' (did you mean 'counter-panic-1'?)"
        ),
        (
            9,
            "rules.0.triggers.1.device_id",
        ): "device 'cam-lobby' is not a sensor (it is a camera device)",
        (14, "rules.0.conditions.0.device"): (
            "site 'dispensary-main' has no device 'vault-pri-1' (did you mean 'vault-pir-1'?)"
        ),
        (18, "rules.0.conditions.1.conditions.0.zone"): (
            "site 'dispensary-main' has no zone 'cash-rooom' (did you mean 'cash-room'?)"
        ),
        (22, "rules.0.actions.0.doors.1"): "site 'dispensary-main' has no door 'trapdoor-xyz'",
        (24, "rules.0.actions.1.zone"): (
            "site 'dispensary-main' has no zone 'vaultt' (did you mean 'vault'?)"
        ),
        (27, "rules.0.actions.2.preset"): (
            "camera 'cam-lot-ptz' has no preset 'moon' "
            "(presets: dock-apron, front-entry, lot-gate, ped-gate, sales-exit)"
        ),
        (
            29,
            "rules.0.actions.3.cameras.1",
        ): "device 'lobby-pir' is not a camera (it is a motion device)",
        (31, "rules.0.actions.4.call_tree"): (
            "call tree 'after-hours' does not exist (did you mean 'after-hours-intrusion'?)"
        ),
        (34, "rules.0.actions.5.roles.0"): (
            "no call tree 'supervisor': a role under 'roles' starts the call tree of the same name"
        ),
        (37, "rules.0.actions.6.site"): (
            "no site 'dispensary-mian' is loaded (did you mean 'dispensary-main'?)"
        ),
    }


def test_a_door_no_loaded_site_has_is_an_error_with_several_sites(site):
    other = site.model_copy(update={"site": site.site.model_copy(update={"id": "other"})})
    ruleset = parse_rules(
        "version: 1\nrules:\n  - id: r\n    triggers: [{kind: event, event_type: door.forced}]\n"
        "    actions: [{action: lock_door, doors: [vault-door, nowhere]}]\n"
    )
    engine = RuleEngine(RuleEnv(sites={site.site.id: site, "other": other}))
    with pytest.raises(ConfigError) as info:
        engine.load(ruleset.rules)
    assert info.value.message == "no loaded site has a door 'nowhere'"
    assert info.value.field == "rule r.actions.0.doors.1"


def test_the_engine_refuses_a_call_tree_the_store_does_not_have(site):
    ruleset = load_rule_sets([EXAMPLE_RULES])[0]
    env = RuleEnv(sites={site.site.id: site}, call_trees={"shift_lead": None})
    with pytest.raises(ConfigError, match="call tree 'after-hours-intrusion' does not exist"):
        RuleEngine(env).load(ruleset.rules)


async def test_automation_does_not_start_with_a_rule_whose_call_tree_is_missing(hub, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            version: 1
            rules:
              - id: forced
                triggers: [{kind: event, event_type: door.forced}]
                actions:
                  - action: call_tree
                    call_tree: night-team
                    message: "Forced {door_name}"
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        await start_automation(hub, [path], tick_s=None, flush_s=None)
    error = info.value
    assert (error.file, error.line, error.field) == (
        str(path),
        7,
        "rules.0.actions.0.call_tree",
    )
    assert error.message == "call tree 'night-team' does not exist"


def _cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.delenv("BASTION_SECRET_KEYS", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_rules_check_names_the_missing_call_trees_of_the_example_rules(tmp_path, monkeypatch):
    run = _cli(tmp_path, monkeypatch)
    data = tmp_path / "data"
    run("init", "--site", str(EXAMPLE_SITE), "--data-dir", str(data))

    out = run("rules", "check", str(EXAMPLE_RULES), "--data-dir", str(data), code=2)
    assert "rule(s) OK" not in out
    assert (
        f"{EXAMPLE_RULES}:34: rules.0.actions.4.call_tree: call tree 'after-hours-intrusion' "
        "does not exist"
    ) in " ".join(out.split())
    assert "rules.2.actions.1.roles.0: no call tree 'shift_lead'" in " ".join(out.split())

    hub = open_hub(Settings(data_dir=data))
    try:
        install_demo_call_trees(hub, smtp_port=9)
    finally:
        hub.close()
    out = run("rules", "check", str(EXAMPLE_RULES), "--data-dir", str(data))
    assert "5 rule(s) OK" in out and "not checked" not in out

    # Without a database the check says what it could not check.
    empty = tmp_path / "empty"
    out = run(
        "rules", "check", str(EXAMPLE_RULES), "--site", str(EXAMPLE_SITE), "--data-dir", str(empty)
    )
    assert "5 rule(s) OK" in out and "not checked: call trees" in " ".join(out.split())


def test_every_name_the_demo_rules_and_playbooks_use_exists_and_reaches_someone(tmp_path):
    settings = Settings(data_dir=tmp_path / "demo")
    prepare_demo(settings)
    hub = open_hub(settings)
    try:
        with hub.db.sessions() as session:
            catalog = catalog_from_store(
                session=session, sites=site_service.load_all(session=session)
            )
    finally:
        hub.close()
    problems = [
        str(error)
        for ruleset in load_rule_sets([EXAMPLE_RULES])
        for error in check_rule_references(ruleset, catalog)
    ]
    for loaded in load_library().values():
        problems += [
            str(error)
            for error in check_playbook_references(
                loaded.config, catalog, source=loaded.source, raw=loaded.raw
            )
        ]
    assert problems == []
    site = next(iter(catalog.sites.values()))
    assert site.site.safety_call_tree is not None
    assert catalog.call_trees is not None
    assert catalog.call_trees[site.site.safety_call_tree] is None


def test_an_offline_catalog_checks_the_site_and_leaves_call_trees_unchecked(site):
    catalog = offline_catalog({site.site.id: site})
    ruleset = load_rule_sets([EXAMPLE_RULES])[0]
    assert check_rule_references(ruleset, catalog) == []
    assert catalog.unchecked() == ["call trees (no database)"]
