"""The Frigate integration: ingest Frigate's MQTT events, send PTZ presets back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from bastion.core import periodic
from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.core.events import EVENT_CAMERA_PTZ, CameraPtzPayload, Event
from bastion.core.ports import CLIP_SOURCES_KEY, clip_source_of, register_clip_source
from bastion.integrations.frigate.clips import FrigateClips
from bastion.integrations.frigate.events import FrigateOutput, FrigateTranslator
from bastion.integrations.frigate.health import CameraHealth
from bastion.integrations.mqtt.connection import BrokerSettings, MqttConnection
from bastion.site.schemas import DeviceType, Site

_LOGGER = logging.getLogger(__name__)


class FrigateConfig(BaseModel):
    """Settings of the Frigate integration."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["frigate"] = Field(
        default="frigate", title="Type", description="Integration type."
    )
    site_id: str = Field(title="Site", description="Site whose cameras Frigate watches.")
    host: str = Field(default="127.0.0.1", title="Host", description="Broker host name.")
    port: int = Field(default=1883, ge=1, le=65535, title="Port", description="Broker port.")
    username: str | None = Field(default=None, title="User", description="Broker user name.")
    password: str | None = Field(default=None, title="Password", description="Broker password.")
    client_id: str = Field(default="bastion-frigate", title="Client id", description="MQTT id.")
    topic_prefix: str = Field(default="frigate", title="Topic prefix", description="Frigate's.")
    cameras: dict[str, str] = Field(
        default_factory=dict,
        title="Cameras",
        description="Frigate camera name → our camera id (default: the same name).",
    )
    zones: dict[str, str] = Field(
        default_factory=dict,
        title="Zones",
        description="Frigate zone name → our zone id (default: same name when we have it).",
    )
    loitering_zones: list[str] = Field(
        default_factory=list,
        title="Loitering zones",
        description="Frigate zones with loitering_time set (e.g. near a secure door).",
    )
    vehicle_zones: list[str] = Field(
        default_factory=list,
        title="Vehicle zones",
        description="Frigate zones where a stationary vehicle is an alarm (restricted areas).",
    )
    stationary_s: float = Field(
        default=30.0, gt=0, title="Stationary for", description="Seconds still before alarm."
    )
    api_url: str | None = Field(
        default=None,
        title="HTTP API",
        description="Frigate's web address (e.g. http://frigate:5000) for recorded clip links.",
    )
    stats_poll_s: float | None = Field(
        default=None,
        gt=0,
        title="Stats poll",
        description="Seconds between reads of /api/stats (besides the MQTT stats topic).",
    )


def verify_mapping(field: str, mapping: dict[str, str], known: set[str], what: str) -> None:
    """Require every Frigate name to map to a {what} of the site model."""
    unknown = sorted(ours for ours in mapping.values() if ours not in known)
    if unknown:
        raise ConfigError(
            f"frigate: {field} maps to {', '.join(map(repr, unknown))}, which the site has no"
            f" {what} called",
            field=field,
        )


