"""The server anchors the ledger: a checkpoint when it starts and a final one on shutdown."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from bastion.core.events import EVENT_DOOR_FORCED, DoorPayload
from bastion.hub import Hub, open_hub
from bastion.server import run_server
from bastion.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_server_checkpoints_on_start_and_on_shutdown(tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path / "data", checkpoint_dir=tmp_path / "checkpoints", port=_free_port()
    )
    open_hub(settings, migrate=True, create_key=True).close()
    served: list[Hub] = []

    def prepare(hub: Hub) -> None:
        served.append(hub)

        async def publish() -> None:
            await hub.bus.publish(EVENT_DOOR_FORCED, DoorPayload(door_id="vault", state="forced"))

        hub.extras.setdefault("on_start", []).append(publish)

    await run_server(settings, simulate=False, duration=0.5, prepare=prepare)
    [hub] = served
    assert hub.anchor is not None and hub.anchor.stats.checkpoints == 2
    ledger_id = json.loads((tmp_path / "data" / "ledger-signing.key").read_text())["ledger_id"]
    lines = (tmp_path / "checkpoints" / f"{ledger_id}.jsonl").read_text().splitlines()
    seqs = [json.loads(line)["seq"] for line in lines if '"checkpoint"' in line]
    after = open_hub(settings)
    try:
        head = after.ledger.query(limit=1)[0].seq
        forced = after.ledger.query(types=["door.forced"])[0].seq
    finally:
        after.close()
    # The new key's own event when it started; everything, the forced door too, at shutdown.
    assert seqs == [1, head] and forced <= head
