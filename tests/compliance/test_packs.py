from pathlib import Path

import pytest

from bastion.compliance.packs import STATES, builtin_pack, load_pack, parse_pack
from bastion.core.errors import ConfigError

GOOD_RULE = """
  - id: IL-LOC-001
    title: A local rule for the test
    citation: house rule 1
    area: video
    licenses: [retail]
    confidence: G
    check: {kind: video_retention, min_days: 120}
"""


def _pack(rules: str, state: str = "IL") -> str:
    return f"state: {state}\nname: Test\nregulator: Test\nsource: test\nrules:\n{rules}"


def test_every_shipped_pack_loads_cleanly_with_enough_rules() -> None:
    total = 0
    for state in STATES:
        pack = builtin_pack(state)
        assert pack.problems == [], pack.problems
        assert len(pack.rules) >= 10
        for rule in pack.rules:
            assert rule.citation and rule.title and rule.confidence in "TSRG"
        total += len(pack.rules)
    assert total >= 75


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ("check: {kind: teleport}", "rules.0.check.kind", "unknown check kind 'teleport'"),
        ("check: {kind: video_retention, min_days: lots}", "rules.0.check.min_days", "integer"),
        ("check: {kind: video_retention}", "rules.0.check.min_days", "missing"),
    ],
)
def test_a_broken_rule_is_reported_with_file_line_field_and_skipped(
    bad: str, field: str, words: str
) -> None:
    broken = GOOD_RULE.replace("check: {kind: video_retention, min_days: 120}", bad)
    pack = parse_pack(_pack(broken + GOOD_RULE.replace("001", "002")), "local.yaml")
    assert [r.id for r in pack.rules] == ["IL-LOC-002"]
    (problem,) = pack.problems
    assert problem.file == "local.yaml" and problem.field == field and problem.line == 13
    assert words in problem.message


def test_missing_citation_names_its_line() -> None:
    text = _pack(GOOD_RULE.replace("    citation: house rule 1\n", ""))
    (problem,) = parse_pack(text, "x.yaml").problems
    assert problem.field == "rules.0.citation" and "missing" in problem.message
    assert problem.line == 7  # the rule itself


def test_unknown_state_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_pack(_pack(GOOD_RULE, state="ZZ"), "zz.yaml")
    assert str(caught.value).startswith("zz.yaml:1: state: no rule pack for state 'ZZ'")
    with pytest.raises(ConfigError, match="no rule pack for state 'NJ'"):
        builtin_pack("NJ")


def test_local_rules_and_overrides_from_the_data_directory(tmp_path: Path) -> None:
    (tmp_path / "compliance" / "rules").mkdir(parents=True)
    (tmp_path / "compliance" / "rules" / "house.yaml").write_text(_pack(GOOD_RULE))
    (tmp_path / "compliance" / "overrides.yaml").write_text(
        "overrides:\n"
        "  - {rule: IL-VID-003, params: {min_days: 120}, reason: insurer asks for 120 days}\n"
        "  - {rule: IL-VID-003, params: {min_days: soon}, reason: typo}\n"
    )
    pack = load_pack("IL", tmp_path)
    ids = {r.id: r for r in pack.rules}
    assert "IL-LOC-001" in ids
    assert ids["IL-VID-003"].params.min_days == 120  # type: ignore[attr-defined]
    assert ids["IL-VID-003"].override_reason == "insurer asks for 120 days"
    (problem,) = pack.problems
    assert problem.field == "overrides.1.params.min_days" and problem.line == 3
