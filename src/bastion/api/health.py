"""Liveness and readiness for load balancers and the demo launcher (public, reveals nothing).

``/api/health`` answers 200 while the process runs and says whether the database
answers and how many ledger entries wait in the local outbox; ``/api/ready`` answers
503 while the database is unreachable, so a balancer sends operators elsewhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bastion import __version__
from bastion.api.deps import Public, get_hub
from bastion.core.errors import StorageError
from bastion.hub import Hub

router = APIRouter(tags=["system"])


def _database_answers(hub: Hub) -> bool:
    try:
        hub.db.check()
    except StorageError:
        return False
    return True


async def _status(hub: Hub) -> dict[str, Any]:
    up = await run_in_threadpool(_database_answers, hub)
    backlog = hub.ledger.backlog
    return {
        "status": "ok" if up and not backlog else "degraded",
        "version": __version__,
        "database": "up" if up else "down",
        "outbox": backlog,
    }


@router.get("/api/health", dependencies=[Depends(Public())])
async def health(request: Request) -> dict[str, Any]:
    """Report that the process is up, whether the database answers and the outbox size."""
    return await _status(get_hub(request))


@router.get("/api/ready", dependencies=[Depends(Public())])
async def ready(request: Request) -> JSONResponse:
    """Answer 200 when requests can be served, 503 while the database is unreachable."""
    body = await _status(get_hub(request))
    return JSONResponse(body, status_code=200 if body["database"] == "up" else 503)
