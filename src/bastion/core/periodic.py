"""Periodic background ticks shared by the domain workers.

A worker's tick must never die of one bad run (the next tick may succeed), and
stopping it must wait for the task to unwind; both are the same for every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def repeat(
    period: float, tick: Callable[[], Awaitable[Any]], *, logger: logging.Logger, what: str
) -> None:
    """Await ``tick`` every ``period`` seconds forever, logging (not raising) its failures."""
    while True:
        await asyncio.sleep(period)
        try:
            await tick()
        except Exception:
            logger.exception("%s failed", what)


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
