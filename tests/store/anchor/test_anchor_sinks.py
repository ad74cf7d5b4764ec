"""The checkpoint file and the HTTP remote, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bastion.store.anchor import Anchor, FindingKind, verify_anchored
from bastion.store.anchor.sinks import HttpRemote, RemoteError
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.store.anchor.conftest import MakeAnchor
from tests.store.anchor.tamper import decision, truncate_tail
from tests.store.anchor.test_anchor_writer import checkpoint_seqs, wait_until

TOKEN = "s3cret-token"


@dataclass
class Collector:
    """What the test server received, and knobs to make it fail or hang."""

    records: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    fail_next: int = 0
    open_gate: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    url: str = ""


@pytest.fixture
def collector() -> Iterator[Collector]:
    """Run a small HTTP server that keeps every record POSTed or PUT to /checkpoints."""
    state = Collector()
    state.open_gate.set()

    class Handler(BaseHTTPRequestHandler):
        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self.send_response(401)
            self.end_headers()
            return False

        def _receive(self) -> None:
            if not self._authorised():
                return
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.in_flight += 1
            state.open_gate.wait(60)
            state.in_flight -= 1
            if state.fail_next > 0:
                state.fail_next -= 1
                self.send_response(503)
            else:
                json.loads(body)  # one JSON record per request
                state.records.append(body)
                state.methods.append(self.command)
                self.send_response(204)
            self.end_headers()

        do_POST = _receive
        do_PUT = _receive

        def do_GET(self) -> None:
            if not self._authorised():
                return
            data = "".join(r + "\n" for r in state.records).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/checkpoints?X-Signature=presigned"
    yield state
    state.open_gate.set()
    server.shutdown()
    server.server_close()


def local_lines(anchor: Anchor) -> list[str]:
    return [text for _, text in anchor.log.read()]


def test_the_remote_gets_every_record_and_verify_reads_it_back(
    ledger: Ledger, make_anchor: MakeAnchor, collector: Collector
):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN, every_events=2)
    anchor.start()
    ledger.append_sync([decision(i) for i in range(4)])
    wait_until(lambda: checkpoint_seqs(anchor)[-1] == 5)
    anchor.close()  # the final delivery attempt happens on close
    assert collector.records == local_lines(anchor)
    assert {json.loads(r)["kind"] for r in collector.records} == {"key", "checkpoint"}
    assert collector.methods == ["POST"] * len(collector.records)
    report = verify_anchored(ledger=ledger, anchor=anchor)
    assert report.ok, report.lines()
    assert "http://127.0.0.1" in report.sources[-1] and "Signature" not in report.sources[-1]


def test_put_is_used_when_configured(ledger: Ledger, make_anchor: MakeAnchor, collector: Collector):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN, remote_method="PUT")
    anchor.prepare(create=True)
    anchor.checkpoint()
    assert anchor.deliver() == 2
    assert collector.methods == ["PUT", "PUT"]


def test_remote_failures_are_counted_retried_and_lose_nothing(
    ledger: Ledger,
    make_anchor: MakeAnchor,
    collector: Collector,
    caplog: pytest.LogCaptureFixture,
):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN)
    anchor.prepare(create=True)
    anchor.checkpoint()
    collector.fail_next = 2
    with caplog.at_level(logging.WARNING):
        for expected_failures in (1, 2):
            with pytest.raises(RemoteError, match="HTTP 503"):
                anchor.deliver()
            assert anchor.stats.remote_failures == expected_failures
    assert "2 failures so far" in caplog.text
    assert TOKEN not in caplog.text and "presigned" not in caplog.text  # secrets stay out of logs
    ledger.append_sync([decision(1)])
    anchor.checkpoint()
    assert anchor.deliver() == 3  # the key record and both checkpoints, once each, in order
    assert collector.records == local_lines(anchor)
    assert anchor.deliver() == 0


def test_delivery_resumes_after_a_restart(
    ledger: Ledger, make_anchor: MakeAnchor, collector: Collector
):
    first = make_anchor(remote_url=collector.url, remote_token=TOKEN)
    first.prepare(create=True)
    first.checkpoint()
    collector.fail_next = 1
    with pytest.raises(RemoteError):
        first.deliver()
    again = make_anchor(remote_url=collector.url, remote_token=TOKEN)  # a new process
    assert again.deliver() == 2
    assert collector.records == local_lines(again)


async def test_a_hanging_remote_never_holds_up_the_ledger(
    ledger: Ledger, make_anchor: MakeAnchor, collector: Collector
):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN, every_events=1)
    collector.open_gate.clear()  # the server accepts the request and then does not answer
    anchor.start()
    await ledger.append([decision(0)])
    await asyncio.to_thread(wait_until, lambda: collector.in_flight > 0)
    for i in range(1, 30):
        await asyncio.wait_for(ledger.append([decision(i)]), timeout=60)
    assert collector.in_flight > 0  # still stuck on the remote while all thirty committed
    assert ledger.count() == 31
    collector.open_gate.set()
    await asyncio.to_thread(anchor.close)
    assert checkpoint_seqs(anchor)[-1] == 31


def test_an_unreachable_remote_is_a_warning_when_verifying(ledger: Ledger, make_anchor: MakeAnchor):
    anchor = make_anchor(remote_url="http://127.0.0.1:9/checkpoints", remote_token=TOKEN)
    anchor.prepare(create=True)
    anchor.checkpoint()
    report = verify_anchored(ledger=ledger, anchor=anchor)
    assert report.ok
    [warning] = [f for f in report.findings if f.kind is FindingKind.REMOTE]
    assert not warning.problem and "could not be read" in warning.message


def test_the_remote_copy_catches_a_trimmed_local_log(
    ledger: Ledger, make_anchor: MakeAnchor, collector: Collector, database: Database
):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN)
    anchor.prepare(create=True)
    ledger.append_sync([decision(i) for i in range(5)])
    anchor.checkpoint()
    anchor.deliver()
    truncate_tail(database, keep=3)
    anchor.log.path.write_text("".join(line + "\n" for line in local_lines(anchor)[:-1]))
    report = verify_anchored(ledger=ledger, anchor=anchor)
    assert {f.kind for f in report.problems} == {FindingKind.MISSING, FindingKind.TRUNCATED}


def test_an_append_after_a_torn_line_starts_a_new_line(anchor: Anchor, ledger: Ledger):
    anchor.checkpoint()
    with anchor.log.path.open("a") as handle:
        handle.write('{"kind": "checkp')  # a crash in the middle of a write
    ledger.append_sync([decision(1)])
    assert anchor.checkpoint() is not None
    assert checkpoint_seqs_tolerant(anchor) == [1, 2]
    report = verify_anchored(ledger=ledger, anchor=anchor)
    assert [f.kind for f in report.problems] == [FindingKind.UNREADABLE]


def checkpoint_seqs_tolerant(anchor: Anchor) -> list[int]:
    seqs = []
    for _, text in anchor.log.read():
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if record["kind"] == "checkpoint":
            seqs.append(record["seq"])
    return seqs


def test_the_remote_url_is_shown_without_its_secrets():
    remote = HttpRemote("https://user:pw@bucket.example:8443/ledger/cp.jsonl?X-Amz-Signature=abc")
    assert remote.display == "https://bucket.example:8443/ledger/cp.jsonl"
    with pytest.raises(ValueError, match="http"):
        HttpRemote("ftp://example/checkpoints")


def test_a_shrunken_log_is_sent_again_from_the_start(
    ledger: Ledger, make_anchor: MakeAnchor, collector: Collector
):
    anchor = make_anchor(remote_url=collector.url, remote_token=TOKEN)
    anchor.prepare(create=True)
    ledger.append_sync([decision(1)])
    anchor.checkpoint()
    assert anchor.deliver() == 2
    kept = local_lines(anchor)[:1]
    anchor.log.path.write_text("".join(line + "\n" for line in kept))  # someone cut it short
    ledger.append_sync([decision(2)])
    anchor.checkpoint()
    assert anchor.remote is not None and anchor.remote.pending()
    assert anchor.deliver() == 2  # from the start again, never from the middle of a line
    assert collector.records[2:] == local_lines(anchor)
