"""The CLI starts light, shows flags as flags, finds the demo's data, reports every error."""

import json
import subprocess
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.lazy import LazyGroup
from bastion.cli.main import app

runner = CliRunner()
HEAVY = ("scipy", "matplotlib", "reportlab", "numpy", "sqlalchemy", "fastapi", "pydantic_settings")

PROBE = """
import json, sys, time
start = time.process_time()
sys.argv = ["bastion", "--help"]
from bastion.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps({"heavy": sorted(m for m in %r if m in sys.modules),
                  "cpu_s": time.process_time() - start}))
"""


def test_help_imports_no_heavy_library(record_property: Callable[[str, object], None]) -> None:
    """``bastion --help`` must not pay for the libraries of commands it does not run.

    The budget is 0.5 s; CPU time is recorded, not asserted (a busy machine would make it
    flaky); what is asserted is the cause of a slow start: a heavy import.
    """
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    record_property("bastion_help_cpu_s", round(result["cpu_s"], 3))
    print(f"bastion --help: {result['cpu_s']:.3f} s CPU (budget 0.5 s)")
    assert result["heavy"] == []


def test_every_group_is_listed_with_its_own_help_line() -> None:
    result = runner.invoke(app, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for name, (module, help_line) in LazyGroup.groups.items():
        assert import_module(module).app.info.help == help_line, name
        assert name in result.output


def test_a_lazy_group_runs_its_commands() -> None:
    result = runner.invoke(app, ["site", "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "validate" in result.output and "export" in result.output


def test_flags_show_without_a_value_type() -> None:
    result = runner.invoke(app, ["demo", "--help"], catch_exceptions=False, env={"COLUMNS": "120"})
    line = next(line for line in result.output.splitlines() if "--fresh" in line)
    assert "<bool>" not in line and "--no-fresh" not in line
    assert "<int>" in next(line for line in result.output.splitlines() if "--port" in line)


BROKEN = """version: 1
site:
  id: broken
  name: Broken site
  timezone: America/Chicago
zones:
  - id: vault
    name: Vault
    layer: vault
    camera_requried: true
  - id: lobby
    name: Lobby
    layr: building
"""


def test_validate_reports_every_error_of_every_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    good = Path(__file__).resolve().parents[2] / "examples" / "dispensary.yaml"
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["site", "validate", str(broken), str(good), str(missing)])
    assert result.exit_code == 2
    out = result.output.replace("\n", " ")
    assert (
        "broken.yaml:10: zones[vault].camera_requried: unknown field 'camera_requried';"
        " did you mean 'camera_required'?" in out
    )
    assert "broken.yaml:13: zones[lobby].layr: unknown field 'layr'; did you mean 'layer'?" in out
    assert "zones[lobby].layer: missing required field 'layer'" in out
    assert "at least 1 item" not in out  # the items' own errors say why the list failed
    assert "missing.yaml: file not found" in out
    assert "Greenleaf Dispensary" in out and "valid" in out
    assert "2 of 3 file(s) invalid" in out


def test_commands_find_the_demo_data_in_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_DATA_DIR", raising=False)
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 2
    assert "--data-dir" in result.output  # says how to name the directory
    init = runner.invoke(app, ["init", "--data-dir", "bastion-demo"], catch_exceptions=False)
    assert init.exit_code == 0, init.output
    result = runner.invoke(app, ["ledger", "verify"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "using the demo's data directory bastion-demo/" in result.output
    assert "ledger OK" in result.output
