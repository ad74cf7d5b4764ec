"""Parallel clients writing through a real HTTP server never see a server error."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from bastion.api.app import create_app
from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.hub import Hub
from tests.conftest import MakeAccount
from tests.live_server import serve

WRITES_PER_CLIENT = 15


def _token(hub: Hub, make_account: MakeAccount) -> str:
    account = make_account("writer", Role.ADMIN)
    with hub.db.unit_of_work() as session:
        user = session.get(User, account.id)
        assert user is not None
        return auth_service.create_api_token(
            session=session,
            owner=user,
            name="load",
            role=Role.ADMIN,
            clock=hub.clock,
            context=Context(actor="test"),
        ).token


def _writer(
    url: str, token: str, client_no: int, start: threading.Barrier, out: Counter[int]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        start.wait()
        for i in range(WRITES_PER_CLIENT):
            try:
                created, changed = _create_and_change(client, client_no, i)
            except httpx.HTTPError:
                out[0] += 1  # the server dropped the connection: as bad as a 5xx
                continue
            out[created.status_code] += 1
            if changed is not None:
                out[changed.status_code] += 1


def _create_and_change(
    client: httpx.Client, client_no: int, i: int
) -> tuple[httpx.Response, httpx.Response | None]:
    created = client.post(
        "/api/notify/contacts",
        json={
            "name": f"Contact {client_no}-{i}",
            "channels": [{"kind": "webhook", "url": "json://127.0.0.1:9/hook"}],
        },
    )
    if created.status_code != 201:
        return created, None
    changed = client.patch(
        f"/api/notify/contacts/{created.json()['id']}", json={"role": f"shift {i}"}
    )
    return created, changed


@pytest.mark.parametrize("clients", [2, 8])
def test_parallel_writers_get_no_server_error(
    hub: Hub, make_account: MakeAccount, clients: int
) -> None:
    token = _token(hub, make_account)
    per_client: list[Counter[int]] = [Counter() for _ in range(clients)]
    start = threading.Barrier(clients)
    with serve(create_app(hub)) as url:
        threads = [
            threading.Thread(target=_writer, args=(url, token, n, start, per_client[n]))
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        listed = httpx.get(
            f"{url}/api/notify/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
    statuses = sum(per_client, Counter())
    errors = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    assert errors == 0, dict(statuses)
    assert statuses == Counter({201: clients * WRITES_PER_CLIENT, 200: clients * WRITES_PER_CLIENT})
    assert len(listed.json()) == clients * WRITES_PER_CLIENT
    assert hub.ledger.verify().ok
