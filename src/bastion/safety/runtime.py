"""The running safety domain: a timer worker that escalates missed lone-worker check-ins.

:meth:`SafetyWorker.tick` marks every timer past due as missed (raising an alarm for
security in the same transaction) and then starts the timer's call tree through the
notification runtime, falling back to the site's safety tree when that one cannot
start; the worker calls it periodically on the hub's clock, tests call it after moving
a frozen clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.core.errors import BastionError
from bastion.core.periodic import cancel, repeat
from bastion.hub import work_in_thread
from bastion.notify import service as notify_service
from bastion.notify.runtime import start_call_tree
from bastion.notify.schemas import CallTreeRun
from bastion.safety import service, trees

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
EXTRAS_KEY = "safety"
MISSED_MESSAGE = (
    "A lone worker missed a check-in (timer {timer_id}). Call them now; "
    "if you cannot reach them, send help."
)


class SafetyWorker:
    """Escalate missed lone-worker check-ins for one hub."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self._ticker: asyncio.Task[None] | None = None

    async def start(self, *, tick_s: float | None = 15.0) -> None:
        """Report sites whose safety tree would reach nobody; start the periodic tick.

        Must run in the event loop.
        """
        await asyncio.to_thread(self._report_site_trees)
        if tick_s:
            self._ticker = asyncio.create_task(self._loop(tick_s), name="safety-timers")

    async def stop(self) -> None:
        """Stop the periodic tick."""
        await cancel(self._ticker)
        self._ticker = None

    async def _loop(self, period: float) -> None:
        await repeat(period, self.tick, logger=_LOGGER, what="safety timer tick")

    async def work(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a worker thread inside one unit of work; deliver its events after."""
        return await work_in_thread(self.hub, fn)

    def _report_site_trees(self) -> None:
        """Warn about each site whose safety tree would reach nobody (a read, no write lock)."""
        with self.hub.db.sessions() as session:
            for site in self.hub.extras.get("sites", {}).values():
                tree = site.site.safety_call_tree
                problem = (
                    "it has no safety call tree, so lone workers cannot start timers"
                    if tree is None
                    else notify_service.tree_problem(session=session, tree=tree)
                )
                if problem is not None:
                    _LOGGER.warning("site %s: %s", site.site.id, problem)

    def _trees_for(self, timer: service.MissedTimer) -> list[str]:
        found = [timer.call_tree_id, trees.site_tree(self.hub.extras.get("sites", {}))]
        return list(dict.fromkeys(t for t in found if t is not None))

    async def _alert(self, timer: service.MissedTimer) -> CallTreeRun | None:
        """Start the timer's call tree, else the site's; return the run (None: nobody)."""
        reasons = []
        for tree in self._trees_for(timer):
            try:
                return await start_call_tree(
                    self.hub,
                    tree_id=tree,
                    template_id=None,
                    variables={},
                    context=timer.context.child(actor="safety"),
                    emergency=True,
                    message=MISSED_MESSAGE.format(timer_id=timer.timer_id),
                )
            except BastionError as exc:
                reasons.append(exc.message)
        _LOGGER.error(
            "timer %s missed its check-in and no call tree could be started: %s",
            timer.timer_id,
            "; ".join(reasons) or "none is set",
        )
        return None

    async def tick(self) -> int:
        """Mark overdue timers missed, raise their alarms, start their call trees.

        Return how many timers went overdue. Must run in the event loop.
        """
        now = self.hub.clock.now()
        missed = await self.work(lambda s: service.mark_missed(session=s, now=now))
        for timer in missed:
            run = await self._alert(timer)
            if run is not None:
                await self.work(_recorder(timer.timer_id, run.id))
        return len(missed)


def _recorder(timer_id: str, run_id: str) -> Callable[[Session], None]:
    def record(session: Session) -> None:
        service.record_run(session=session, timer_id=timer_id, run_id=run_id)

    return record


async def start_safety(hub: Any, *, tick_s: float | None = 15.0) -> SafetyWorker:
    """Start the safety worker on ``hub``; store it as ``hub.extras['safety']``.

    Missed check-ins start the timer's call tree, else the site's safety call tree.
    Must run in the event loop.
    """
    worker = SafetyWorker(hub)
    hub.extras[EXTRAS_KEY] = worker
    await worker.start(tick_s=tick_s)
    return worker
