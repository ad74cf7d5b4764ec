"""The running notification domain: send in worker threads, escalate on the hub's clock.

:func:`start_call_tree` is what the automation engine, playbooks and the API call.
It records the run and returns at once; each recipient is served by its own task,
which tries the contact's channels in order of preference (Apprise runs in a worker
thread) and falls back to the next channel, and an unreachable tier escalates at
once. :meth:`NotifyRuntime.tick` escalates the tiers whose acknowledgement timed out;
the runtime calls it periodically, tests call it after moving a frozen clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.core.context import Context
from bastion.core.errors import BastionError
from bastion.core.events import EVENT_NOTIFY, Event, NotifyPayload
from bastion.notify import channels, service
from bastion.notify.schemas import CallTreeRun
from bastion.notify.service import DeliveryPlan
from bastion.store.ledger import take_staged

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
ACK_PATH = "/notify/ack/"
EXTRAS_KEY = "notify"


class NotifyRuntime:
    """Deliver call-tree messages and escalate unacknowledged tiers for one hub."""

    def __init__(self, hub: Any, *, base_url: str | None = None) -> None:
        self.hub = hub
        settings = hub.settings
        self.base_url = (
            base_url or hub.extras.get("public_url") or f"http://{settings.host}:{settings.port}"
        ).rstrip("/")
        self._tasks: set[asyncio.Task[None]] = set()
        # One notify write at a time: SQLite upgrades read transactions to write ones
        # without waiting, so parallel recipients would otherwise trip over each other.
        self._db_lock = threading.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, *, tick_s: float | None = 5.0, resume: bool = True) -> None:
        """Subscribe to ``notify.requested``, resume pending deliveries, start the ticker.

        Must run in the event loop.
        """
        channels.install_log_redaction()
        self._unsubscribe = self.hub.bus.subscribe(self.handle, types=[EVENT_NOTIFY])
        if resume:
            await self.resume()
        if tick_s:
            self._ticker = asyncio.create_task(self._tick_loop(tick_s), name="notify-escalation")

    async def stop(self) -> None:
        """Stop the ticker and the subscription, then wait for deliveries in flight."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.drain()

    async def drain(self) -> None:
        """Wait until every delivery task started so far (and those they start) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _tick_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("notify escalation tick failed")

    # -- database work ---------------------------------------------------------------------------

    async def work(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a worker thread inside one unit of work; deliver its events afterwards."""

        def run() -> tuple[T, list[Event[Any]]]:
            with self._db_lock, self.hub.db.unit_of_work() as session:
                result = fn(session)
                events = take_staged(session)
            return result, events

        result, events = await asyncio.to_thread(run)
        self.hub.deliver(events)
        return result

    # -- starting and escalating -----------------------------------------------------------------

    async def start_call_tree(
        self,
        *,
        tree_id: str,
        template_id: str | None,
        variables: Mapping[str, Any],
        context: Context,
        drill: bool = False,
        emergency: bool = False,
        message: str | None = None,
    ) -> CallTreeRun:
        """Record a run, start notifying its first tier in the background and return its status."""
        now = self.hub.clock.now()

        def begin(session: Session) -> tuple[str, list[int]]:
            run, recipients = service.start_run(
                session=session,
                tree_id=tree_id,
                template_id=template_id,
                variables=variables,
                context=context,
                now=now,
                message=message,
                drill=drill,
                emergency=emergency,
            )
            return run.id, [r.id for r in recipients]

        run_id, recipient_ids = await self.work(begin)
        self.dispatch(recipient_ids)
        return await self.status(run_id)

    async def status(self, run_id: str) -> CallTreeRun:
        """Return the current status of a run."""
        return await self.work(lambda s: service.run_status(session=s, run_id=run_id))

    async def tick(self) -> int:
        """Escalate every tier whose acknowledgement timed out; return how many escalated."""
        now = self.hub.clock.now()
        due = await self.work(lambda s: service.due_escalations(session=s, now=now))
        for run_id, tier in due:
            await self._escalate(run_id, tier, "timeout")
        return len(due)

    async def _escalate(self, run_id: str, tier: int, reason: str) -> None:
        now = self.hub.clock.now()

        def move(session: Session) -> list[int]:
            new = service.escalate(
                session=session, run_id=run_id, from_tier=tier, reason=reason, now=now
            )
            return [r.id for r in new]

        self.dispatch(await self.work(move))

    async def resume(self) -> None:
        """Dispatch recipients left pending (e.g. by a restart) of active runs."""

        def pending(session: Session) -> list[int]:
            from sqlalchemy import select

            from bastion.notify.models import Recipient, Run

            rows = session.scalars(
                select(Recipient.id)
                .join(Run, Run.id == Recipient.run_id)
                .where(Recipient.status == "pending", Run.status == "active")
            )
            return list(rows)

        self.dispatch(await self.work(pending))

    # -- delivering ------------------------------------------------------------------------------

    def dispatch(self, recipient_ids: Iterable[int]) -> None:
        """Start one delivery task per recipient; never blocks.

        Must run in the event loop.
        """
        for recipient_id in recipient_ids:
            task = asyncio.create_task(
                self._deliver_safely(recipient_id), name=f"notify-recipient-{recipient_id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver_safely(self, recipient_id: int) -> None:
        try:
            await self.deliver(recipient_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("delivery to recipient %s failed", recipient_id)

    async def deliver(self, recipient_id: int) -> None:
        """Serve one recipient: quiet hours, drill, channels in order with fallback."""
        now = self.hub.clock.now()
        plan = await self.work(
            lambda s: service.plan_delivery(session=s, recipient_id=recipient_id, now=now)
        )
        if plan is None:
            return
        if not plan.active or not plan.channels:
            await self._skip(plan, None, "unreachable", "the contact is inactive or has no channel")
        elif plan.quiet:
            await self._skip(plan, None, "quiet_hours", "quiet hours (not an emergency)")
        elif plan.drill:
            usable = [c for c in plan.channels if not c.rate_limited] or list(plan.channels)
            await self._skip(plan, usable[0], "drill", "drill: nothing was sent")
        else:
            await self._send(plan)
        await self._after(plan)

    async def _skip(
        self,
        plan: DeliveryPlan,
        channel: service.PlannedChannel | None,
        outcome: str,
        detail: str,
    ) -> None:
        now = self.hub.clock.now()
        await self.work(
            lambda s: service.record_skip(
                session=s, plan=plan, channel=channel, outcome=outcome, now=now, detail=detail
            )
        )

    async def _send(self, plan: DeliveryPlan) -> None:
        body = f"{plan.body}\n\nAcknowledge: {self.base_url}{ACK_PATH}{plan.ack_token}"
        for channel in plan.channels:
            if channel.rate_limited:
                await self._skip(plan, channel, "rate_limited", "rate limit reached")
                continue
            if await self._send_one(plan, channel, body):
                return
        await self._skip(plan, None, "unreachable", "every channel failed or was rate-limited")

    async def _send_one(
        self, plan: DeliveryPlan, channel: service.PlannedChannel, body: str
    ) -> bool:
        started = self.hub.clock.now()
        delivery_id = await self.work(
            lambda s: service.record_attempt(session=s, plan=plan, channel=channel, now=started)
        )
        result = await asyncio.to_thread(
            channels.send, channel.url, title=plan.title, body=body, urgent=plan.emergency
        )
        done = self.hub.clock.now()
        await self.work(
            lambda s: service.record_result(
                session=s,
                plan=plan,
                delivery_id=delivery_id,
                ok=result.ok,
                detail=result.detail,
                now=done,
            )
        )
        return result.ok

    async def _after(self, plan: DeliveryPlan) -> None:
        unreachable = await self.work(
            lambda s: service.tier_unreachable(session=s, run_id=plan.run_id, tier=plan.tier)
        )
        if unreachable:
            await self._escalate(plan.run_id, plan.tier, "unreachable")

    # -- bus -------------------------------------------------------------------------------------

    async def handle(self, event: Event[Any]) -> None:
        """Start the call tree a ``notify.requested`` event names (or one per role named)."""
        payload = event.payload
        if not isinstance(payload, NotifyPayload):
            return
        trees = [payload.call_tree] if payload.call_tree else list(payload.roles)
        variables: dict[str, str] = {}
        if payload.zone_id:
            variables["zone"] = payload.zone_id
        if event.site:
            variables["site"] = event.site
        for tree in trees:
            try:
                await self.start_call_tree(
                    tree_id=tree,
                    template_id=None,
                    variables=variables,
                    context=event.context.child(actor="notify"),
                    emergency=payload.priority == 1,
                    message=payload.message,
                )
            except BastionError as exc:
                _LOGGER.warning("notify.requested %s: %s", event.id, exc.message)


def runtime_for(hub: Any) -> NotifyRuntime:
    """Return the hub's notification runtime, creating an unstarted one when there is none."""
    runtime = hub.extras.get(EXTRAS_KEY)
    if not isinstance(runtime, NotifyRuntime):
        runtime = NotifyRuntime(hub)
        hub.extras[EXTRAS_KEY] = runtime
    return runtime


async def start_notify(
    hub: Any, *, base_url: str | None = None, tick_s: float | None = 5.0, resume: bool = True
) -> NotifyRuntime:
    """Start the notification domain on ``hub``; store it as ``hub.extras['notify']``.

    ``base_url`` is where recipients reach the acknowledgement links (default:
    ``hub.extras['public_url']``, else the API's host and port). Must run in the event loop.
    """
    runtime = NotifyRuntime(hub, base_url=base_url)
    hub.extras[EXTRAS_KEY] = runtime
    await runtime.start(tick_s=tick_s, resume=resume)
    return runtime


async def start_call_tree(
    hub: Any,
    *,
    tree_id: str,
    template_id: str | None,
    variables: Mapping[str, Any],
    context: Context,
    drill: bool = False,
    emergency: bool = False,
    message: str | None = None,
) -> CallTreeRun:
    """Start a call tree on ``hub`` and return at once with the run's status.

    Configuration errors (unknown tree or template, a missing template variable) are
    raised here, before anything is recorded; delivery failures are recorded on the
    run and never raised. Must run in the event loop.
    """
    return await runtime_for(hub).start_call_tree(
        tree_id=tree_id,
        template_id=template_id,
        variables=variables,
        context=context,
        drill=drill,
        emergency=emergency,
        message=message,
    )
