"""A real HTTP camera stand-in on a loopback port: JPEG stills, an MJPEG stream, Frigate clips.

It answers the paths a camera or Frigate would (``/api/<camera>/latest.jpg``,
``/api/events/<id>/clip.mp4``, ``/mjpeg``) from a thread of ``http.server``, with
HTTP Basic credentials like a real camera, and records what it was asked, so tests prove
Bastion's proxy fetched it (and the browser did not).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

USER, PASSWORD = "viewer", "s3cret-cam"
BOUNDARY = "frame"


def jpeg(text: str, colour: tuple[int, int, int] = (40, 90, 60)) -> bytes:
    """Return a real 320×180 JPEG showing ``text`` (so screenshots show a picture)."""
    image = np.zeros((180, 320, 3), np.uint8)
    image[:] = colour
    cv2.rectangle(image, (110, 50), (210, 150), (200, 200, 200), 2)
    cv2.putText(image, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data)


CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
"""Bytes served as an event clip (an mp4 header and filler; only the bytes are compared)."""


@dataclass
class StandIn:
    """The running stand-in: its base URL (with credentials) and the paths it served."""

    port: int
    still: bytes
    frames: list[bytes]
    asked: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The camera's address as a site model would hold it, password included."""
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def plain(self) -> str:
        """The address without credentials (what Frigate's api_url usually is)."""
        return f"http://127.0.0.1:{self.port}"


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Stay quiet in test output."""

        def _send(self, status: int, kind: str, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            standin.asked.append(self.path)
            if self.path.startswith("/api/events/"):
                self._clip()
                return
            if self.headers.get("Authorization") != expected:
                self._send(401, "text/plain", b"who are you?", WWW_Authenticate='Basic realm="cam"')
                return
            if self.path == "/api/front/latest.jpg":
                self._send(200, "image/jpeg", standin.still)
            elif self.path == "/slow.jpg":
                time.sleep(2.0)
                self._send(200, "image/jpeg", standin.still)
            elif self.path == "/page.html":
                self._send(200, "text/html", b"<html>login</html>")
            elif self.path == "/mjpeg":
                self._mjpeg()
            else:
                self._send(404, "text/plain", b"no such path")

        def _mjpeg(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            for frame in standin.frames:
                part = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(frame)}\r\n\r\n"
                ).encode()
                self.wfile.write(part + frame + b"\r\n")
                self.wfile.flush()
                time.sleep(0.05)

        def _clip(self) -> None:
            if self.path != "/api/events/1733212800.5-abc123/clip.mp4":
                self._send(404, "application/json", b'{"message":"Event not found"}')
                return
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes=") and wanted.endswith("-"):
                start = int(wanted[6:-1])
                part = CLIP[start:]
                self._send(
                    206,
                    "video/mp4",
                    part,
                    Content_Range=f"bytes {start}-{len(CLIP) - 1}/{len(CLIP)}",
                    Accept_Ranges="bytes",
                )
                return
            self._send(200, "video/mp4", CLIP, Accept_Ranges="bytes")

    return Handler


@contextmanager
def camera_standin() -> Iterator[StandIn]:
    """Serve the stand-in on a free loopback port for the duration of the block."""
    standin = StandIn(
        port=0,
        still=jpeg("FRONT 1"),
        frames=[jpeg(f"LIVE {n}", (90, 40, 40)) for n in range(3)],
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
