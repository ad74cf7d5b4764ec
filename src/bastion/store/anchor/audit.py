"""Verify the ledger against its signed checkpoints and name what was changed.

The chain is recomputed first (an edit that did not recompute later hashes shows up
there). Then every checkpoint copy — the local file, any extra copies given, the remote —
is checked: each record parses, belongs to this ledger, is signed by a known key within
its working life, and the copy is in order. Finally each valid checkpoint is compared
with the database: the row at its seq must still be there with the same hash and event
id (see :mod:`bastion.store.anchor.compare` for how a mismatch is named).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bastion.core.errors import ConfigError
from bastion.store.anchor.compare import against_database, max_seq
from bastion.store.anchor.findings import Finding, FindingKind, shown_time
from bastion.store.anchor.keys import SigningKeys
from bastion.store.anchor.records import (
    CheckpointRecord,
    KeyRecord,
    parse_line,
    parse_time,
    signature_valid,
)
from bastion.store.anchor.sinks import CheckpointLog, RemoteError
from bastion.store.anchor.writer import KEY_GRACE_S, Anchor
from bastion.store.ledger import Ledger, Verification


@dataclass(frozen=True)
class AnchorReport:
    """Chain result, checkpoint findings and how far the ledger is anchored."""

    chain: Verification
    findings: tuple[Finding, ...] = ()
    checkpoints: int = 0
    newest: CheckpointRecord | None = None
    sources: tuple[str, ...] = ()
    unanchored_rows: int = 0

    @property
    def ok(self) -> bool:
        """Return True when the chain is intact and no finding is a problem."""
        return self.chain.ok and not any(f.problem for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        """Return the findings that make verification fail."""
        return [f for f in self.findings if f.problem]

    def describe(self) -> str:
        """Return one line for humans: the first problem, or the OK summary."""
        problems = self.problems
        if problems:
            extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return f"ledger TAMPERED: {problems[0].message}{extra}"
        return self._summary() or self.chain.describe()

    def _summary(self) -> str:
        if not self.ok or not self.sources:
            return ""
        if self.newest is None:
            return "checkpoints: none yet (the ledger is empty)"
        return (
            f"checkpoints OK: {self.checkpoints} signed checkpoint(s) in "
            f"{', '.join(self.sources)}; the newest covers seq {self.newest.seq} "
            f"({shown_time(self.newest.time)}); {self.unanchored_rows} row(s) since "
            "then are not anchored yet"
        )

    def lines(self) -> list[str]:
        """Return the full report, one line each."""
        out = [self.chain.describe()]
        if self.chain.ok and self.problems:
            out = [
                f"hash chain consistent ({self.chain.rows_checked} rows), but it does not "
                "match its signed checkpoints:"
            ]
        out += [
            f"{'TAMPERED' if f.problem else 'warning'}: {f.message}"
            for f in self.findings
            if f.kind is not FindingKind.CHAIN
        ]
        summary = self._summary()
        return [*out, summary] if summary else out


@dataclass
class _Source:
    name: str
    lines: list[tuple[int, str]]
    valid: list[CheckpointRecord] = field(default_factory=list)


def verify_anchored(
    *, ledger: Ledger, anchor: Anchor | None, extra_logs: Sequence[Path] = ()
) -> AnchorReport:
    """Recompute the chain, then check it against every checkpoint copy; name what changed."""
    chain = ledger.verify()
    findings: list[Finding] = []
    if not chain.ok:
        findings.append(Finding(FindingKind.CHAIN, chain.describe(), chain.bad_seq))
    rows = max_seq(ledger)
    if anchor is None:
        findings.append(
            Finding(
                FindingKind.NOTE,
                "no checkpoint store is configured here: only the chain was checked, "
                "which a consistent rewrite passes",
                problem=False,
            )
        )
        return AnchorReport(chain, tuple(findings))
    if not anchor.has_keys():
        message = (
            f"no ledger signing key at {anchor.key_file}: this ledger has never been anchored"
            + (f", so nothing vouches for its {rows} row(s)" if rows else "")
        )
        findings.append(Finding(FindingKind.UNANCHORED, message, problem=rows > 0))
        return AnchorReport(chain, tuple(findings))
    try:
        keys = anchor.keys()
    except ConfigError as exc:
        findings.append(Finding(FindingKind.KEYS, str(exc)))
        return AnchorReport(chain, tuple(findings))
    sources = [_Source(str(anchor.log.path), anchor.log.read())]  # the local log comes first
    sources += [_Source(str(p), CheckpointLog(p).read()) for p in extra_logs]
    remote = anchor.remote
    if remote is not None:
        try:
            fetched = remote.remote.fetch()
            sources.append(_Source(remote.remote.display, list(enumerate(fetched, 1))))
        except RemoteError as exc:
            findings.append(
                Finding(
                    FindingKind.REMOTE,
                    f"the remote copy at {remote.remote.display} could not be read: {exc}",
                    problem=False,
                )
            )
    if anchor.store_inside_data_dir():
        findings.append(
            Finding(
                FindingKind.NOTE,
                f"the checkpoint store {anchor.config.checkpoint_dir} is inside the data "
                "directory; whoever can rewrite the database there can rewrite it too",
                problem=False,
            )
        )
    for source in sources:
        findings += _check_source(source, keys)
    findings += _compare_copies(sources)
    valid = _distinct(c for s in sources for c in s.valid)
    findings += _forks(valid)
    matched, mismatch_findings = against_database(ledger, valid, rows)
    findings += mismatch_findings
    findings += _key_events(ledger, keys)
    if rows > 0 and not valid:
        findings.append(
            Finding(
                FindingKind.UNANCHORED,
                f"no valid checkpoint anchors this ledger's {rows} row(s) "
                f"(expected in {anchor.log.path})",
            )
        )
    newest = max(valid, key=lambda c: (c.seq, c.time), default=None)
    return AnchorReport(
        chain=chain,
        findings=tuple(findings),
        checkpoints=len(valid),
        newest=newest,
        sources=tuple(s.name for s in sources),
        unanchored_rows=max(0, rows - matched),
    )


def _check_source(source: _Source, keys: SigningKeys) -> list[Finding]:
    """Check each record of one copy: parses, this ledger's, validly signed, in order."""
    findings: list[Finding] = []
    extra: dict[str, KeyRecord] = {}
    last: CheckpointRecord | None = None
    for number, text in source.lines:
        where = f"{source.name} line {number}"
        try:
            record = parse_line(text)
        except ValueError as exc:
            findings.append(
                Finding(FindingKind.UNREADABLE, f"{where} is not a checkpoint record ({exc})")
            )
            continue
        if record.ledger != keys.ledger_id:
            findings.append(Finding(FindingKind.UNREADABLE, f"{where} belongs to another ledger"))
            continue
        if isinstance(record, KeyRecord):
            findings += _check_key_record(record, keys, extra, where)
            continue
        stored = keys.get(record.key_id)
        public = stored.record.public_key if stored else None
        if public is None and record.key_id in extra:
            public = extra[record.key_id].public_key
        if public is None:
            findings.append(
                Finding(
                    FindingKind.UNKNOWN_KEY,
                    f"checkpoint signature by an unknown key {record.key_id} at seq "
                    f"{record.seq} ({where})",
                    record.seq,
                )
            )
            continue
        if not signature_valid(public, record.message(), record.sig):
            findings.append(
                Finding(
                    FindingKind.SIGNATURE,
                    f"checkpoint signature invalid at seq {record.seq} ({where}): the "
                    "record was altered or forged",
                    record.seq,
                )
            )
            continue
        try:
            when = parse_time(record.time)
        except ValueError:
            findings.append(Finding(FindingKind.UNREADABLE, f"{where} has an unreadable time"))
            continue
        if stored is not None and not stored.valid_at(when, grace_s=KEY_GRACE_S):
            findings.append(
                Finding(
                    FindingKind.SIGNATURE,
                    f"checkpoint at seq {record.seq} ({where}) is dated "
                    f"{shown_time(record.time)}, after its key {record.key_id} was retired",
                    record.seq,
                )
            )
            continue
        if last is not None and record.seq < last.seq:
            findings.append(
                Finding(
                    FindingKind.ORDER,
                    f"checkpoints out of order in {source.name}: seq {record.seq} (line "
                    f"{number}) comes after seq {last.seq}",
                    record.seq,
                )
            )
        elif last is not None and (parse_time(last.time) - when).total_seconds() > KEY_GRACE_S:
            findings.append(
                Finding(
                    FindingKind.ORDER,
                    f"checkpoint time goes backwards in {source.name} at line {number}",
                    record.seq,
                    problem=False,
                )
            )
        source.valid.append(record)
        if last is None or record.seq >= last.seq:
            last = record
    return findings


