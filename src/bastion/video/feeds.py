"""Camera pictures for the console, fetched by the server from the camera or Frigate.

The browser only ever loads ``/api/sites/<site>/video/cameras/<camera>/…`` from Bastion:
the camera's own address (often with a password in it) stays on the server, and a camera
that does not answer within a couple of seconds becomes a plain "not answering" error
instead of a hung page. Still pictures come from ``snapshot_url`` (e.g. Frigate's
``/api/<camera>/latest.jpg``), live video from an MJPEG ``stream_url`` relayed as it
arrives, and recorded clips of a Frigate event from ``/api/events/<id>/clip.mp4`` of the
Frigate instance that serves the site.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import httpx

from bastion.core.errors import IntegrationError, NotFound
from bastion.site.schemas import Device, DeviceType, Site

SNAPSHOT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
"""A still picture that takes longer than this is of no use to an operator working an alarm."""
STREAM_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
"""Connect fast; a live stream may pause a few seconds between frames."""
MAX_PICTURE_BYTES = 8 * 1024 * 1024
MAX_STREAM_BYTES = 512 * 1024 * 1024
"""A relayed live view ends after this much (the page reloads it if still open)."""
EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CameraNotAnswering(IntegrationError):
    """The camera (or Frigate) did not answer in time or sent something unusable."""


@runtime_checkable
class EventClips(Protocol):
    """A recorder that serves a recorded clip per detection event (Frigate does)."""

    def event_clip_url(self, event_id: str) -> str | None:
        """Return the recorder's URL of the event's clip, or None."""


@dataclass(frozen=True)
class CameraFeed:
    """What the console may show of one camera, as Bastion's own (proxied) addresses."""

    camera_id: str
    name: str
    picture_url: str | None
    live_url: str | None

    @property
    def shown(self) -> str | None:
        """The address an ``<img>`` loads: the still picture, else the live MJPEG view."""
        return self.picture_url or self.live_url


def is_hls(url: str) -> bool:
    """Tell an HLS playlist from an MJPEG stream by its path."""
    return urlsplit(url).path.lower().endswith(".m3u8")


def feed_of(site_id: str, device: Device) -> CameraFeed | None:
    """Return the proxied addresses of a camera with a picture source, else None."""
    if device.type is not DeviceType.CAMERA or not (device.snapshot_url or device.stream_url):
        return None
    base = f"/api/sites/{quote(site_id)}/video/cameras/{quote(device.id)}"
    live = device.stream_url and not is_hls(device.stream_url)
    return CameraFeed(
        camera_id=device.id,
        name=device.name or device.id,
        picture_url=f"{base}/picture" if device.snapshot_url else None,
        live_url=f"{base}/live" if live else None,
    )


def camera_feeds(site: Site | None) -> dict[str, CameraFeed]:
    """Return camera id → feed for every camera of ``site`` that has a picture source."""
    if site is None:
        return {}
    feeds = (feed_of(site.site.id, d) for d in site.devices)
    return {f.camera_id: f for f in feeds if f is not None}


def camera_of(site: Site, camera_id: str) -> Device:
    """Return the camera ``camera_id`` of ``site`` (404 when the site has no such camera)."""
    for device in site.devices:
        if device.id == camera_id and device.type is DeviceType.CAMERA:
            return device
    raise NotFound(f"{site.site.name} has no camera {camera_id!r}")


def _down(name: str, why: str) -> CameraNotAnswering:
    return CameraNotAnswering(f"Camera {name} is not answering ({why}).")


async def fetch_picture(device: Device) -> tuple[bytes, str]:
    """Fetch the camera's still picture; return its bytes and media type."""
    name = device.name or device.id
    if not device.snapshot_url:
        raise NotFound(f"camera {name} has no snapshot address")
    try:
        async with (
            httpx.AsyncClient(timeout=SNAPSHOT_TIMEOUT) as client,
            client.stream("GET", device.snapshot_url) as reply,
        ):
            kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
            if reply.status_code != 200:
                raise _down(name, f"it answered {reply.status_code}")
            if not kind.startswith("image/") or kind == "image/svg+xml":
                raise _down(name, "it sent something that is not a picture")
            body = bytearray()
            async for chunk in reply.aiter_bytes():
                body += chunk
                if len(body) > MAX_PICTURE_BYTES:
                    raise _down(name, "the picture is too large")
    except httpx.TimeoutException as exc:
        raise _down(name, "no answer in time") from exc
    except httpx.HTTPError as exc:
        raise _down(name, "no connection") from exc
    if not body:
        raise _down(name, "the picture was empty")
    return bytes(body), kind


@dataclass
class Relay:
    """An upstream answer being passed on: its status, headers and body chunks."""

    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]


async def open_relay(
    url: str,
    name: str,
    *,
    accept: tuple[str, ...],
    request_headers: Mapping[str, str] | None = None,
    limit: int = MAX_STREAM_BYTES,
) -> Relay:
    """Open ``url`` and return its answer to relay chunk by chunk (closed at the end).

    Only answers whose media type starts with one of ``accept`` are passed on; the
    connection is closed when the body ends, the client leaves, or ``limit`` bytes passed.
    """
    client = httpx.AsyncClient(timeout=STREAM_TIMEOUT)
    try:
        request = client.build_request("GET", url, headers=dict(request_headers or {}))
        reply = await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        await client.aclose()
        raise _down(name, "no answer in time") from exc
    except httpx.HTTPError as exc:
        await client.aclose()
        raise _down(name, "no connection") from exc
    kind = reply.headers.get("content-type", "").lower()
    if reply.status_code == 404:
        await reply.aclose()
        await client.aclose()
        raise NotFound(f"{name} has no such recording")
    if reply.status_code not in (200, 206) or not kind.startswith(accept):
        await reply.aclose()
        await client.aclose()
        raise _down(name, f"it answered {reply.status_code} {kind or 'without a type'}")

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in reply.aiter_raw():
                sent += len(chunk)
                yield chunk
                if sent >= limit:
                    break
        except httpx.HTTPError:
            return  # the camera went away mid-stream: end the relay quietly
        finally:
            await reply.aclose()
            await client.aclose()

    passed = (
        "content-type",
        "content-length",
        "content-range",
        "accept-ranges",
        "content-encoding",
    )
    headers = {k: v for k, v in reply.headers.items() if k.lower() in passed}
    headers["cache-control"] = "no-store"
    return Relay(reply.status_code, headers, body())


def event_clip_address(recorder: object, event_id: str) -> str | None:
    """Return the recorder's clip URL of a detection event, when it serves event clips."""
    if not EVENT_ID.match(event_id) or not isinstance(recorder, EventClips):
        return None
    return recorder.event_clip_url(event_id)
