"""Run traces: one per rule evaluation, kept in memory per rule and written to the database."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.automation.models import RuleTrace
from bastion.store.db import Database

_LOGGER = logging.getLogger(__name__)


@dataclass
class Trace:
    """What happened in one evaluation of one rule."""

    run_id: str
    rule_id: str
    event_id: str | None
    context_id: str
    parent_id: str | None
    started_at: datetime
    outcome: str = "running"
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    finished_at: datetime | None = None
    dry_run: bool = False
    emitted: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        return {
            "run_id": self.run_id,
            "rule_id": self.rule_id,
            "event_id": self.event_id,
            "context_id": self.context_id,
            "parent_id": self.parent_id,
            "outcome": self.outcome,
            "steps": self.steps,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "dry_run": self.dry_run,
            "emitted": self.emitted,
        }


class TraceStore:
    """Keep the last traces of each rule in memory and batch them into ``automation_traces``."""

    def __init__(self, db: Database | None = None, *, keep: int = 20, batch: int = 1000) -> None:
        self.db = db
        self.keep = keep
        self.batch = batch
        self.recent: dict[str, deque[Trace]] = {}
        self._pending: list[Trace] = []
        self._lock = asyncio.Lock()

    def record(self, trace: Trace) -> None:
        """Remember a finished trace (never blocks)."""
        self.recent.setdefault(trace.rule_id, deque(maxlen=self.keep)).append(trace)
        if self.db is not None:
            self._pending.append(trace)

    def latest(self, rule_id: str) -> list[Trace]:
        """Return the rule's recent traces, newest last."""
        return list(self.recent.get(rule_id, ()))

    def all_recent(self) -> Iterable[Trace]:
        """Yield every trace held in memory."""
        for traces in self.recent.values():
            yield from traces

    @property
    def pending(self) -> int:
        """Return how many traces wait to be written."""
        return len(self._pending)

    async def flush(self) -> int:
        """Write the pending traces in a worker thread; return how many were written."""
        if self.db is None:
            return 0
        async with self._lock:
            written = 0
            while self._pending:
                chunk, self._pending = self._pending[: self.batch], self._pending[self.batch :]
                await asyncio.to_thread(self._write, chunk)
                written += len(chunk)
            return written

    def _write(self, traces: list[Trace]) -> None:
        assert self.db is not None
        with self.db.unit_of_work() as session:
            session.add_all(
                RuleTrace(
                    run_id=t.run_id,
                    rule_id=t.rule_id,
                    event_id=t.event_id,
                    context_id=t.context_id,
                    parent_id=t.parent_id,
                    outcome=t.outcome,
                    dry_run=t.dry_run,
                    steps=t.steps
                    + ([{"path": "emitted", "events": t.emitted}] if t.emitted else []),
                    error=t.error,
                    started_at=t.started_at,
                    finished_at=t.finished_at or t.started_at,
                )
                for t in traces
            )
