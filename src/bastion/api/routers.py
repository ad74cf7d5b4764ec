"""The one list of routers the app includes; a domain adds its module here."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from importlib import import_module

from fastapi import FastAPI

from bastion.hub import Hub

# Order matters only for overlapping paths; pages come last.
ROUTER_MODULES = (
    "bastion.api.health",
    "bastion.auth.api",
    "bastion.api.events",
    "bastion.site.api",
    "bastion.doors.api",
    "bastion.access.api",
    "bastion.alarms.api",
    "bastion.automation.api",
    "bastion.notify.api",
    "bastion.safety.api",
    "bastion.analysis.api",
    "bastion.people.api",
    "bastion.automation.playbooks.api",
    "bastion.cash.api",
    "bastion.api.pos",
    "bastion.search.api",
    "bastion.web.people",
    "bastion.web.cardholders",
    "bastion.web.visitors",
    "bastion.web.safety",
    "bastion.web.emergency",
    "bastion.web.analysis",
    "bastion.web.cash",
    "bastion.web.cash_review",
    "bastion.web.events",
    "bastion.maintenance.api",
    "bastion.web.upkeep",
    "bastion.video.api",
    "bastion.web.video",
    "bastion.compliance.api",
    "bastion.web.compliance",
    "bastion.transport.api",
    "bastion.web.transport",
    "bastion.cluster.api",
    "bastion.web.cluster",
    "bastion.inventory.api",
    "bastion.web.inventory",
    "bastion.web.pages",
)


# Domain runtimes started with the app (projections, workers), as "module:function(hub)".
# A starter may return an object with an async ``stop()``; it is stopped at shutdown.
RUNTIME_STARTERS = (
    "bastion.doors.runtime:start_door_board",
    "bastion.access.runtime:start_access",
    "bastion.alarms.runtime:start_alarms",
    "bastion.maintenance.runtime:start_device_health",
    "bastion.automation.runtime:start_site_automation",
    "bastion.notify.runtime:start_notify",
    "bastion.safety.runtime:start_safety",
    "bastion.people.runtime:start_people",
    "bastion.automation.playbooks.runtime:start_playbooks",
    "bastion.cash.runtime:start_cash",
    "bastion.compliance.runtime:start_compliance",
    "bastion.maintenance.upkeep:start_upkeep",
    "bastion.video.runtime:start_video",
    "bastion.transport.runtime:start_transport",
    "bastion.cluster.runtime:start_cluster",
)


def _optional(name: str) -> object | None:
    """Import ``name``; return None when its package is not part of this build."""
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise
        return None


Stop = Callable[[], Awaitable[None]]


async def start_runtimes(hub: Hub) -> list[Stop]:
    """Start every present domain runtime on ``hub``; return their stop functions.

    Must run in the event loop.
    """
    stops: list[Stop] = []
    for spec in RUNTIME_STARTERS:
        module_name, _, function = spec.partition(":")
        module = _optional(module_name)
        if module is None or not hasattr(module, function):
            continue
        result = getattr(module, function)(hub)
        if inspect.isawaitable(result):
            result = await result
        stop = getattr(result, "stop", None)
        if stop is not None and inspect.iscoroutinefunction(stop):
            stops.append(stop)
    return stops


def include_all(app: FastAPI) -> None:
    """Include the router of every domain module present in this build.

    A module may also define ``install(app)`` for app-wide hooks (the console's pages).
    """
    for name in ROUTER_MODULES:
        module = _optional(name)
        if module is not None:
            app.include_router(module.router)  # type: ignore[attr-defined]
            install = getattr(module, "install", None)
            if install is not None:
                install(app)
