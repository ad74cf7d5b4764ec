"""The MQTT sensor integration: a broker connection feeding :class:`SensorBoard` into the bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.core.context import Context
from bastion.integrations.mqtt.connection import BrokerSettings, MqttConnection
from bastion.integrations.mqtt.sensors import Output, SensorBoard
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)


class MqttConfig(BaseModel):
    """Settings of the MQTT sensor integration."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["mqtt"] = Field(default="mqtt", title="Type", description="Integration type.")
    site_id: str = Field(title="Site", description="Site whose sensors report over MQTT.")
    host: str = Field(default="127.0.0.1", title="Host", description="Broker host name.")
    port: int = Field(default=1883, ge=1, le=65535, title="Port", description="Broker port.")
    username: str | None = Field(default=None, title="User", description="Broker user name.")
    password: str | None = Field(default=None, title="Password", description="Broker password.")
    client_id: str = Field(default="bastion-sensors", title="Client id", description="MQTT id.")
    topic_prefix: str = Field(
        default="bastion/sensors",
        title="Topic prefix",
        description="Sensors publish on <prefix>/<device id>[/availability].",
    )
    offline_after_s: float = Field(
        default=60.0, gt=0, title="Offline after", description="Seconds of silence → offline."
    )
    debounce_s: float = Field(
        default=3.0,
        ge=0,
        title="Debounce",
        description="Settle window after a sensor comes back, in which activations are held.",
    )
    max_payload_bytes: int = Field(
        default=4096, ge=16, title="Max payload", description="Larger messages are dropped."
    )
    check_s: float = Field(
        default=1.0, gt=0, title="Check period", description="Seconds between supervision checks."
    )
    status_topic: str | None = Field(
        default=None,
        title="Status topic",
        description="Bastion publishes 'online' here (retained) and the broker 'offline' when"
        " Bastion's connection is lost (default: bastion/status/<client id>).",
    )

    def status(self) -> str:
        """Return the topic where this connection says whether Bastion is online."""
        return self.status_topic or f"bastion/status/{self.client_id}"


class MqttIntegration:
    """Publish sensor states, readings and health from an MQTT broker on the bus."""

    domain: ClassVar[str] = "mqtt"
    config_model: ClassVar[type[BaseModel]] = MqttConfig

    def __init__(self) -> None:
        self.board: SensorBoard | None = None
        self.connection: MqttConnection | None = None
        self._hub: Any = None
        self._site_id = ""
        self._check: asyncio.Task[None] | None = None
        self.published = 0

    async def setup(self, hub: Any, config: Any) -> None:
        """Connect to the broker and start supervising the site's sensors."""
        sites: dict[str, Site] = hub.extras.get("sites", {})
        site = sites.get(config.site_id)
        if site is None:
            raise ValueError(f"mqtt: site {config.site_id!r} is not loaded")
        self._hub, self._site_id = hub, config.site_id
        self.board = SensorBoard(
            site=site,
            prefix=config.topic_prefix,
            clock=hub.clock,
            offline_after_s=config.offline_after_s,
            debounce_s=config.debounce_s,
            max_payload_bytes=config.max_payload_bytes,
        )
        self.connection = MqttConnection(
            BrokerSettings(
                host=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                client_id=config.client_id,
            ),
            self.board.subscriptions(),
            self.handle,
            will=(config.status(), "offline"),
            birth=(config.status(), "online"),
        )
        self.connection.start()
        self._check = asyncio.create_task(self._check_loop(config.check_s), name="mqtt-check")

    async def unload(self) -> None:
        """Stop supervision and disconnect."""
        if self._check is not None:
            self._check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check
            self._check = None
        if self.connection is not None:
            await self.connection.stop()
            self.connection = None

    async def handle(self, topic: str, payload: bytes) -> None:
        """Turn one broker message into events."""
        assert self.board is not None
        await self._publish(self.board.on_message(topic, payload))

    async def check(self) -> None:
        """Run one supervision pass now."""
        assert self.board is not None
        await self._publish(self.board.check())

    async def _check_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await self.check()
            except Exception:
                _LOGGER.exception("MQTT sensor supervision failed")

    async def _publish(self, outputs: list[Output]) -> None:
        for out in outputs:
            await self._hub.bus.publish(
                out.event_type,
                out.payload,
                context=Context(actor=f"device:{out.device_id}"),
                site=self._site_id,
            )
            self.published += 1
