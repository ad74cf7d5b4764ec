"""Listen to the faces Frigate recognises and publish them as ``video.face`` events.

Kept apart from the Frigate alarm integration (its own MQTT client on the same broker),
so either runs without the other. A face-library name becomes a person only through the
site's biometric enrolments (looked up by keyed hash in the video domain); a name nobody
enrolled is still published, without a person, so a stranger at a vault door is a
mismatch and not a silent pass. Only a keyed hash of the name is published.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.core.context import Context
from bastion.core.events import EVENT_FACE_SEEN, FaceSeenPayload
from bastion.integrations.mqtt.connection import BrokerSettings, MqttConnection
from bastion.integrations.payloads import BadPayload, loads
from bastion.site.schemas import DeviceType, Site

_LOGGER = logging.getLogger(__name__)
MAX_PAYLOAD = 65536
MAX_NAME = 100
NOT_RECOGNISED = frozenset({"unknown", "none", ""})


class FrigateFacesConfig(BaseModel):
    """Settings of the Frigate face listener."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["frigate_faces"] = Field(
        default="frigate_faces", title="Type", description="Integration type."
    )
    site_id: str = Field(title="Site", description="Site whose door cameras Frigate watches.")
    host: str = Field(default="127.0.0.1", title="Host", description="Broker host name.")
    port: int = Field(default=1883, ge=1, le=65535, title="Port", description="Broker port.")
    username: str | None = Field(default=None, title="User", description="Broker user name.")
    password: str | None = Field(default=None, title="Password", description="Broker password.")
    client_id: str = Field(
        default="bastion-frigate-faces", title="Client id", description="MQTT id."
    )
    topic_prefix: str = Field(default="frigate", title="Topic prefix", description="Frigate's.")
    cameras: dict[str, str] = Field(
        default_factory=dict,
        title="Cameras",
        description="Frigate camera name → our camera id (default: the same name).",
    )


class FrigateFacesIntegration:
    """Bridge Frigate's face recognition and the bus."""

    domain: ClassVar[str] = "frigate_faces"
    config_model: ClassVar[type[BaseModel]] = FrigateFacesConfig

    def __init__(self) -> None:
        self.connection: MqttConnection | None = None
        self._hub: Any = None
        self._config: FrigateFacesConfig | None = None
        self._cameras: dict[str, str] = {}
        self.published = 0
        self.rejected = 0

    async def setup(self, hub: Any, config: Any) -> None:
        """Connect and subscribe to Frigate's face-bearing topics."""
        sites: dict[str, Site] = hub.extras.get("sites", {})
        site = sites.get(config.site_id)
        if site is None:
            raise ValueError(f"frigate_faces: site {config.site_id!r} is not loaded")
        ours = {d.id for d in site.devices if d.type is DeviceType.CAMERA}
        unknown = sorted(c for c in config.cameras.values() if c not in ours)
        if unknown:
            raise ValueError(f"frigate_faces: cameras {unknown} are not cameras of the site")
        self._hub, self._config = hub, config
        self._cameras = {c: c for c in ours} | dict(config.cameras)
        prefix = config.topic_prefix
        self.connection = MqttConnection(
            BrokerSettings(
                host=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                client_id=config.client_id,
            ),
            [f"{prefix}/tracked_object_update", f"{prefix}/events"],
            self.handle,
        )
        self.connection.start()

    async def unload(self) -> None:
        """Disconnect."""
        if self.connection is not None:
            await self.connection.stop()
            self.connection = None

    async def handle(self, topic: str, payload: bytes) -> None:
        """Publish the face in one message, if it has one; bad input is counted and dropped."""
        assert self._config is not None
        prefix = self._config.topic_prefix
        sub = topic[len(prefix) + 1 :] if topic.startswith(prefix + "/") else topic
        if len(payload) > MAX_PAYLOAD:
            self.rejected += 1
            return
        try:
            face = parse_frigate_face(sub, payload)
        except BadPayload as exc:
            self.rejected += 1
            _LOGGER.warning("bad JSON on %s (%s); dropped", topic, exc)
            return
        if face is None:
            return
        camera = self._cameras.get(face.camera)
        if camera is None:
            self.rejected += 1
            return
        # Only a keyed hash of the library name leaves here; the video domain maps it to a person.
        key = self._hub.hash_credential(f"face:{face.name}", purpose="biometric")
        site_id = self._config.site_id
        await self._hub.bus.publish(
            EVENT_FACE_SEEN,
            FaceSeenPayload(camera_id=camera, face_key=key, score=face.score, source="frigate"),
            context=Context(actor="device:frigate"),
            site=site_id,
        )
        self.published += 1


@dataclass(frozen=True)
class FrigateFace:
    """A face Frigate recognised: camera name, library name, score, time."""

    camera: str
    name: str
    score: float
    t: float | None


def parse_frigate_face(sub: str, payload: bytes) -> FrigateFace | None:
    """Return the face in a ``tracked_object_update`` or ``events`` message, else None.

    Raises :class:`BadPayload` for malformed JSON; other shapes are simply not faces.
    """
    message = loads(payload)
    if not isinstance(message, dict):
        raise BadPayload("not a JSON object")
    if sub == "tracked_object_update":
        if message.get("type") != "face":
            return None
        return _face(
            message.get("camera"),
            message.get("name"),
            message.get("score"),
            message.get("timestamp"),
        )
    if sub == "events":
        after = message.get("after")
        if not isinstance(after, dict):
            return None
        label = after.get("sub_label")
        if not isinstance(label, list | tuple) or len(label) != 2:
            return None  # older Frigate sends a bare name without a score: not enough here
        return _face(after.get("camera"), label[0], label[1], after.get("frame_time"))
    return None


def _face(camera: Any, name: Any, score: Any, t: Any) -> FrigateFace | None:
    if not isinstance(camera, str) or not isinstance(name, str):
        return None
    if not name.strip() or len(name) > MAX_NAME or len(camera) > MAX_NAME:
        return None
    if name.strip().lower() in NOT_RECOGNISED:
        return None  # a face seen but not recognised proves nothing either way
    if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
        return None
    when = float(t) if isinstance(t, int | float) and math.isfinite(t) else None
    return FrigateFace(camera, name.strip(), max(0.0, min(1.0, float(score))), when)
