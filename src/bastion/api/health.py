"""Liveness endpoint for load balancers and the demo launcher (public, reveals nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bastion import __version__
from bastion.api.deps import Public

router = APIRouter(tags=["system"])


@router.get("/api/health", dependencies=[Depends(Public())])
async def health() -> dict[str, str]:
    """Report that the process is up."""
    return {"status": "ok", "version": __version__}
