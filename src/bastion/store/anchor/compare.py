"""Compare signed checkpoints with the database's rows and name the kind of change.

A mismatch is classified by where the checkpointed event went: gone past the end
(truncated), moved to another seq (deleted or inserted and renumbered), still at its seq
with another hash (changed and the chain recomputed), or gone altogether (rewritten).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from bastion.store.anchor.findings import Finding, FindingKind, shown_time
from bastion.store.anchor.records import CheckpointRecord
from bastion.store.ledger import GENESIS, Ledger, LedgerRow

_CHUNK = 500


def max_seq(ledger: Ledger) -> int:
    """Return the highest seq in the ledger's rows (0 when empty), whatever the head row says."""
    with ledger.db.sessions() as session:
        return int(session.execute(select(func.max(LedgerRow.seq))).scalar_one() or 0)


def _rows_at(ledger: Ledger, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    with ledger.db.sessions() as session:
        for i in range(0, len(seqs), _CHUNK):
            chunk = list(seqs[i : i + _CHUNK])
            stmt = select(LedgerRow.seq, LedgerRow.id, LedgerRow.hash).where(
                LedgerRow.seq.in_(chunk)
            )
            found.update({seq: (id_, hash_) for seq, id_, hash_ in session.execute(stmt)})
    return found


def _seqs_of(ledger: Ledger, ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    with ledger.db.sessions() as session:
        for i in range(0, len(ids), _CHUNK):
            chunk = list(ids[i : i + _CHUNK])
            stmt = select(LedgerRow.id, LedgerRow.seq).where(LedgerRow.id.in_(chunk))
            found.update({id_: seq for id_, seq in session.execute(stmt)})
    return found


@dataclass(frozen=True)
class _Mismatch:
    kind: FindingKind
    record: CheckpointRecord
    last_good: int
    moved_to: int | None = None


def against_database(
    ledger: Ledger, valid: list[CheckpointRecord], top: int
) -> tuple[int, list[Finding]]:
    """Compare each checkpoint with its row; return the newest matching seq and the findings."""
    rows = _rows_at(ledger, sorted({r.seq for r in valid if r.seq > 0}))
    ids = _seqs_of(ledger, sorted({r.head_id for r in valid if r.head_id}))
    last_good, mismatches = 0, []
    for record in valid:
        row = rows.get(record.seq)
        if record.seq == 0:
            if record.head_hash == GENESIS:
                continue
            row = None
        elif row is not None and row == (record.head_id, record.head_hash):
            last_good = max(last_good, record.seq)
            continue
        moved = ids.get(record.head_id or "")
        if row is None:
            kind = FindingKind.RENUMBERED if moved is not None else FindingKind.TRUNCATED
        elif row[0] == record.head_id:
            kind = FindingKind.CHANGED
        else:
            kind = FindingKind.RENUMBERED if moved is not None else FindingKind.REWRITTEN
        mismatches.append(_Mismatch(kind, record, last_good, moved))
    return last_good, _summarise(mismatches, top)


def _summarise(mismatches: list[_Mismatch], top: int) -> list[Finding]:
    """Return one finding per kind of change, naming the first checkpoint that shows it."""
    findings = []
    for kind in FindingKind:
        group = [m for m in mismatches if m.kind is kind]
        if not group:
            continue
        first = group[0]
        seq, span = first.record.seq, f"seq {first.last_good + 1}..{first.record.seq}"
        if kind is FindingKind.TRUNCATED:
            highest = max(m.record.seq for m in group)
            message = (
                f"truncated after seq {top}: rows up to seq {highest} were checkpointed "
                f"(signed {shown_time(group[-1].record.time)}) and are gone"
            )
        elif kind is FindingKind.CHANGED:
            message = f"row {seq} changed after checkpoint (hash differs)"
            if first.last_good + 1 < seq:
                message += f": a row in {span} was edited and the later hashes recomputed"
        elif kind is FindingKind.RENUMBERED:
            moved = first.moved_to or 0
            verb = "deleted" if moved < seq else "inserted"
            message = (
                f"rows {verb} and the rest renumbered: the event checkpointed at seq {seq} "
                f"is now at seq {moved} (the change lies in {span})"
            )
        else:
            message = (
                f"chain rewritten: checkpoint at seq {seq} does not match (its event "
                f"{first.record.head_id} is no longer in the ledger; rows after seq "
                f"{first.last_good} were replaced)"
            )
        if len(group) > 1 and kind is not FindingKind.TRUNCATED:
            message += f"; {len(group) - 1} later checkpoint(s) disagree as well"
        findings.append(Finding(kind, message, seq))
    return findings
