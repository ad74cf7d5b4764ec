"""Connecting to NATS and making sure the streams exist (idempotent; any node may do it)."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from bastion.cluster.names import Names

_LOGGER = logging.getLogger(__name__)
DUPLICATE_WINDOW_S = 120.0
COMMANDS_MAX_AGE_S = 7 * 24 * 3600.0


async def connect(url: str, *, name: str, retry_s: float = 1.0) -> Client:
    """Connect, retrying until the server answers; later outages reconnect by themselves."""
    delay = retry_s
    while True:
        try:
            return await nats.connect(
                url,
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
            )
        except Exception as exc:  # the client raises several kinds; all mean "not now"
            _LOGGER.warning("the bus at %s does not answer (%s); retrying", url, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def ensure_streams(js: JetStreamContext, names: Names) -> None:
    """Create the events and commands streams unless they exist."""
    configs = (
        StreamConfig(
            name=names.events_stream,
            subjects=[names.all_events],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
        StreamConfig(
            name=names.commands_stream,
            subjects=[names.all_commands],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=COMMANDS_MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    )
    for config in configs:
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            # Exists with other limits (set by an operator): keep theirs.
            _LOGGER.info("stream %s exists: %s", config.name, exc)


async def delete_streams(js: JetStreamContext, names: Names) -> None:
    """Remove a deployment's streams (tests and benchmarks clean up after themselves)."""
    for stream in (names.events_stream, names.commands_stream):
        try:
            await js.delete_stream(stream)
        except Exception as exc:
            _LOGGER.debug("stream %s not deleted: %s", stream, exc)
