"""The decision pump: a batch the ledger refuses is retried, never dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bastion.access.runtime import start_access, stop_access
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, Event
from bastion.core.ports import Presentation, PresentationKind
from bastion.site import service as site_service
from bastion.site.loader import load_site
from bastion.store.ledger import Ledger
from tests.access.conftest import SITE_YAML


class RefusingSink:
    """The real ledger behind a disk that refuses the first ``refusals`` appends."""

    def __init__(self, ledger: Ledger, refusals: int) -> None:
        self.ledger = ledger
        self.refusals = refusals

    async def append(self, events: Sequence[Event[Any]]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise OSError("No space left on device")
        await self.ledger.append(events)


async def test_refused_decisions_are_retried_in_order_not_dropped(hub):
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session,
            site=load_site(SITE_YAML, source="t"),
            context=Context(actor="test"),
            now=hub.clock.now(),
        )
    hub.bus.sink = RefusingSink(hub.ledger, refusals=2)
    engine = start_access(hub)
    tags = [f"card-{i:04d}" for i in range(40)]
    for tag in tags:
        engine.decide(
            Presentation(
                door_id="front", reader_id="front-in", kind=PresentationKind.CARD, card_hash=tag
            )
        )

    def written() -> list[Any]:
        return hub.ledger.query(types=[EVENT_ACCESS_DECISION.name], newest_first=False, limit=100)

    deadline = asyncio.get_running_loop().time() + 60
    while len(written()) < len(tags):
        assert asyncio.get_running_loop().time() < deadline, f"{len(written())} written"
        await asyncio.sleep(0.05)
    rows = written()
    assert [r.payload.count(f'"unknown:{t}"') for r, t in zip(rows, tags, strict=True)] == [1] * 40
    assert hub.bus.sink.refusals == 0
    await stop_access(hub)
    await hub.bus.close()
