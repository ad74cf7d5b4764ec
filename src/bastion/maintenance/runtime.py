"""Run the device-health tracker on a hub: link reports in, one trouble alarm per device out.

Integrations publish ``device.status`` (raw link state). The runtime feeds them to
:class:`HealthTracker` and publishes its decisions as ``device.health``: ``offline`` or
``trouble`` (flapping), raised through the alarms domain as one ``device_offline`` /
``device_trouble`` alarm, and ``restored``, on which that alarm is cleared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Literal

from bastion.alarms import service as alarms
from bastion.alarms.runtime import AlarmsRuntime
from bastion.core import periodic
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_DEVICE_STATUS,
    DeviceHealthPayload,
    DeviceStatusPayload,
    Event,
)
from bastion.hub import Hub, work_in_thread
from bastion.maintenance.health import Condition, HealthChange, HealthTracker, KindSettings

_LOGGER = logging.getLogger(__name__)
HEALTH_STATUS: dict[Condition, Literal["offline", "trouble"]] = {
    Condition.OFFLINE: "offline",
    Condition.FLAPPING: "trouble",
    Condition.DEGRADED: "trouble",
}
"""The ``device.health`` status of each condition (the alarms domain maps it to an alarm)."""
TROUBLE_ALARMS = ("device_offline", "device_trouble")
"""The alarms the alarms domain raises for those statuses, cleared on recovery."""


class DeviceHealthRuntime:
    """Follow ``device.status`` on the bus and raise / clear device trouble."""

    def __init__(
        self,
        hub: Hub,
        *,
        settings: Mapping[str, KindSettings] | None = None,
        tick_s: float = 0.5,
    ) -> None:
        self.hub = hub
        self.tracker = HealthTracker(clock=hub.clock, settings=settings)
        self.tick_s = tick_s
        self._unsubscribe: Any = None
        self._ticker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.changes: list[HealthChange] = []

    async def start(self) -> None:
        """Subscribe to link reports and start the grace-period ticker. Must run in the loop."""
        self._unsubscribe = self.hub.bus.subscribe(self.handle, types=[EVENT_DEVICE_STATUS])
        self._ticker = asyncio.create_task(
            periodic.repeat(self.tick_s, self.tick, logger=_LOGGER, what="device health check"),
            name="device-health",
        )

    async def stop(self) -> None:
        """Unsubscribe and stop the ticker."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await periodic.cancel(self._ticker)
        self._ticker = None

    async def handle(self, event: Event[Any]) -> None:
        """Feed one link report to the tracker and act on what it decides."""
        payload = event.payload
        if not isinstance(payload, DeviceStatusPayload):
            return
        changes = self.tracker.observe(
            site=event.site,
            device_id=payload.device_id,
            kind=payload.kind,
            online=payload.online,
            degraded=payload.degraded,
            detail=payload.detail,
        )
        await self._apply(changes, event.context)

    async def tick(self) -> None:
        """Act on the grace periods and restorations that are due now."""
        await self._apply(self.tracker.tick(), None)

    async def _apply(self, changes: list[HealthChange], cause: Context | None) -> None:
        # One at a time, so a clear never overtakes the raise it clears.
        async with self._lock:
            for change in changes:
                self.changes.append(change)
                context = (
                    cause.child(actor="maintenance")
                    if cause is not None
                    else Context(actor="maintenance")
                )
                if change.condition is not None:
                    await self._trouble(change, context)
                else:
                    await self._restored(change, context)

    async def _trouble(self, change: HealthChange, context: Context) -> None:
        assert change.condition is not None
        _LOGGER.warning(
            "%s %s is %s: %s", change.kind, change.device_id, change.condition, change.detail
        )
        event = await self.hub.bus.publish(
            EVENT_DEVICE_HEALTH,
            DeviceHealthPayload(
                device_id=change.device_id,
                status=HEALTH_STATUS[change.condition],
                detail=change.detail,
            ),
            context=context,
            site=change.site,
        )
        # Raise now rather than wait for the alarms domain's own queue to reach the event,
        # so the clear below can never overtake it; the domain sees the duplicate and skips.
        domain = self.hub.extras.get("alarms")
        if isinstance(domain, AlarmsRuntime):
            spec = domain.classify(event)
            if spec is not None:
                domain.raise_(event, spec)

    async def _restored(self, change: HealthChange, context: Context) -> None:
        event = await self.hub.bus.publish(
            EVENT_DEVICE_HEALTH,
            DeviceHealthPayload(
                device_id=change.device_id, status="restored", detail=change.detail
            ),
            context=context,
            site=change.site,
        )
        cleared = await work_in_thread(
            self.hub,
            lambda session: alarms.clear_device_trouble(
                session=session,
                site_id=change.site,
                device_id=change.device_id,
                alarm_types=TROUBLE_ALARMS,
                reason=f"device recovered: {change.detail}",
                context=event.context.child(actor="maintenance"),
                now=self.hub.clock.now(),
            ),
        )
        if cleared:
            _LOGGER.info("%s %s recovered; its alarm is cleared", change.kind, change.device_id)


SETTINGS_KEY = "device_health_settings"
"""``hub.extras`` key of the per-kind settings a node's configuration file gives."""


async def start_device_health(
    hub: Hub, *, settings: Mapping[str, KindSettings] | None = None, tick_s: float = 0.5
) -> DeviceHealthRuntime:
    """Start device-health tracking on ``hub``; store it as ``hub.extras['device_health']``.

    Settings default to ``hub.extras['device_health_settings']``. Must run in the event loop.
    """
    if settings is None:
        settings = hub.extras.get(SETTINGS_KEY)
    runtime = DeviceHealthRuntime(hub, settings=settings, tick_s=tick_s)
    await runtime.start()
    hub.extras["device_health"] = runtime
    return runtime
