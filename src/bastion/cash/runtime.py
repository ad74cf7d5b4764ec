"""The running cash domain: the POS sink on the hub, the periodic checks, the robbery count.

:class:`CashRuntime` takes POS batches from adapters (``hub.extras['pos_sink']``) and
ingests each in one unit of work off the event loop. Its tick, on the hub's clock,
raises the alarm for tills left over their limit, climbs the variance ladder, chases
unconfirmed deposits, brings a pickup forward when the vault is too full, and judges
live drawer openings whose match window has passed. A real armed-robbery run starts
the dual counts of every container.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bastion.cash import counts, exceptions, pickups, playbook, pos, tills
from bastion.cash import settings as cash_settings
from bastion.core.context import Context
from bastion.core.errors import NotFound
from bastion.core.events import EVENT_PLAYBOOK_RUN, Event, PlaybookRunPayload
from bastion.core.periodic import cancel, repeat
from bastion.core.ports import (
    POS_SINK_KEY,
    ClipSource,
    PosIngestReport,
    PosRecord,
    PosReject,
    clip_source_of,
)
from bastion.hub import Hub, work_in_thread
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
EXTRAS_KEY = "cash"
CUSTOMER_PURPOSE = "pos-customer"
CUSTOMER_CACHE = 65_536


def customer_key(hub: Hub) -> Callable[[str], int]:
    """Return the keyed hash (a 60-bit integer) that groups a customer's cash without the id.

    Keyed BLAKE2b (a MAC in one C call) with a key derived from the site's key ring, so a
    year of transactions costs microseconds per customer id and the id is never stored.
    """
    secret = bytes.fromhex(hub.hash_credential("customer-grouping", purpose=CUSTOMER_PURPOSE))

    # A store sees the same regulars all year: remember recent codes (keyed hashes, in
    # memory only) instead of hashing each id again in every batch.
    @functools.lru_cache(maxsize=CUSTOMER_CACHE)
    def key(value: str) -> int:
        digest = hashlib.blake2b(value.encode(), key=secret, digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 4  # 60 bits: a positive 64-bit integer

    return key


def clips_for(hub: Hub, site_id: str) -> ClipSource | None:
    """Return the recorder offering clips for a site, if one is registered."""
    return clip_source_of(hub.extras, site_id)


class CashRuntime:
    """Ingest POS batches and run the cash domain's periodic checks for one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.ticks = 0

    @property
    def sites(self) -> dict[str, Site]:
        """Return the sites loaded on the hub."""
        loaded: dict[str, Site] = self.hub.extras.get("sites", {})
        return loaded

    async def start(self, *, tick_s: float | None = 30.0) -> None:
        """Offer the POS sink, follow playbook runs and start the tick. Must run in the loop."""
        self.hub.extras[POS_SINK_KEY] = self
        self._unsubscribe = self.hub.bus.subscribe(self.handle, types=[EVENT_PLAYBOOK_RUN])
        if tick_s:
            self._ticker = asyncio.create_task(
                repeat(tick_s, self.tick, logger=_LOGGER, what="cash tick"), name="cash-tick"
            )

    async def stop(self) -> None:
        """Stop the tick and the subscription."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel(self._ticker)
        self._ticker = None
        if self.hub.extras.get(POS_SINK_KEY) is self:
            del self.hub.extras[POS_SINK_KEY]

    async def work(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a worker thread inside one unit of work; deliver its events after."""
        return await work_in_thread(self.hub, fn)

    def _site(self, site_id: str) -> Site:
        site = self.sites.get(site_id)
        if site is None:
            raise NotFound(f"site {site_id!r} is not loaded")
        return site

    async def ingest(
        self,
        site_id: str,
        records: Sequence[PosRecord],
        rejects: Sequence[PosReject],
        *,
        source: str,
        context: Context,
    ) -> PosIngestReport:
        """Ingest one POS batch for a site (the :class:`~bastion.core.ports.PosSink` port)."""
        site = self._site(site_id)
        now = self.hub.clock.now()
        key = customer_key(self.hub)
        clips = clips_for(self.hub, site_id)

        def run(session: Session) -> pos.IngestResult:
            return pos.ingest(
                session=session,
                site=site,
                records=records,
                rejects=rejects,
                source=source,
                context=context,
                now=now,
                settings=cash_settings.load(session=session, site_id=site_id),
                customer_key=key,
                clips=clips,
            )

        result = await self.work(run)
        return PosIngestReport(
            result.batch_id, result.accepted, result.duplicates, result.rejected, result.exceptions
        )

    async def tick(self) -> None:
        """Run every periodic check for every loaded site. Must run in the event loop."""
        now = self.hub.clock.now()
        context = Context(actor="cash")
        for site in list(self.sites.values()):
            clips = clips_for(self.hub, site.site.id)

            def check(session: Session, site: Site = site, clips: Any = clips) -> None:
                settings = cash_settings.load(session=session, site_id=site.site.id)
                tills.overdue_drops(
                    session=session, site=site, settings=settings, context=context, now=now
                )
                counts.escalate_due(
                    session=session,
                    site=site,
                    site_id=site.site.id,
                    settings=settings,
                    context=context,
                    now=now,
                )
                pickups.unconfirmed(
                    session=session, site=site, settings=settings, context=context, now=now
                )
                pickups.vault_trigger(
                    session=session, site=site, settings=settings, context=context, now=now
                )
                exceptions.judge_pending_drawers(
                    session=session, site=site, settings=settings, now=now, clips=clips
                )

            await self.work(check)
        self.ticks += 1

    async def handle(self, event: Event[Any]) -> None:
        """Start the dual counts when a real run of a playbook with a cash-count step starts."""
        payload = event.payload
        if not isinstance(payload, PlaybookRunPayload) or payload.action != "started":
            return
        if payload.drill:
            return
        site_id = event.site or (next(iter(self.sites)) if len(self.sites) == 1 else None)
        if site_id is None or site_id not in self.sites:
            return
        site = self.sites[site_id]
        now = self.hub.clock.now()
        context = event.context.child(actor="cash")

        def begin(session: Session) -> int:
            settings = cash_settings.load(session=session, site_id=site_id)
            return len(
                playbook.start_counts(
                    session=session,
                    site=site,
                    run_id=payload.run_id,
                    settings=settings,
                    context=context,
                    now=now,
                )
            )

        await self.work(begin)


def runtime_of(hub: Hub) -> CashRuntime | None:
    """Return the cash runtime started on the hub, if any."""
    found = hub.extras.get(EXTRAS_KEY)
    return found if isinstance(found, CashRuntime) else None


async def start_cash(hub: Hub, *, tick_s: float | None = 30.0) -> CashRuntime:
    """Start the cash domain on ``hub``; store it as ``hub.extras['cash']``. Must run in the loop."""
    runtime = CashRuntime(hub)
    hub.extras[EXTRAS_KEY] = runtime
    await runtime.start(tick_s=tick_s)
    return runtime
