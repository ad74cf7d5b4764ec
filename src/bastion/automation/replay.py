"""Dry-run rules over recorded ledger events: what would the rules have done, and why."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bastion.automation.config import RuleConfig
from bastion.automation.engine import RuleEngine
from bastion.automation.state import RuleEnv
from bastion.automation.trace import Trace, TraceStore
from bastion.core.clock import FrozenClock
from bastion.core.errors import InvalidInput
from bastion.core.events import Event
from bastion.site.schemas import Site
from bastion.store.db import Database
from bastion.store.ledger import LedgerRow, row_to_event


def ledger_events(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> Iterator[Event[Any]]:
    """Yield recorded events in ledger order (unknown types are skipped)."""
    last, seen = 0, 0
    while True:
        stmt = select(LedgerRow).where(LedgerRow.seq > last).order_by(LedgerRow.seq).limit(2000)
        if since is not None:
            stmt = stmt.where(LedgerRow.time >= since)
        if until is not None:
            stmt = stmt.where(LedgerRow.time < until)
        with db.sessions() as session:
            rows = list(session.execute(stmt).scalars())
        if not rows:
            return
        for row in rows:
            try:
                event = row_to_event(row)
            except InvalidInput:
                continue
            yield event
            seen += 1
            if limit is not None and seen >= limit:
                return
        last = rows[-1].seq


async def replay(
    rules: Iterable[RuleConfig],
    events: Iterable[Event[Any]],
    *,
    sites: dict[str, Site] | None = None,
) -> list[Trace]:
    """Run ``rules`` in dry-run mode over ``events``; return every evaluation's trace in order."""
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        return []
    clock = FrozenClock(first.time)
    env = RuleEnv(sites=sites or {}, clock=clock)
    engine = RuleEngine(env, traces=TraceStore(keep=10_000_000), dry_run=True)
    engine.load(rules)
    for event in itertools.chain([first], iterator):
        if event.time > clock.now():
            clock.set(event.time)
        await engine.tick(inline=True)
        await engine.process(event)
    return sorted(engine.traces.all_recent(), key=lambda t: (t.started_at, t.run_id))
