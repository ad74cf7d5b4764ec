"""Consistent rewrites pass the plain chain check; the signed checkpoints catch and name each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bastion.store.anchor import Anchor, FindingKind, verify_anchored
from bastion.store.anchor.records import (
    CheckpointRecord,
    b64,
    checkpoint_message,
    key_id_of,
    to_line,
)
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.store.anchor.tamper import (
    decision,
    delete_and_renumber,
    edit_and_rechain,
    forge_chain,
    truncate_tail,
)


@pytest.fixture
def anchored(ledger: Ledger, anchor: Anchor) -> Anchor:
    """Ten rows (the key's own event, then nine decisions), checkpointed at seq 4, 7 and 10."""
    assert ledger.count() == 1  # the ledger.key event of the new key
    for start in (1, 4, 7):
        ledger.append_sync([decision(i) for i in range(start, start + 3)])
        assert anchor.checkpoint() is not None
    assert [c.seq for c in _checkpoints(anchor)] == [4, 7, 10]
    return anchor


def _checkpoints(anchor: Anchor) -> list[CheckpointRecord]:
    lines = [json.loads(text) for _, text in anchor.log.read()]
    return [CheckpointRecord(**d) for d in lines if d["kind"] == "checkpoint"]


def _problems(report, kind: FindingKind):
    return [f for f in report.problems if f.kind is kind]


def test_an_untouched_ledger_verifies_and_reports_what_is_not_anchored_yet(
    ledger: Ledger, anchored: Anchor
):
    report = verify_anchored(ledger=ledger, anchor=anchored)
    assert report.ok, report.lines()
    assert report.checkpoints == 3 and report.newest is not None and report.newest.seq == 10
    assert report.unanchored_rows == 0
    ledger.append_sync([decision(20), decision(21)])
    report = verify_anchored(ledger=ledger, anchor=anchored)
    assert report.ok and report.unanchored_rows == 2
    assert "2 row(s) since then are not anchored yet" in report.lines()[-1]


def test_truncated_tail_with_moved_head_is_named(
    ledger: Ledger, anchored: Anchor, database: Database
):
    truncate_tail(database, keep=8)
    assert ledger.verify().ok  # the plain chain cannot see it
    report = verify_anchored(ledger=ledger, anchor=anchored)
    assert not report.ok
    [finding] = report.problems
    assert finding.kind is FindingKind.TRUNCATED and finding.seq == 10
    assert finding.message.startswith("truncated after seq 8")
    assert "ledger TAMPERED: truncated after seq 8" in report.describe()


def test_edited_row_with_recomputed_chain_is_named(
    ledger: Ledger, anchored: Anchor, database: Database
):
    edit_and_rechain(database, seq=6)
    assert ledger.verify().ok
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.CHANGED and finding.seq == 7
    assert "row 7 changed after checkpoint (hash differs)" in finding.message
    assert "seq 5..7" in finding.message  # between the last good checkpoint and this one
    assert "1 later checkpoint(s) disagree" in finding.message


def test_deleted_and_renumbered_rows_are_named(
    ledger: Ledger, anchored: Anchor, database: Database
):
    delete_and_renumber(database, seq=5)
    assert ledger.verify().ok
    assert ledger.count() == 9
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.RENUMBERED and finding.seq == 7
    assert "rows deleted and the rest renumbered" in finding.message
    assert "checkpointed at seq 7 is now at seq 6" in finding.message
    assert "seq 5..7" in finding.message


def test_forged_chain_is_named(ledger: Ledger, anchored: Anchor, database: Database):
    forge_chain(database, count=12)
    assert ledger.verify().ok and ledger.count() == 12
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.REWRITTEN and finding.seq == 4
    assert finding.message.startswith("chain rewritten: checkpoint at seq 4 does not match")


def test_a_naive_edit_is_still_caught_by_the_chain(
    ledger: Ledger, anchored: Anchor, database: Database
):
    from sqlalchemy import text

    with database.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_events SET actor = 'intruder' WHERE seq = 3"))
    report = verify_anchored(ledger=ledger, anchor=anchored)
    assert not report.ok and not report.chain.ok and report.chain.bad_seq == 3
    assert [f.kind for f in report.problems] == [FindingKind.CHAIN]


def _rewrite_log(anchor: Anchor, edit) -> None:
    lines = [json.loads(text) for _, text in anchor.log.read()]
    lines = edit(lines)
    anchor.log.path.write_text("".join(json.dumps(d) + "\n" for d in lines))


def test_an_altered_checkpoint_fails_its_signature(ledger: Ledger, anchored: Anchor):
    def alter(lines):
        for d in lines:
            if d["kind"] == "checkpoint" and d["seq"] == 7:
                d["head_hash"] = "0" * 64
        return lines

    _rewrite_log(anchored, alter)
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.SIGNATURE and finding.seq == 7
    assert "checkpoint signature invalid at seq 7" in finding.message


def test_a_checkpoint_by_an_unknown_key_is_rejected(ledger: Ledger, anchored: Anchor):
    stranger = Ed25519PrivateKey.generate()
    public = stranger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    fields = {
        "ledger": anchored.keys().ledger_id,
        "seq": 10,
        "head_hash": "f" * 64,
        "head_id": "01J00000000000000000000000",
        "time": "2026-03-07T12:00:00.000000Z",
    }
    forged = CheckpointRecord(
        **fields, key_id=key_id_of(public), sig=b64(stranger.sign(checkpoint_message(**fields)))
    )
    with anchored.log.path.open("a") as handle:
        handle.write(to_line(forged) + "\n")
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.UNKNOWN_KEY and "unknown key" in finding.message


def test_checkpoints_out_of_order_are_named(ledger: Ledger, anchored: Anchor):
    def swap(lines):
        points = [i for i, d in enumerate(lines) if d["kind"] == "checkpoint"]
        a, b = points[1], points[2]
        lines[a], lines[b] = lines[b], lines[a]
        return lines

    _rewrite_log(anchored, swap)
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.ORDER and "seq 7" in finding.message


def test_an_offsite_copy_catches_a_trimmed_local_log(
    ledger: Ledger, anchored: Anchor, database: Database, tmp_path: Path
):
    offsite = tmp_path / "offsite.jsonl"
    shutil.copy(anchored.log.path, offsite)
    truncate_tail(database, keep=8)
    _rewrite_log(anchored, lambda lines: [d for d in lines if d.get("seq") != 10])
    # The local log alone no longer shows the truncation: seq 8 still extends seq 7.
    assert verify_anchored(ledger=ledger, anchor=anchored).ok
    report = verify_anchored(ledger=ledger, anchor=anchored, extra_logs=[offsite])
    kinds = {f.kind for f in report.problems}
    assert kinds == {FindingKind.MISSING, FindingKind.TRUNCATED}
    assert any("truncated after seq 8" in f.message for f in report.problems)


def test_a_deleted_checkpoint_log_leaves_the_ledger_unanchored(ledger: Ledger, anchored: Anchor):
    anchored.log.path.unlink()
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert finding.kind is FindingKind.UNANCHORED
    assert "no valid checkpoint anchors this ledger's 10 row(s)" in finding.message


def test_without_a_key_file_a_filled_ledger_is_not_anchored(
    ledger: Ledger, make_anchor, tmp_path: Path
):
    ledger.append_sync([decision(1)])
    report = verify_anchored(ledger=ledger, anchor=make_anchor())
    [finding] = report.problems
    assert finding.kind is FindingKind.UNANCHORED and "never been anchored" in finding.message


def test_a_damaged_log_line_is_reported(ledger: Ledger, anchored: Anchor):
    with anchored.log.path.open("a") as handle:
        handle.write('{"kind": "checkpoint", "seq": "many"}\n')
    report = verify_anchored(ledger=ledger, anchor=anchored)
    [finding] = report.problems
    assert (
        finding.kind is FindingKind.UNREADABLE
        and "line 5 is not a checkpoint record" in finding.message
    )
