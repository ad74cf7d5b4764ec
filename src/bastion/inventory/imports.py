"""All-or-nothing file imports: a file is applied whole or not at all, and nothing is lost.

A file is parsed and every record checked first; if any record is refused, nothing is
applied and every refused record is kept (encrypted, with the record, the field and the
reason in plain words) for review. Applying runs in a savepoint, so a conflict found
while applying (a tag already used by a plant, a quantity going negative) also leaves
nothing behind. The same file imported twice is recognised by its digest and ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import BastionError
from bastion.core.events import EVENT_INVENTORY_EXCHANGE, InventoryExchangePayload, make_event
from bastion.inventory.models import InvImport, InvRejectedRow
from bastion.store.ledger import stage

R = TypeVar("R")


@dataclass(frozen=True)
class Rejected:
    """One refused record: which (tag, receipt, line), which field, why, and the raw text."""

    record: str
    field: str
    message: str
    raw: str = ""

    def text(self) -> str:
        """Return the refusal in words: ``record 3 (tag …), field Quantity: …``."""
        return f"{self.record}, field {self.field}: {self.message}"


class RecordError(BastionError):
    """A record that cannot be applied (raised by parsers and appliers)."""

    status_code = 422
    title = "Invalid record"

    def __init__(self, record: str, field: str, message: str, raw: Any = "") -> None:
        super().__init__(f"{record}, field {field}: {message}")
        self.rejected = Rejected(record, field, message, raw if isinstance(raw, str) else _raw(raw))


def _raw(value: Any) -> str:
    try:
        return json.dumps(value, default=str, sort_keys=True)[:4000]
    except (TypeError, ValueError):
        return str(value)[:4000]


@dataclass
class Parsed(Generic[R]):
    """A parsed file: the good records and the refused ones."""

    records: list[R] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """What became of a file."""

    import_id: str
    status: Literal["accepted", "rejected", "duplicate"]
    accepted: int
    rejected: Sequence[Rejected]

    @property
    def message(self) -> str:
        """Return the outcome in words."""
        if self.status == "duplicate":
            return "This file was already imported; nothing changed."
        if self.status == "accepted":
            return f"Imported {self.accepted} record(s)."
        first = "; ".join(r.text() for r in self.rejected[:3])
        more = f" (and {len(self.rejected) - 3} more)" if len(self.rejected) > 3 else ""
        return (
            f"Nothing was imported: {len(self.rejected)} record(s) refused — {first}{more}. "
            "The refused records are kept for review."
        )


def digest(data: bytes) -> str:
    """Return the SHA-256 of a file."""
    return hashlib.sha256(data).hexdigest()


def run(
    session: Session,
    *,
    site_id: str,
    source: str,
    kind: str,
    data: bytes,
    filename: str,
    parse: Callable[[bytes], Parsed[R]],
    apply: Callable[[Session, list[R]], int],
    context: Context,
    now: datetime,
) -> Result:
    """Import one file all-or-nothing; keep refused records; ignore a file seen before."""
    sha = digest(data)
    seen = session.execute(
        select(InvImport.id).where(
            InvImport.site_id == site_id,
            InvImport.digest == sha,
            InvImport.kind == kind,
            InvImport.status == "accepted",
        )
    ).scalar_one_or_none()
    if seen is not None:
        _record(session, site_id, source, kind, sha, filename, "duplicate", 0, [], context, now)
        return Result(seen, "duplicate", 0, [])
    try:
        parsed = parse(data)
    except RecordError as exc:
        parsed = Parsed(rejected=[exc.rejected])
    accepted = 0
    rejected = list(parsed.rejected)
    if not rejected:
        savepoint = session.begin_nested()
        try:
            accepted = apply(session, parsed.records)
            session.flush()
        except RecordError as exc:
            savepoint.rollback()
            rejected = [exc.rejected]
        except BastionError as exc:
            savepoint.rollback()
            rejected = [Rejected("file", "-", exc.message)]
        else:
            savepoint.commit()
    status: Literal["accepted", "rejected"] = "rejected" if rejected else "accepted"
    row_id = _record(
        session, site_id, source, kind, sha, filename, status, accepted, rejected, context, now
    )
    return Result(row_id, status, accepted, rejected)


def _record(
    session: Session,
    site_id: str,
    source: str,
    kind: str,
    sha: str,
    filename: str,
    status: Literal["accepted", "rejected", "duplicate"],
    accepted: int,
    rejected: Sequence[Rejected],
    context: Context,
    now: datetime,
) -> str:
    row = InvImport(
        id=new_id(),
        site_id=site_id,
        source=source,
        kind=kind,
        digest=sha,
        filename=filename[:200],
        status=status,
        accepted=accepted,
        rejected=len(rejected),
        error=rejected[0].text()[:500] if rejected else "",
        at=now,
        actor=context.actor,
    )
    session.add(row)
    for r in rejected:
        session.add(
            InvRejectedRow(
                import_id=row.id,
                site_id=site_id,
                record=r.record[:120],
                field=r.field[:80],
                message=r.message[:500],
                raw=r.raw or "",
            )
        )
    stage(
        session,
        make_event(
            EVENT_INVENTORY_EXCHANGE,
            InventoryExchangePayload(
                import_id=row.id,
                source=source,
                kind=kind,
                direction="import",
                status=status,
                records=accepted,
                rejected=len(rejected),
                digest=sha,
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    return row.id


def exported(
    session: Session,
    *,
    site_id: str,
    source: str,
    kind: str,
    data: bytes,
    records: int,
    context: Context,
    now: datetime,
) -> None:
    """Stage the ledger event of a produced export (what was sent to the state, and when)."""
    stage(
        session,
        make_event(
            EVENT_INVENTORY_EXCHANGE,
            InventoryExchangePayload(
                import_id=new_id(),
                source=source,
                kind=kind,
                direction="export",
                status="exported",
                records=records,
                digest=digest(data),
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def rejected_rows(session: Session, import_id: str) -> list[InvRejectedRow]:
    """Return the refused records of an import, for review."""
    return list(
        session.execute(
            select(InvRejectedRow)
            .where(InvRejectedRow.import_id == import_id)
            .order_by(InvRejectedRow.id)
        ).scalars()
    )
