"""An optional Metrc REST client: pull list endpoints in 24-hour windows into the importer.

HTTP Basic with the software (vendor) key as user name and the user key as password;
``licenseNumber`` on every call; ``lastModifiedStart``/``lastModifiedEnd`` windows of at
most 24 hours (what integrators report Metrc accepts); ``pageNumber``/``pageSize`` (≤ 20)
paging; HTTP 429 answered by waiting (``Retry-After`` when given, else doubling) and
trying again. Each window's pages are merged into one v2 envelope and imported all or
nothing, so a window either lands whole or is kept as refused records for review.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bastion.core.context import Context
from bastion.core.errors import BastionError
from bastion.hub import Hub
from bastion.inventory import imports, metrc
from bastion.site.schemas import Site

ENDPOINTS = {
    "packages": "/packages/v2/active",
    "plants": "/plants/v2/vegetative",
    "harvests": "/harvests/v2/active",
    "transfers": "/transfers/v2/incoming",
    "receipts": "/sales/v2/receipts/active",
}
PAGE_SIZE = 20
WINDOW = timedelta(hours=24)


class SyncError(BastionError):
    """The state system could not be read (refused keys, repeated throttling, bad replies)."""

    status_code = 502
    title = "State system unavailable"


@dataclass(frozen=True)
class Credentials:
    """The integrator's (vendor) key and the facility user's key; never logged."""

    vendor_key: str
    user_key: str

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


def windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Yield consecutive windows of at most 24 hours covering [start, end)."""
    if end <= start:
        return
    cursor = start
    while cursor < end:
        stop = min(cursor + WINDOW, end)
        yield cursor, stop
        cursor = stop


class MetrcClient:
    """Read Metrc v2 list endpoints for one facility licence."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        license_no: str,
        *,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.license_no = license_no
        self.max_retries = max_retries
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=(credentials.vendor_key, credentials.user_key),
            timeout=timeout,
        )
        self.throttled = 0

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        delay = 1.0
        for _attempt in range(self.max_retries + 1):
            try:
                reply = self.http.get(path, params=params)
            except httpx.HTTPError as exc:
                raise SyncError(f"the state system did not answer: {exc}") from None
            if reply.status_code == 429:
                self.throttled += 1
                wait = reply.headers.get("Retry-After")
                self.sleep(float(wait) if wait and wait.replace(".", "", 1).isdigit() else delay)
                delay = min(delay * 2, 60.0)
                continue
            if reply.status_code in (401, 403):
                raise SyncError(
                    "the state system refused the API keys (check vendor and user keys)"
                )
            if reply.status_code >= 400:
                raise SyncError(f"the state system answered {reply.status_code} for {path}")
            try:
                body = reply.json()
            except json.JSONDecodeError:
                raise SyncError(f"the state system's reply to {path} is not JSON") from None
            if not isinstance(body, dict) or not isinstance(body.get("Data"), list):
                raise SyncError(f"the reply to {path} is not a v2 list response")
            return body
        raise SyncError(f"the state system kept throttling {path} (HTTP 429)")

    def window(self, kind: str, start: datetime, end: datetime) -> bytes:
        """Return every page of one endpoint for one window, merged into one v2 envelope."""
        path = ENDPOINTS[kind]
        data: list[Any] = []
        page = 1
        while True:
            body = self._get(
                path,
                {
                    "licenseNumber": self.license_no,
                    "lastModifiedStart": start.isoformat(),
                    "lastModifiedEnd": end.isoformat(),
                    "pageNumber": page,
                    "pageSize": PAGE_SIZE,
                },
            )
            data.extend(body["Data"])
            pages = int(body.get("TotalPages") or 1)
            if page >= pages or not body["Data"]:
                break
            page += 1
        n = len(data)
        merged = {
            "Data": data,
            "Total": n,
            "TotalRecords": n,
            "PageSize": n,
            "RecordsOnPage": n,
            "Page": 1,
            "CurrentPage": 1,
            "TotalPages": 1,
        }
        return json.dumps(merged).encode()


def pull(
    hub: Hub,
    *,
    site: Site,
    client: MetrcClient,
    kind: str,
    start: datetime,
    end: datetime,
    context: Context,
) -> list[imports.Result]:
    """Import one endpoint window by window (each window all or nothing); return the outcomes.

    An accepted window, even an empty one, is a successful exchange for the freshness check.
    """
    if kind not in ENDPOINTS:
        raise SyncError(f"kind: one of {', '.join(ENDPOINTS)}")
    results = []
    for first, last in windows(start, end):
        data = client.window(kind, first, last)
        with hub.unit_of_work() as session:
            results.append(
                metrc.import_file(
                    session,
                    site=site,
                    kind=kind,
                    data=data,
                    license_no=client.license_no,
                    context=context,
                    now=hub.clock.now(),
                    filename=f"{kind}-{first:%Y%m%dT%H%M}.json",
                )
            )
    return results
