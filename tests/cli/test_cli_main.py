"""The foundation commands: init, site validate/import/export, ledger verify — and their errors."""

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    result = run("init", "--data-dir", str(target), "--site", str(EXAMPLES / "dispensary.yaml"))
    assert result.exit_code == 0, result.output
    return target


def test_validate_example_sites():
    for name in ("dispensary.yaml", "cultivation.yaml"):
        result = run("site", "validate", str(EXAMPLES / name))
        assert result.exit_code == 0, result.output
        assert "valid" in result.output


def test_validate_reports_file_line_and_field(tmp_path: Path):
    text = (EXAMPLES / "dispensary.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    # Point the first door's inner side at a zone that does not exist.
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("to:"))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = f"{indent}to: nowhere"
    broken.write_text("\n".join(lines) + "\n")
    result = run("site", "validate", str(broken))
    assert result.exit_code == 2
    assert f"broken.yaml:{index + 1}" in result.output.replace("\n", "")
    assert "nowhere" in result.output
    assert "Traceback" not in result.output


def test_init_with_bad_site_leaves_nothing_behind(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsite: [unclosed\n")
    target = tmp_path / "data"
    result = run("init", "--data-dir", str(target), "--site", str(bad))
    assert result.exit_code == 2
    assert "bad.yaml" in result.output
    assert not target.exists()


def test_init_import_export_round_trip(data_dir: Path, tmp_path: Path):
    out = tmp_path / "exported.yaml"
    result = run("site", "export", "dispensary-main", "-o", str(out), "--data-dir", str(data_dir))
    if result.exit_code != 0:
        ids = run("site", "validate", str(EXAMPLES / "dispensary.yaml")).output
        pytest.fail(f"export failed: {result.output}\n{ids}")
    again = run("site", "validate", str(out))
    assert again.exit_code == 0, again.output
    reimport = run("site", "import", str(out), "--data-dir", str(data_dir))
    assert reimport.exit_code == 0 and "revision 1" in reimport.output


def test_ledger_verify_passes_then_names_the_tampered_row(data_dir: Path):
    ok = run("ledger", "verify", "--data-dir", str(data_dir))
    assert ok.exit_code == 0, ok.output
    assert "ledger OK" in ok.output
    db = sqlite3.connect(data_dir / "bastion.db")
    db.execute("UPDATE ledger_events SET actor = 'intruder' WHERE seq = 1")
    db.commit()
    db.close()
    bad = run("ledger", "verify", "--data-dir", str(data_dir))
    assert bad.exit_code == 1
    assert "seq 1" in bad.output and "changed" in bad.output


def test_commands_on_an_empty_or_corrupt_data_dir(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("ledger", "verify", "--data-dir", str(empty))
    assert result.exit_code == 2 and "bastion init" in result.output
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "bastion.db").write_bytes(b"this is not a database" * 100)
    (corrupt / "secret.key").write_text("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=\n")
    result = run("ledger", "verify", "--data-dir", str(corrupt))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


def test_unreachable_database_url_is_one_clear_line(tmp_path: Path):
    env = {"BASTION_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing"}
    target = tmp_path / "data"
    result = run("init", "--data-dir", str(target), env=env)
    assert result.exit_code == 2
    assert "does not answer" in result.output
    assert not target.exists()


def test_ledger_verify_writes_the_outbox_left_by_an_outage_first(data_dir: Path):
    from bastion.core.context import Context
    from bastion.core.events import EVENT_DOOR_STATE, DoorPayload, make_event
    from bastion.store.outbox import OUTBOX_FILE, Outbox, entry_of

    before = run("ledger", "verify", "--data-dir", str(data_dir)).output
    rows = int(before.split("OK: ")[1].split(" rows")[0])
    box = Outbox(data_dir / OUTBOX_FILE)
    box.put(
        [
            entry_of(
                make_event(EVENT_DOOR_STATE, DoorPayload(door_id="d", state=s), context=Context())
            )
            for s in ("open", "closed")
        ]
    )
    box.close()
    after = run("ledger", "verify", "--data-dir", str(data_dir))
    assert after.exit_code == 0, after.output
    assert f"ledger OK: {rows + 2} rows" in after.output
    assert Outbox(data_dir / OUTBOX_FILE).pending == 0
