"""A supervised MQTT connection: connect, subscribe, hand every message over, reconnect on loss."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiomqtt

_LOGGER = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how to sign in."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    keepalive: int = 30
    reconnect_s: float = 2.0


class MqttConnection:
    """Keep one client connected; queue publishes made while the link is down."""

    def __init__(
        self,
        settings: BrokerSettings,
        topics: Sequence[str],
        on_message: OnMessage,
        *,
        will: tuple[str, str] | None = None,
        birth: tuple[str, str] | None = None,
        max_queued: int = 1000,
    ) -> None:
        self.settings = settings
        self.topics = list(topics)
        self.on_message = on_message
        self.will = will
        self.birth = birth
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._queue: deque[tuple[str, str, bool]] = deque(maxlen=max_queued)
        self._task: asyncio.Task[None] | None = None
        self.errors = 0

    def start(self) -> None:
        """Start the connection task. Must run in the event loop."""
        self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.settings.client_id}")

    async def stop(self) -> None:
        """Say goodbye (the last will is only sent for a lost connection), then disconnect."""
        client = self._client
        if self.will is not None and client is not None and self.connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(
                    client.publish(self.will[0], self.will[1], qos=1, retain=True), 5
                )
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """Publish now, or queue until the connection is back."""
        client = self._client
        if client is not None and self.connected.is_set():
            try:
                await client.publish(topic, payload, qos=1, retain=retain)
                return
            except aiomqtt.MqttError:
                _LOGGER.warning("publish to %s failed; queued until reconnect", topic)
        self._queue.append((topic, payload, retain))

    async def _run(self) -> None:
        s = self.settings
        will = aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True) if self.will else None
        while True:
            try:
                async with aiomqtt.Client(
                    s.host,
                    s.port,
                    username=s.username,
                    password=s.password,
                    identifier=s.client_id,
                    keepalive=s.keepalive,
                    will=will,
                ) as client:
                    self._client = client
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    if self.birth:
                        await client.publish(self.birth[0], self.birth[1], qos=1, retain=True)
                    self.connected.set()
                    while self._queue:
                        topic, payload, retain = self._queue.popleft()
                        await client.publish(topic, payload, qos=1, retain=retain)
                    async for message in client.messages:
                        raw = message.payload
                        data = raw if isinstance(raw, bytes) else str(raw).encode()
                        try:
                            await self.on_message(str(message.topic), data)
                        except asyncio.CancelledError:
                            raise
                        except Exception:
                            self.errors += 1
                            _LOGGER.exception("handling MQTT message on %s failed", message.topic)
            except aiomqtt.MqttError as exc:
                self.errors += 1
                _LOGGER.warning(
                    "MQTT broker %s:%s unavailable (%s); retrying in %.0f s",
                    s.host,
                    s.port,
                    exc,
                    s.reconnect_s,
                )
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(s.reconnect_s)
