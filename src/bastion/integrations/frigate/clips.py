"""Clip links into Frigate's recordings, for reviews that need video of a time window.

Frigate's HTTP API serves a recorded clip of one camera between two epoch timestamps
at ``/api/<camera>/start/<start>/end/<end>/clip.mp4``, and the clip of one detection event
at ``/api/events/<id>/clip.mp4``; we build those links for our camera ids (mapped to
Frigate's camera names). The console relays event clips (bastion.video.feeds) so the
browser never needs Frigate's address.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote


class FrigateClips:
    """Build clip URLs for the cameras Frigate records (our camera id → Frigate's name)."""

    def __init__(self, api_url: str, names: Mapping[str, str]) -> None:
        self.api_url = api_url.rstrip("/")
        self.names = dict(names)

    def clip_url(self, camera_id: str, start: datetime, end: datetime) -> str | None:
        """Return the clip URL of a camera between two moments, or None if Frigate lacks it."""
        name = self.names.get(camera_id)
        if name is None:
            return None
        first, last = math.floor(start.timestamp()), math.ceil(end.timestamp())
        return f"{self.api_url}/api/{quote(name, safe='')}/start/{first}/end/{last}/clip.mp4"

    def event_clip_url(self, event_id: str) -> str:
        """Return the URL of the recorded clip of one Frigate detection event."""
        return f"{self.api_url}/api/events/{quote(event_id, safe='')}/clip.mp4"
