"""The Metrc REST client against a local stand-in serving recorded, real-shaped responses."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from bastion.inventory import sync
from bastion.inventory.models import InvImport, InvPackage
from tests.inventory.conftest import CTX

SAMPLES = Path(__file__).parent / "samples"
LICENSE = "IL-DISP-0000-EXAMPLE"
KEYS = sync.Credentials("vendor-key", "user-key")


class StandIn:
    """What the stand-in saw, and how it should behave."""

    def __init__(self) -> None:
        self.requests: list[dict[str, list[str]]] = []
        self.throttle_first = True
        self.page_size = 3


@pytest.fixture
def stand_in() -> Iterator[tuple[str, StandIn]]:
    state = StandIn()
    records = json.loads((SAMPLES / "metrc_packages.json").read_bytes())["Data"]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.requests.append(query)
            expected = "Basic " + base64.b64encode(b"vendor-key:user-key").decode()
            if self.headers.get("Authorization") != expected:
                return self._send(401, {"Message": "Authorization has been denied"})
            if state.throttle_first:
                state.throttle_first = False
                return self._send(429, {"Message": "Too many requests"}, {"Retry-After": "0"})
            start = datetime.fromisoformat(query["lastModifiedStart"][0])
            end = datetime.fromisoformat(query["lastModifiedEnd"][0])
            if end - start > timedelta(hours=24) or int(query["pageSize"][0]) > 20:
                return self._send(400, {"Message": "window over 24 hours or page over 20"})
            data = records if start.day == 15 else []
            page = int(query["pageNumber"][0])
            size = state.page_size
            pages = max(1, -(-len(data) // size))
            chunk = data[(page - 1) * size : page * size]
            self._send(
                200,
                {
                    "Data": chunk,
                    "Total": len(data),
                    "TotalRecords": len(data),
                    "PageSize": size,
                    "RecordsOnPage": len(chunk),
                    "Page": page,
                    "CurrentPage": page,
                    "TotalPages": pages,
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()
    server.server_close()


def test_windows_are_24_hours_at_most():
    start = datetime(2025, 1, 14, 6)
    spans = list(sync.windows(start, start + timedelta(hours=50)))
    assert len(spans) == 3 and all(b - a <= timedelta(hours=24) for a, b in spans)
    assert spans[-1][1] == start + timedelta(hours=50)


def test_a_two_day_pull_pages_backs_off_and_imports_each_window(site_hub, shop, clock, stand_in):
    url, state = stand_in
    slept: list[float] = []
    client = sync.MetrcClient(url, KEYS, LICENSE, sleep=slept.append)
    start = datetime.fromisoformat("2025-01-14T00:00:00+00:00")
    try:
        results = sync.pull(
            site_hub,
            site=shop.site,
            client=client,
            kind="packages",
            start=start,
            end=start + timedelta(days=2),
            context=CTX,
        )
    finally:
        client.close()
    assert [r.status for r in results] == ["accepted", "accepted"]
    assert [r.accepted for r in results] == [0, 4]
    assert client.throttled == 1 and slept == [0.0]
    assert all(q["licenseNumber"] == [LICENSE] for q in state.requests)
    assert sorted(
        int(q["pageNumber"][0])
        for q in state.requests
        if q["lastModifiedStart"][0].startswith("2025-01-15")
    ) == [1, 2]
    with site_hub.db.sessions() as session:
        assert session.query(InvPackage).count() == 4
        assert session.query(InvImport).filter_by(status="accepted").count() == 2


def test_wrong_keys_are_a_plain_error(site_hub, shop, stand_in):
    url, state = stand_in
    state.throttle_first = False
    client = sync.MetrcClient(
        url, sync.Credentials("vendor-key", "wrong"), LICENSE, sleep=lambda s: None
    )
    with pytest.raises(sync.SyncError, match="refused the API keys"):
        client.window("packages", datetime(2025, 1, 15), datetime(2025, 1, 16))
    client.close()
    assert "wrong" not in repr(sync.Credentials("vendor-key", "wrong"))
