"""A local stand-in for Frigate's HTTP API (recordings, latest.jpg, stats) and a segment folder.

The stand-in serves Frigate-shaped JSON on a real socket; ``mode`` makes it misbehave
(garbage, a list of junk, a slow answer, an error status). The segment folder holds real
short clips cut from the shared footage with OpenCV, one of them missing and one corrupt.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import cv2
import pytest

from tests.maintenance import frames as footage


@dataclass
class FrigateStandIn:
    """What the stand-in serves and what it was asked."""

    url: str = ""
    mode: str = "ok"
    gap: tuple[float, float] | None = None
    snapshot: bytes = b""
    paths: list[str] = field(default_factory=list)

    def recordings(self, after: float, before: float) -> list[dict[str, Any]]:
        out = []
        start = after - after % 10
        while start < before:
            end = start + 10
            if not (self.gap and start < self.gap[1] and end > self.gap[0]):
                out.append(
                    {
                        "id": f"{start:.0f}-x",
                        "start_time": start,
                        "end_time": end,
                        "duration": 10,
                        "motion": 0,
                        "objects": 0,
                        "segment_size": 1.2,
                    }
                )
            start = end
        return out


@pytest.fixture
def frigate() -> Iterator[FrigateStandIn]:
    standin = FrigateStandIn()
    _, jpeg = cv2.imencode(".jpg", footage.frames()[2])
    standin.snapshot = jpeg.tobytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            standin.paths.append(self.path)
            url = urlparse(self.path)
            parts = url.path.strip("/").split("/")
            body: bytes
            kind, status = "application/json", 200
            if standin.mode == "slow":
                time.sleep(1.5)
            if standin.mode == "error":
                status, body = 500, b'{"message": "internal error"}'
            elif len(parts) == 3 and parts[2] == "recordings":
                query = parse_qs(url.query)
                after, before = float(query["after"][0]), float(query["before"][0])
                if standin.mode == "garbage":
                    body = b"<html>Bad Gateway</html>"
                elif standin.mode == "junk":
                    body = json.dumps([{"start_time": "x"}, 5, {"end_time": 3}]).encode()
                else:
                    body = json.dumps(standin.recordings(after, before)).encode()
            elif len(parts) == 3 and parts[2] == "latest.jpg":
                kind, body = "image/jpeg", standin.snapshot
            else:
                status, body = 404, b'{"message": "not found"}'
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield standin
    server.shutdown()
    server.server_close()
    thread.join(10)


def cut_segments(
    folder: Path,
    camera: str,
    start: datetime,
    count: int,
    seconds: int = 2,
    *,
    skip: int | None = None,
) -> list[Path]:
    """Write ``count`` real clips of ``seconds`` each from the footage, back to back."""
    capture = cv2.VideoCapture(str(footage.FOOTAGE))
    fps = 10
    written = []
    target = folder / camera
    target.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        began = start + timedelta(seconds=index * seconds)
        frames = []
        for _ in range(fps * seconds):
            ok, frame = capture.read()
            assert ok
            frames.append(cv2.resize(frame, (320, 240)))
        if index == skip:
            continue
        path = target / f"{began:%Y%m%dT%H%M%S}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (320, 240))
        for frame in frames:
            writer.write(frame)
        writer.release()
        written.append(path)
    capture.release()
    return written