class FrigateIntegration:
    """Bridge Frigate's MQTT contract and the bus."""

    domain: ClassVar[str] = "frigate"
    config_model: ClassVar[type[BaseModel]] = FrigateConfig

    def __init__(self) -> None:
        self.translator: FrigateTranslator | None = None
        self.connection: MqttConnection | None = None
        self._hub: Any = None
        self._config: FrigateConfig | None = None
        self._ptz_topics: dict[str, str] = {}
        self._unsubscribe: Any = None
        self.published = 0
        self.ptz_sent: list[tuple[str, str]] = []
        self.clips: FrigateClips | None = None
        self.health: CameraHealth | None = None
        self._poller: asyncio.Task[None] | None = None

    async def setup(self, hub: Any, config: Any) -> None:
        """Connect, subscribe to Frigate's topics and listen for PTZ commands on the bus."""
        sites: dict[str, Site] = hub.extras.get("sites", {})
        site = sites.get(config.site_id)
        if site is None:
            raise ValueError(f"frigate: site {config.site_id!r} is not loaded")
        self._hub, self._config = hub, config
        our_zones = {z.id for z in site.zones}
        our_cameras = {d.id for d in site.devices if d.type is DeviceType.CAMERA}
        verify_mapping("cameras", config.cameras, our_cameras, "camera")
        verify_mapping("zones", config.zones, our_zones, "zone")
        zones = {z: z for z in [*config.loitering_zones, *config.vehicle_zones] if z in our_zones}
        zones.update(config.zones)
        cameras = {camera: camera for camera in our_cameras}
        cameras.update(config.cameras)
        self._ptz_topics = {ours: name for name, ours in cameras.items()}
        self.translator = FrigateTranslator(
            cameras=cameras,
            zones=zones,
            loitering_zones=frozenset(config.loitering_zones),
            vehicle_zones=frozenset(config.vehicle_zones),
            stationary_s=config.stationary_s,
        )
        self.health = CameraHealth(cameras=cameras)
        prefix = config.topic_prefix
        self.connection = MqttConnection(
            BrokerSettings(
                host=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                client_id=config.client_id,
            ),
            [
                f"{prefix}/events",
                f"{prefix}/reviews",
                f"{prefix}/available",
                f"{prefix}/stats",
                f"{prefix}/+/status/+",
            ],
            self.handle,
        )
        self.connection.start()
        self._unsubscribe = hub.bus.subscribe(self.send_ptz, types=[EVENT_CAMERA_PTZ])
        if config.api_url:
            self.clips = FrigateClips(config.api_url, self._ptz_topics)
            register_clip_source(hub.extras, config.site_id, self.clips)
        if config.api_url and config.stats_poll_s:
            self._poller = asyncio.create_task(
                periodic.repeat(
                    config.stats_poll_s, self.poll_stats, logger=_LOGGER, what="frigate stats"
                ),
                name="frigate-stats",
            )

    async def unload(self) -> None:
        """Stop listening and disconnect; stop offering clips."""
        await periodic.cancel(self._poller)
        self._poller = None
        if self.clips is not None and self._config is not None:
            if clip_source_of(self._hub.extras, self._config.site_id) is self.clips:
                del self._hub.extras[CLIP_SOURCES_KEY][self._config.site_id]
            self.clips = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.connection is not None:
            await self.connection.stop()
            self.connection = None

    async def handle(self, topic: str, payload: bytes) -> None:
        """Turn one Frigate message into events."""
        assert self.translator is not None and self._config is not None
        prefix = self._config.topic_prefix
        parts = topic[len(prefix) + 1 :].split("/") if topic.startswith(prefix + "/") else []
        if self.health is not None and len(payload) <= self.translator.max_payload_bytes:
            if len(parts) == 3 and parts[1] == "status":
                word = payload.decode("utf-8", "replace")
                await self._publish(self.health.on_status(parts[0], parts[2], word))
                return
            if parts == ["stats"]:
                await self._publish(self.health.on_stats(payload))
                return
        await self._publish(self.translator.on_message(topic, payload, prefix))

    async def poll_stats(self) -> None:
        """Read Frigate's ``/api/stats`` once; an unreachable or odd answer is one warning."""
        assert self._config is not None and self._config.api_url
        url = f"{self._config.api_url.rstrip('/')}/api/stats"
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.get(url)
            body = reply.json() if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            _LOGGER.warning("frigate stats at %s unreadable: %s", url, type(exc).__name__)
            return
        if body is None:
            _LOGGER.warning("frigate stats at %s answered %s", url, reply.status_code)
            return
        if self.health is not None:
            await self._publish(self.health.on_stats(body))

    async def _publish(self, outputs: list[FrigateOutput]) -> None:
        assert self._config is not None
        for out in outputs:
            await self._hub.bus.publish(
                out.event_type,
                out.payload,
                context=Context(actor="device:frigate"),
                site=self._config.site_id,
            )
            self.published += 1

    async def send_ptz(self, event: Event[Any]) -> None:
        """Publish ``preset_<name>`` on ``<prefix>/<camera>/ptz`` for a ``camera.ptz`` event."""
        payload = event.payload
        if not isinstance(payload, CameraPtzPayload) or self.connection is None:
            return
        assert self._config is not None
        if event.site is not None and event.site != self._config.site_id:
            return
        name = self._ptz_topics.get(payload.camera_id, payload.camera_id)
        topic = f"{self._config.topic_prefix}/{name}/ptz"
        await self.connection.publish(topic, f"preset_{payload.preset}")
        self.ptz_sent.append((topic, payload.preset))