def _check_key_record(
    record: KeyRecord, keys: SigningKeys, extra: dict[str, KeyRecord], where: str
) -> list[Finding]:
    """Check a key record against the key file, or its endorsement by a known key."""
    stored = keys.get(record.key_id)
    if stored is not None:
        if stored.record != record:
            return [
                Finding(
                    FindingKind.KEYS,
                    f"{where}: key {record.key_id} differs from the key file's record",
                )
            ]
        return []
    previous = keys.get(record.previous_key_id or "")
    previous_public = (
        previous.record.public_key
        if previous
        else extra[record.previous_key_id].public_key
        if record.previous_key_id in extra
        else None
    )
    if (
        record.self_consistent()
        and previous_public is not None
        and record.endorsement is not None
        and signature_valid(previous_public, record.message(), record.endorsement)
    ):
        extra[record.key_id] = record
        return [
            Finding(
                FindingKind.KEYS,
                f"{where}: key {record.key_id} is endorsed by key {record.previous_key_id} "
                f"but missing from the key file {keys.path}",
                problem=False,
            )
        ]
    return [
        Finding(
            FindingKind.UNKNOWN_KEY,
            f"{where}: key {record.key_id} is not endorsed by a known key",
        )
    ]


def _distinct(records: Iterable[CheckpointRecord]) -> list[CheckpointRecord]:
    by_sig = {r.sig: r for r in records}
    return sorted(by_sig.values(), key=lambda r: (r.seq, r.time))


