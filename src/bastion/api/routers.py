"""The one list of routers the app includes; a domain adds its module here."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

# Order matters only for overlapping paths; pages come last.
ROUTER_MODULES = (
    "bastion.api.health",
    "bastion.auth.api",
    "bastion.api.events",
    "bastion.site.api",
    "bastion.access.api",
    "bastion.analysis.api",
    "bastion.web.people",
    "bastion.web.pages",
)


def include_all(app: FastAPI) -> None:
    """Include the router of every domain module present in this build."""
    for name in ROUTER_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            # Skip a domain that is not part of this build; re-raise real import bugs.
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        app.include_router(module.router)
