"""The running people domain: expiry warnings, expired checks, visitor overstays, retention.

:meth:`PeopleWorker.tick` warns each person (and their manager) of training that
expires within 30 days, marks background checks past their expiry as expired,
raises an alarm for each visitor still on site after their visit ended, and once a
day deletes visit records past the retention period. The worker calls it on the
hub's clock; tests call it after moving a frozen clock. :func:`start_people` also
starts the escort watch (:mod:`bastion.people.escorts`) on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.access.runtime import engine_of
from bastion.core.context import Context
from bastion.core.events import EVENT_EMPLOYEE_CHANGED, EmployeeChangedPayload, make_event
from bastion.core.periodic import cancel, repeat
from bastion.hub import work_in_thread
from bastion.people import employees, notices, visitors
from bastion.people.escorts import EscortMonitor
from bastion.people.models import Person, TrainingRecord
from bastion.store.ledger import stage

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
EXTRAS_KEY = "people"
ACTOR = Context(actor="people")


@dataclass
class TickResult:
    """What one tick did."""

    warned: int = 0
    notices_sent: int = 0
    checks_expired: int = 0
    overstays: int = 0
    purged: int = 0


def _warning(person: Person, record: TrainingRecord, tz_note: str) -> tuple[str, str]:
    expires = record.expires_at.date().isoformat() if record.expires_at else "?"
    course = record.course.replace("_", " ")
    title = f"Training expires soon: {course}"
    body = (
        f"The {course} training of {person.name} expires on {expires}{tz_note}. "
        "Book the refresher now: levels that require this course stop opening once it lapses."
    )
    return title, body


class PeopleWorker:
    """Run the periodic people checks for one hub."""

    def __init__(self, hub: Any, *, warn_days: int = employees.WARN_DAYS) -> None:
        self.hub = hub
        self.warn_days = warn_days
        self.retention_days = visitors.RETENTION_DAYS
        self._purged_on: date | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.escorts: EscortMonitor | None = None

    async def start(self, *, tick_s: float | None = 60.0) -> None:
        """Start the periodic tick. Must run in the event loop."""
        if tick_s:
            self._ticker = asyncio.create_task(self._loop(tick_s), name="people-checks")

    async def stop(self) -> None:
        """Stop the periodic tick and the escort watch."""
        if self.escorts is not None:
            await self.escorts.stop()
            self.escorts = None
        await cancel(self._ticker)
        self._ticker = None

    async def _loop(self, period: float) -> None:
        await repeat(period, self.tick, logger=_LOGGER, what="people tick")

    async def work(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a worker thread inside one unit of work; deliver its events after."""
        return await work_in_thread(self.hub, fn)

    async def tick(self) -> TickResult:
        """Run every check once. Must run in the event loop."""
        result = TickResult()
        now = self.hub.clock.now()
        engine = engine_of(self.hub)

        def plan_warnings(session: Session) -> tuple[list[notices.Notice], list[int]]:
            items: list[notices.Notice] = []
            ids: list[int] = []
            for person, record in employees.expiring_training(
                session=session, now=now, days=self.warn_days
            ):
                title, body = _warning(person, record, " (UTC)")
                items.append(
                    notices.plan(
                        session=session,
                        subject=person.id,
                        notice="training_expiry",
                        recipient=person,
                        title=title,
                        body=body,
                    )
                )
                if person.manager_id is not None:
                    manager = session.get(Person, person.manager_id)
                    if manager is not None:
                        items.append(
                            notices.plan(
                                session=session,
                                subject=person.id,
                                notice="training_expiry",
                                recipient=manager,
                                title=title,
                                body=body,
                            )
                        )
                ids.append(record.id)
            return items, ids

        items, record_ids = await self.work(plan_warnings)
        if items:
            outcomes = await asyncio.to_thread(notices.deliver, self.hub, items, ACTOR)
            result.notices_sent = outcomes.count("delivered")

        def mark(session: Session) -> None:
            for record_id in record_ids:
                record = session.get(TrainingRecord, record_id)
                if record is None:
                    continue
                record.warned_at = now
                stage(
                    session,
                    make_event(
                        EVENT_EMPLOYEE_CHANGED,
                        EmployeeChangedPayload(
                            subject=record.person_id,
                            action="training_warned",
                            detail={"course": record.course},
                        ),
                        context=ACTOR,
                        time=now,
                    ),
                )

        if record_ids:
            await self.work(mark)
        result.warned = len(record_ids)
        expired = await self.work(
            lambda s: employees.expire_background_checks(
                session=s, now=now, context=ACTOR, engine=engine
            )
        )
        result.checks_expired = len(expired)
        overstays = await self.work(
            lambda s: visitors.raise_overstays(session=s, now=now, context=ACTOR)
        )
        result.overstays = len(overstays)
        if self._purged_on != now.date():
            result.purged = await self.work(
                lambda s: visitors.purge_expired(
                    session=s, now=now, context=ACTOR, retention_days=self.retention_days
                )
            )
            self._purged_on = now.date()
        return result


async def start_people(hub: Any, *, tick_s: float | None = 60.0) -> PeopleWorker:
    """Start the people worker and the escort watch on ``hub``; store it as ``hub.extras['people']``.

    Must run in the event loop.
    """
    worker = PeopleWorker(hub)
    hub.extras[EXTRAS_KEY] = worker
    worker.escorts = EscortMonitor(hub)
    worker.escorts.start()
    await worker.start(tick_s=tick_s)
    return worker
