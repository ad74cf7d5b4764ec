"""Continuous compliance: re-check on change and daily, alarm on critical failures, remind.

A site is checked again when its model or its compliance data changes (the events
``site.imported`` and ``compliance.changed``) and at least once a day. A critical rule
that passed before and fails now raises an alarm for the compliance officer. Regulator
notice tasks near their deadline are announced through the site's call tree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from bastion.alarms import service as alarms_service
from bastion.alarms.service import AlarmSpec
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.cash import tasks as cash_tasks
from bastion.compliance import service
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_COMPLIANCE,
    EVENT_NOTIFY,
    EVENT_SITE_IMPORTED,
    CompliancePayload,
    Event,
    NotifyPayload,
    make_event,
)
from bastion.core.periodic import cancel, repeat
from bastion.core.sitetime import site_time
from bastion.hub import Hub, work_in_thread
from bastion.site.schemas import Site
from bastion.store.ledger import stage

_LOGGER = logging.getLogger(__name__)
EXTRAS_KEY = "compliance"
DAILY = timedelta(hours=24)
REMIND_BEFORE = timedelta(hours=6)
CALL_TREE = "management"
CONTEXT = Context(actor="system:compliance")


@cache
def _sops() -> SopCatalogue:
    return load_sops()


def critical_regressions(
    before: list[dict[str, Any]] | None, after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the critical findings failing now that did not fail in the previous run."""
    failed_before = {f["rule"] for f in before or [] if f["status"] == "fail"}
    return [
        f
        for f in after
        if f["status"] == "fail" and f["severity"] == "critical" and f["rule"] not in failed_before
    ]


def recheck(session: Session, hub: Hub, site: Site, now: datetime) -> list[str]:
    """Check a site, keep the run, raise alarms for new critical failures; return alarm ids."""
    if service.state_of(session, site) is None:
        return []
    previous = service.last_run(session, site.site.id)
    report = service.check_site(
        session=session, site=site, data_dir=hub.settings.data_dir, context=CONTEXT, now=now
    )
    alarms = []
    for finding in critical_regressions(
        previous.findings if previous is not None else None, [f.as_json() for f in report.findings]
    ):
        result = alarms_service.raise_alarm(
            session=session,
            spec=AlarmSpec(
                "compliance_critical",
                f"Compliance: {finding['rule']} fails — {finding['title']} ({finding['citation']})",
                priority=2,
            ),
            site=site,
            site_id=site.site.id,
            context=CONTEXT,
            now=now,
            sops=_sops(),
        )
        alarms.append(result.alarm.id)
    return alarms


def remind(
    session: Session,
    site_id: str,
    now: datetime,
    reminded: set[str],
    timezone: str | None = None,
) -> int:
    """Announce open regulator notices due within six hours (once per task and process).

    The deadline is worded in ``timezone`` (the site's), zone named.
    """
    sent = 0
    for task in cash_tasks.list_tasks(session=session, site_id=site_id, open_only=True):
        if task.kind != "regulator_notice" or task.due_at is None or task.id in reminded:
            continue
        if task.due_at - now > REMIND_BEFORE:
            continue
        late = task.due_at < now
        due = site_time(task.due_at, timezone)
        message = f"{task.title}: {'overdue since' if late else 'due by'} {due}"
        stage(
            session,
            make_event(
                EVENT_NOTIFY,
                NotifyPayload(call_tree=CALL_TREE, message=message, priority=1 if late else 2),
                context=CONTEXT,
                time=now,
                site=site_id,
            ),
        )
        reminded.add(task.id)
        sent += 1
    return sent


class ComplianceRuntime:
    """Keeps every loaded site's compliance results current for one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.dirty: set[str] = set()
        self.reminded: set[str] = set()
        self.last: dict[str, datetime] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def sites(self) -> dict[str, Site]:
        """Return the sites loaded on the hub."""
        loaded: dict[str, Site] = self.hub.extras.get("sites", {})
        return loaded

    async def start(self, *, tick_s: float | None = 60.0) -> None:
        """Follow changes and start the tick. Must run in the event loop."""
        self._unsubscribe = self.hub.bus.subscribe(
            self.handle, types=[EVENT_SITE_IMPORTED, EVENT_COMPLIANCE]
        )
        self.dirty |= set(self.sites)
        if tick_s:
            self._ticker = asyncio.create_task(
                repeat(tick_s, self.tick, logger=_LOGGER, what="compliance tick"),
                name="compliance-tick",
            )

    async def stop(self) -> None:
        """Stop the tick and the subscription."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel(self._ticker)
        self._ticker = None

    async def handle(self, event: Event[Any]) -> None:
        """Mark a site for a new check when its model or compliance data changed."""
        payload = event.payload
        if isinstance(payload, CompliancePayload) and payload.action in ("checked", "purged"):
            return  # our own results; checking again would loop
        if event.site is not None:
            self.dirty.add(event.site)

    async def tick(self) -> None:
        """Check the changed and the day-old sites; send deadline reminders."""
        now = self.hub.clock.now()
        for site in list(self.sites.values()):
            site_id = site.site.id
            due = (
                site_id in self.dirty
                or now - self.last.get(site_id, datetime.min.replace(tzinfo=now.tzinfo)) >= DAILY
            )
            self.dirty.discard(site_id)

            def run(session: Session, site: Site = site, check: bool = due) -> None:
                if check:
                    recheck(session, self.hub, site, now)
                remind(session, site.site.id, now, self.reminded, site.site.timezone)

            await work_in_thread(self.hub, run)
            if due:
                self.last[site_id] = now


async def start_compliance(hub: Hub, *, tick_s: float | None = 60.0) -> ComplianceRuntime:
    """Start continuous compliance on ``hub`` (``hub.extras['compliance']``)."""
    runtime = ComplianceRuntime(hub)
    hub.extras[EXTRAS_KEY] = runtime
    await runtime.start(tick_s=tick_s)
    return runtime
