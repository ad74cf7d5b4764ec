"""When checkpoints are written, that the writer never signs over a rewrite, and key rotation."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Callable

import pytest

from bastion.core.errors import ConfigError, IntegrityError
from bastion.store.anchor import Anchor, verify_anchored
from bastion.store.anchor.records import CheckpointRecord, KeyRecord, signature_valid
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.store.anchor.conftest import MakeAnchor
from tests.store.anchor.tamper import decision, truncate_tail


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail after a generous timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


def checkpoint_seqs(anchor: Anchor) -> list[int]:
    records = [json.loads(text) for _, text in anchor.log.read()]
    return [r["seq"] for r in records if r["kind"] == "checkpoint"]


def head(ledger: Ledger) -> int:
    return ledger.query(limit=1)[0].seq


async def test_a_checkpoint_follows_every_n_committed_events(
    ledger: Ledger, make_anchor: MakeAnchor
):
    anchor = make_anchor(every_events=5, every_seconds=3600.0)
    anchor.start()  # makes the key (its event is seq 1) and checkpoints the head as it stands
    assert checkpoint_seqs(anchor) == [1]
    for i in range(5):
        await ledger.append([decision(i)])  # the bus's path: committed in the loop or the writer
    wait_until(lambda: checkpoint_seqs(anchor)[-1] == 6)
    ledger.append_sync([decision(i) for i in range(10, 15)])
    wait_until(lambda: checkpoint_seqs(anchor)[-1] == 11)


def test_a_checkpoint_follows_within_the_interval(ledger: Ledger, make_anchor: MakeAnchor):
    anchor = make_anchor(every_events=1_000_000, every_seconds=0.2)
    anchor.start()
    ledger.append_sync([decision(1)])
    wait_until(lambda: checkpoint_seqs(anchor)[-1] == 2)


def test_clean_shutdown_writes_the_final_checkpoint(ledger: Ledger, make_anchor: MakeAnchor):
    anchor = make_anchor(every_events=1_000_000, every_seconds=3600.0)
    anchor.start()
    ledger.append_sync([decision(i) for i in range(3)])
    anchor.close()
    assert checkpoint_seqs(anchor) == [1, 4]
    assert ledger.on_commit is None


def test_an_unchanged_head_is_not_checkpointed_twice(anchor: Anchor, ledger: Ledger):
    assert anchor.checkpoint() is not None
    assert anchor.checkpoint() is None
    forced = anchor.checkpoint(force=True)
    assert forced is not None and forced.seq == 1
    assert checkpoint_seqs(anchor) == [1, 1]


def test_the_writer_never_signs_over_a_rewritten_ledger(
    anchor: Anchor, ledger: Ledger, database: Database, make_anchor: MakeAnchor
):
    ledger.append_sync([decision(i) for i in range(6)])
    anchor.checkpoint()
    truncate_tail(database, keep=4)
    ledger.append_sync([decision(9)])  # back to seq 5, below the checkpoint at seq 7
    with pytest.raises(IntegrityError, match="ends at seq 5 but was checkpointed at seq 7"):
        anchor.checkpoint(force=True)
    # The background writer refuses too, counts it and keeps the log as it was.
    server = make_anchor(every_events=1, every_seconds=3600.0)
    server.start()
    assert server.stats.refused == 1 and "checkpoint refused" in server.stats.last_problem
    assert checkpoint_seqs(anchor) == [7]


def test_rotation_keeps_old_checkpoints_verifiable(
    anchor: Anchor, ledger: Ledger, make_anchor: MakeAnchor
):
    server = make_anchor()  # another process holding the key file open, like the server
    server.prepare(create=False)
    old_id = anchor.keys().current.key_id
    ledger.append_sync([decision(i) for i in range(3)])
    first = anchor.checkpoint()
    assert first is not None and first.key_id == old_id

    rotated = anchor.rotate()
    ledger.append_sync([decision(9)])
    later = server.checkpoint()  # notices the rotation on disk and signs with the new key
    assert later is not None and later.key_id == rotated.key_id != old_id

    report = verify_anchored(ledger=ledger, anchor=anchor)
    assert report.ok, report.lines()
    assert report.checkpoints == 3  # before, at and after the rotation

    # The key history travels with the checkpoints: each key proven, the new one endorsed.
    records = [json.loads(text) for _, text in anchor.log.read()]
    keys = [KeyRecord(**r) for r in records if r["kind"] == "key"]
    assert [k.key_id for k in keys] == [old_id, rotated.key_id]
    assert keys[1].previous_key_id == old_id and keys[1].endorsement
    assert signature_valid(keys[0].public_key, keys[1].message(), keys[1].endorsement)
    signers = {CheckpointRecord(**r).key_id for r in records if r["kind"] == "checkpoint"}
    assert signers == {old_id, rotated.key_id}

    # ... and so does the ledger: one event per key, the rotation endorsed by the old key.
    events = [json.loads(r.payload) for r in ledger.query(types=["ledger.key"], newest_first=False)]
    assert [(e["action"], e["key_id"]) for e in events] == [
        ("created", old_id),
        ("rotated", rotated.key_id),
    ]
    assert events[1]["endorsement"] == rotated.endorsement

    # The retired key keeps only its public half; the file stays private.
    stored = json.loads(anchor.key_file.read_text())
    assert [("private_key" in k) for k in stored["keys"]] == [False, True]
    assert stat.S_IMODE(os.stat(anchor.key_file).st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused(anchor: Anchor, make_anchor: MakeAnchor):
    os.chmod(anchor.key_file, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        make_anchor().prepare(create=False)


def test_a_damaged_key_file_is_named(anchor: Anchor, make_anchor: MakeAnchor):
    stored = json.loads(anchor.key_file.read_text())
    stored["keys"][0]["public_key"] = stored["keys"][0]["public_key"][::-1]
    anchor.key_file.write_text(json.dumps(stored))
    with pytest.raises(ConfigError, match="damaged"):
        make_anchor().prepare(create=False)


def test_checkpoints_from_two_writers_stay_in_order(
    anchor: Anchor, ledger: Ledger, make_anchor: MakeAnchor
):
    other = make_anchor()
    other.prepare(create=False)
    stop = threading.Event()

    def keep_appending() -> None:
        i = 0
        while not stop.is_set():
            ledger.append_sync([decision(i)])
            i += 1

    appender = threading.Thread(target=keep_appending)
    appender.start()
    try:
        for _ in range(20):
            anchor.checkpoint()
            other.checkpoint()
    finally:
        stop.set()
        appender.join()
    seqs = checkpoint_seqs(anchor)
    assert seqs == sorted(seqs) and len(seqs) >= 2
    assert verify_anchored(ledger=ledger, anchor=anchor).ok