def _compare_copies(sources: list[_Source]) -> list[Finding]:
    """Every copy is fed from the local log, so a checkpoint only a copy holds was removed."""
    local = {r.sig for r in sources[0].valid}
    findings = []
    for source in sources[1:]:
        lacking = [r for r in source.valid if r.sig not in local]
        if lacking:
            findings.append(
                Finding(
                    FindingKind.MISSING,
                    f"the checkpoint log {sources[0].name} lacks {len(lacking)} checkpoint(s) "
                    f"that {source.name} holds (first at seq {lacking[0].seq}): lines were "
                    "removed or the file was replaced",
                    lacking[0].seq,
                )
            )
    return findings


def _forks(valid: list[CheckpointRecord]) -> list[Finding]:
    """Two validly signed checkpoints that disagree about one row mean the ledger forked."""
    seen: dict[int, CheckpointRecord] = {}
    for record in valid:
        first = seen.setdefault(record.seq, record)
        if (first.head_hash, first.head_id) != (record.head_hash, record.head_id):
            return [
                Finding(
                    FindingKind.FORK,
                    f"two signed checkpoints disagree about row {record.seq} (signed "
                    f"{shown_time(first.time)} and {shown_time(record.time)}): the ledger was "
                    "rewritten between them",
                    record.seq,
                )
            ]
    return []


def _key_events(ledger: Ledger, keys: SigningKeys) -> list[Finding]:
    """Warn when the key file and the ledger's own key events disagree."""
    recorded: set[str] = set()
    ledgers: set[str] = set()
    for row in ledger.query(types=["ledger.key"], limit=10_000):
        try:
            payload = json.loads(row.payload)
            recorded.add(str(payload["key_id"]))
            ledgers.add(str(payload["ledger_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    known = {k.key_id for k in keys.keys}
    findings = [
        Finding(
            FindingKind.KEYS,
            f"this database's key events belong to ledger {other}, but the key file "
            f"{keys.path} is ledger {keys.ledger_id}'s (is BASTION_LEDGER_KEY_FILE shared?)",
            problem=False,
        )
        for other in sorted(ledgers - {keys.ledger_id})
    ]
    findings += [
        Finding(
            FindingKind.KEYS,
            f"signing key {key_id} is not recorded in the ledger",
            problem=False,
        )
        for key_id in sorted(known - recorded)
    ]
    findings += [
        Finding(
            FindingKind.KEYS,
            f"the ledger records a signing key {key_id} that the key file does not know",
            problem=False,
        )
        for key_id in sorted(recorded - known)
    ]
    return findings
