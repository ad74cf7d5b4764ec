"""Consistent rewrites of the ledger, done straight on the database as an intruder would.

Each one leaves a chain that the plain hash check accepts: hashes are recomputed with
the project's own ``row_digest`` and the head row is moved to match.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, Event, make_event
from bastion.store.db import Database
from bastion.store.ledger import GENESIS, Ledger, LedgerRow, row_digest

T0 = datetime(2026, 3, 7, 12, tzinfo=UTC)


def decision(i: int, *, subject: str | None = None) -> Event[AccessDecisionPayload]:
    return make_event(
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(
            door_id=f"door-{i % 3}",
            subject=subject or f"person-{i}",
            granted=i % 2 == 0,
            reason="granted",
        ),
        context=Context(actor="device:rdr-1"),
        time=T0 + timedelta(seconds=i),
        site="dispensary",
    )


def _rows(database: Database) -> list[LedgerRow]:
    with database.sessions() as session:
        return list(session.execute(select(LedgerRow).order_by(LedgerRow.seq)).scalars())


def _rechain(database: Database) -> None:
    """Recompute every row's prev_hash and hash in order and move the head to the end."""
    prev = GENESIS
    rows = _rows(database)
    with database.engine.begin() as conn:
        for row in rows:
            digest = row_digest(
                seq=row.seq,
                prev_hash=prev,
                id=row.id,
                type=row.type,
                time=row.time,
                site=row.site,
                subject=row.subject,
                device=row.device,
                context_id=row.context_id,
                parent_id=row.parent_id,
                actor=row.actor,
                payload=row.payload,
            )
            conn.execute(
                text("UPDATE ledger_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row.seq},
            )
            prev = digest
        conn.execute(
            text("UPDATE ledger_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": rows[-1].seq if rows else 0, "h": prev},
        )


def truncate_tail(database: Database, *, keep: int) -> None:
    """Delete every row after ``keep`` and move the head back."""
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq > :k"), {"k": keep})
    _rechain(database)


def edit_and_rechain(database: Database, *, seq: int) -> None:
    """Change who one row says acted, then recompute it and every later hash."""
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_events SET actor = 'intruder' WHERE seq = :s"),
            {"s": seq},
        )
    _rechain(database)


def delete_and_renumber(database: Database, *, seq: int) -> None:
    """Delete one row, close the gap by renumbering the rows after it, recompute the chain."""
    top = max(r.seq for r in _rows(database))
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq = :s"), {"s": seq})
        for old in range(seq + 1, top + 1):
            conn.execute(
                text("UPDATE ledger_events SET seq = :new WHERE seq = :old"),
                {"new": old - 1, "old": old},
            )
    _rechain(database)


def forge_chain(database: Database, *, count: int) -> None:
    """Replace the whole ledger with a fabricated history of ``count`` events."""
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events"))
        conn.execute(text("UPDATE ledger_head SET seq = 0, hash = :g WHERE id = 1"), {"g": GENESIS})
    forger = Ledger(database)
    forger.append_sync([decision(i, subject="visitor") for i in range(count)])
    forger.close()
