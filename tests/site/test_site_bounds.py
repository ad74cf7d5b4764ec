"""Hostile YAML (nested a thousand deep, megabytes long) gets a clear error, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.automation.config import parse_rules
from bastion.cli.main import app
from bastion.core.errors import ConfigError
from bastion.core.yamlbounds import MAX_DEPTH, safe_load
from bastion.node_config import load_node_config
from bastion.site.loader import MAX_SITE_CHARS, load_site

runner = CliRunner()

FLOW_DEEP = "site:\n  id: x\n  name: " + "[" * 1000 + "]" * 1000 + "\n"
BLOCK_DEEP = (
    "site:\n  id: x\nzones:\n"
    + "".join(" " * (i + 1) + "a:\n" for i in range(1000))
    + " " * 1001
    + "b: 1\n"
)


@pytest.mark.parametrize("text", [FLOW_DEEP, BLOCK_DEEP], ids=["flow", "block"])
def test_a_site_nested_a_thousand_deep_is_refused_with_its_line(text):
    with pytest.raises(ConfigError) as caught:
        load_site(text, source="deep.yaml")
    assert f"nested more than {MAX_DEPTH} levels deep" in caught.value.message
    assert caught.value.line is not None


@pytest.mark.parametrize("text", [FLOW_DEEP, BLOCK_DEEP], ids=["flow", "block"])
def test_the_cli_explains_a_deep_site_without_a_traceback(tmp_path: Path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["site", "validate", str(path)], catch_exceptions=False)
    assert result.exit_code != 0
    assert "nested more than 64 levels deep" in result.output
    assert "Traceback" not in result.output


def test_an_oversized_site_is_refused_before_parsing():
    text = "site:\n  id: x\nnotes: |\n" + "  filler line\n" * (MAX_SITE_CHARS // 10)
    with pytest.raises(ConfigError, match="a site model may be at most 512 KB"):
        load_site(text, source="big.yaml")


def test_every_yaml_reader_is_bounded(tmp_path: Path):
    with pytest.raises(ConfigError, match="nested more than"):
        parse_rules("rules:\n  - " + "[" * 1000 + "]" * 1000)
    config = tmp_path / "bastion.yaml"
    config.write_text("integrations: " + "[" * 1000 + "]" * 1000)
    with pytest.raises(ConfigError, match="nested more than"):
        load_node_config(config)
    assert safe_load("a: [1, {b: 2}]") == {"a": [1, {"b": 2}]}


def test_aliases_stay_shared_and_real_files_still_load():
    text = "base: &b {x: 1}\nitems: [*b, *b, *b]\n"
    assert safe_load(text)["items"][0] == {"x": 1}
