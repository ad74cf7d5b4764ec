"""The cash store fixture, shared by name, and a local HTTP server that records requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.cash import conftest as cash_fixtures

store = cash_fixtures.store


@dataclass
class Recorded:
    """What the local server saw, and its address."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def http_server() -> Iterator[Recorded]:
    """Serve POSTs (recording their JSON) and Frigate-style clip GETs on a free port."""
    seen = Recorded(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            seen.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            seen.paths.append(self.path)
            parts = self.path.strip("/").split("/")
            ok = (
                len(parts) == 7
                and parts[0] == "api"
                and parts[2] == "start"
                and parts[4] == "end"
                and parts[6] == "clip.mp4"
                and float(parts[3]) < float(parts[5])
            )
            body = b"\x00\x00\x00\x18ftypmp42" if ok else b"not found"
            self.send_response(200 if ok else 404)
            self.send_header("content-type", "video/mp4" if ok else "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()
    thread.join(10)
