"""``bastion ledger``: verify against signed checkpoints, checkpoint now, list and rotate keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.store.db import Database
from tests.store.anchor.tamper import edit_and_rechain, forge_chain

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    result = run("init", "--data-dir", str(target), "--site", str(EXAMPLES / "dispensary.yaml"))
    assert result.exit_code == 0, result.output
    assert "checkpoint at seq 2" in result.output  # the key's event and the site import
    return target


def _database(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'bastion.db'}")


def test_verify_names_a_consistent_rewrite(data_dir: Path):
    ok = run("ledger", "verify", "--data-dir", str(data_dir))
    assert ok.exit_code == 0, ok.output
    assert "checkpoints OK: 1 signed checkpoint(s)" in ok.output
    db = _database(data_dir)
    edit_and_rechain(db, seq=2)
    db.dispose()
    bad = run("ledger", "verify", "--data-dir", str(data_dir))
    assert bad.exit_code == 1, bad.output
    assert "row 2 changed after checkpoint (hash differs)" in bad.output
    refused = run("ledger", "checkpoint", "--data-dir", str(data_dir))
    assert refused.exit_code == 1 and "checkpoint refused" in refused.output


def test_verify_checks_an_extra_copy(data_dir: Path, tmp_path: Path, _checkpoint_store: Path):
    ledger_id = json.loads((data_dir / "ledger-signing.key").read_text())["ledger_id"]
    store = _checkpoint_store / f"{ledger_id}.jsonl"
    copy = tmp_path / "copy.jsonl"
    shutil.copy(store, copy)
    db = _database(data_dir)
    forge_chain(db, count=3)
    db.dispose()
    store.unlink()  # the intruder also removed the local log
    bad = run("ledger", "verify", "--data-dir", str(data_dir), "--checkpoints", str(copy))
    assert bad.exit_code == 1
    assert "chain rewritten: checkpoint at seq 2 does not match" in bad.output


def test_checkpoint_rotate_and_list(data_dir: Path):
    first = run("ledger", "checkpoint", "--data-dir", str(data_dir))
    assert first.exit_code == 0 and "checkpoint at seq 2" in first.output
    rotated = run("ledger", "keys", "rotate", "--data-dir", str(data_dir))
    assert rotated.exit_code == 0, rotated.output
    new_id = rotated.output.split("new signing key ", 1)[1].split()[0]
    listed = run("ledger", "keys", "list", "--data-dir", str(data_dir)).output.splitlines()
    assert len(listed) == 3
    assert "retired" in listed[1] and listed[2].lstrip().startswith(f"{new_id}  current")
    assert "endorsed by" in listed[2]
    ok = run("ledger", "verify", "--data-dir", str(data_dir))
    assert ok.exit_code == 0, ok.output


def test_a_ledger_never_anchored_fails_verification(data_dir: Path):
    (data_dir / "ledger-signing.key").unlink()
    result = run("ledger", "verify", "--data-dir", str(data_dir))
    assert result.exit_code == 1
    assert "never been anchored" in result.output
