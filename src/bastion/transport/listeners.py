"""GPS listeners: OwnTracks over MQTT, and the OsmAnd / Traccar Client HTTP protocol.

Like Traccar, the OsmAnd listener runs on its own port (phone apps send a bare URL with
the report in the query and no authorization header): a report is taken only from a
tracker id fitted to a registered vehicle, and answered 200, or 400 with the reason in
plain words. Put it behind TLS and use long, random tracker ids. The OwnTracks listener
subscribes to ``owntracks/+/+`` (and ``…/event``) on the broker.

Both hand parsed reports to :meth:`TransportRuntime.ingest` through one queue, drained
in batches so a burst is measured in one vectorised call per trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from urllib.parse import parse_qsl

import aiomqtt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bastion.transport.gps import Parsed, Reject, parse_osmand, parse_owntracks, parse_traccar_json
from bastion.transport.runtime import TransportRuntime

_LOGGER = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
BATCH = 500


class Feeder:
    """One queue of parsed reports drained in batches into the runtime."""

    def __init__(self, runtime: TransportRuntime) -> None:
        self.runtime = runtime
        self.queue: asyncio.Queue[Parsed] = asyncio.Queue()
        self.task = asyncio.create_task(self._drain(), name="transport-feeder")
        runtime.keep(self.task)

    def put(self, report: Parsed) -> None:
        """Queue a report (never blocks)."""
        self.queue.put_nowait(report)

    async def _drain(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.runtime.ingest(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("judging a batch of %d GPS reports failed", len(batch))


def feeder_of(runtime: TransportRuntime) -> Feeder:
    """Return the runtime's feeder, creating it on first use. Must run in the loop."""
    found = getattr(runtime, "_feeder", None)
    if isinstance(found, Feeder):
        return found
    feeder = Feeder(runtime)
    runtime._feeder = feeder  # type: ignore[attr-defined]
    return feeder


# --- OsmAnd / Traccar Client over HTTP -------------------------------------------------------


def osmand_app(runtime: TransportRuntime) -> Starlette:
    """Return the ASGI app of the OsmAnd listener (GET/POST on ``/``)."""

    async def report(request: Request) -> PlainTextResponse:
        params = dict(request.query_params)
        if request.method == "POST":
            body = await request.body()
            if len(body) > MAX_BODY:
                return PlainTextResponse("the report is too large", status_code=413)
            kind = request.headers.get("content-type", "")
            if "json" in kind:
                parsed = parse_traccar_json(body)
                return await _answer(runtime, parsed)
            if body:
                try:
                    params.update(parse_qsl(body.decode(), keep_blank_values=True))
                except UnicodeDecodeError:
                    return await _answer(runtime, Reject("malformed", "the body is not text"))
        return await _answer(runtime, parse_osmand(params))

    return Starlette(routes=[Route("/", report, methods=["GET", "POST"])])


async def _answer(runtime: TransportRuntime, parsed: Parsed) -> PlainTextResponse:
    if not isinstance(parsed, Reject) and parsed.device not in runtime.trackers:
        parsed = Reject("unknown_device", "no vehicle has this tracker", parsed.device)
    if isinstance(parsed, Reject):
        runtime.rejects[parsed.reason] += 1
        _LOGGER.info("GPS report refused (%s): %s", parsed.reason, parsed.detail)
        return PlainTextResponse(f"refused: {parsed.detail}", status_code=400)
    feeder_of(runtime).put(parsed)
    return PlainTextResponse("OK")


@dataclass
class OsmandServer:
    """The OsmAnd listener served by uvicorn inside the running loop."""

    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Stop serving."""
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def serve_osmand(runtime: TransportRuntime, host: str, port: int) -> OsmandServer:
    """Serve the OsmAnd protocol on host:port; return once it listens."""
    config = uvicorn.Config(
        osmand_app(runtime), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="transport-osmand")
    runtime.keep(task)
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return OsmandServer(server, task)


# --- OwnTracks over MQTT ---------------------------------------------------------------------


async def follow_owntracks(
    runtime: TransportRuntime,
    host: str,
    port: int,
    *,
    ready: asyncio.Event | None = None,
    reconnect_s: float = 5.0,
    base: str = "owntracks",
) -> None:
    """Subscribe to OwnTracks reports on the broker and feed them (reconnecting forever)."""
    feeder = feeder_of(runtime)
    while True:
        try:
            async with aiomqtt.Client(
                host, port, identifier=f"bastion-transport-{os.getpid()}"
            ) as client:
                await client.subscribe(f"{base}/+/+", qos=1)
                await client.subscribe(f"{base}/+/+/event", qos=1)
                if ready is not None:
                    ready.set()
                async for message in client.messages:
                    raw = message.payload
                    data = raw if isinstance(raw, bytes) else str(raw).encode()
                    topic = str(message.topic)
                    if topic.endswith("/event"):
                        topic = topic[: -len("/event")]
                    feeder.put(parse_owntracks(topic, data, base=base))
        except aiomqtt.MqttError as exc:
            _LOGGER.warning("OwnTracks broker %s:%s unavailable (%s); retrying", host, port, exc)
        await asyncio.sleep(reconnect_s)


def start_configured(runtime: TransportRuntime) -> None:
    """Start the listeners named in the environment, if any. Must run in the loop."""
    mqtt = os.environ.get("BASTION_TRANSPORT_OWNTRACKS_MQTT", "").strip()
    if mqtt:
        host, _, port = mqtt.partition(":")
        runtime.keep(
            asyncio.create_task(
                follow_owntracks(runtime, host, int(port or 1883)), name="transport-owntracks"
            )
        )
    osmand = os.environ.get("BASTION_TRANSPORT_OSMAND_PORT", "").strip()
    if osmand:
        runtime.keep(
            asyncio.create_task(
                serve_osmand(runtime, runtime.hub.settings.host, int(osmand)),
                name="transport-osmand-start",
            )
        )
