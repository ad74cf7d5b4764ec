"""Ports between integrations and domains: what a reader asks and what the engine answers.

Integrations import only ``core`` and ``site``; they reach the access engine
through :class:`AccessDecider`, found on the hub, and never import ``access``; POS
adapters hand :class:`PosRecord` batches to a :class:`PosSink`; recorders offer clips
through :class:`ClipSource`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol, runtime_checkable

from bastion.core.context import Context


class PresentationKind(StrEnum):
    """How a credential was presented at a reader."""

    CARD = "card"
    PIN = "pin"
    CARD_AND_PIN = "card_and_pin"
    MOBILE = "mobile"


@dataclass(frozen=True, slots=True)
class Presentation:
    """A credential presented at a door's reader.

    ``card_hash`` is the keyed hash of the card data (see :class:`CredentialHasher`);
    raw card numbers and PINs never leave the integration in clear.
    """

    door_id: str
    reader_id: str | None
    kind: PresentationKind
    card_hash: str | None = None
    pin_hash: str | None = None
    mobile_token_hash: str | None = None
    time: datetime | None = None
    context: Context = field(default_factory=Context)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's answer: whether to release the door, why, and for how long."""

    granted: bool
    reason: str
    detail: str = ""
    person_id: str | None = None
    credential_id: str | None = None
    strike_time_s: float = 0.0
    pending: bool = False
    """True when the decision waits for a second factor (PIN, second person, escort)."""
    snapshot_version: int = 0


class AccessDecider(Protocol):
    """The access engine as integrations see it. Decisions are in memory and never block."""

    def decide(self, presentation: Presentation) -> Verdict:
        """Decide at once from the current snapshot; queue the decision event to the ledger."""
        ...


class CredentialHasher(Protocol):
    """Keyed hashing of credential data, so card numbers are never stored or sent in clear."""

    def __call__(self, value: str, *, purpose: str) -> str:
        """Return the keyed hash of ``value`` for ``purpose`` (``card``, ``pin`` …)."""
        ...


# --- point of sale: what a POS adapter hands the cash domain ---------------------------------


class PosKind(StrEnum):
    """What a POS record is."""

    SALE = "sale"
    REFUND = "refund"
    VOID = "void"
    NO_SALE = "no_sale"
    PAYOUT = "payout"
    DRAWER_OPEN = "drawer_open"


class PosItem(NamedTuple):
    """One line of a transaction: what, how many, at what unit price (cents)."""

    sku: str
    quantity: int
    unit_cents: int


class PosTender(NamedTuple):
    """One payment of a transaction: ``cash``, ``card``, ``debit``, ``gift`` or ``other``."""

    kind: str
    cents: int


class PosRecord(NamedTuple):
    """One POS transaction (or drawer event) in the adapter-neutral form.

    A named tuple, not a dataclass: immutable all the same, and a year of a store's
    transactions is millions of them, where a frozen dataclass costs five times more to build.

    ``cash_cents`` is the net cash the drawer gained (negative when cash went out:
    cash refunds, voids of cash sales, payouts). ``original_id`` is the receipt a
    refund or void refers to. ``customer_ref`` is the POS's customer id (never a name).
    ``line`` says where the record came from (file line, JSON index) for error messages.
    """

    pos_id: str
    terminal: str
    cashier: str
    time: datetime
    kind: PosKind
    total_cents: int = 0
    cash_cents: int = 0
    discount_cents: int = 0
    items: tuple[PosItem, ...] = ()
    tenders: tuple[PosTender, ...] = ()
    original_id: str | None = None
    customer_ref: str | None = None
    reason: str = ""
    line: str = ""
    detail: str | None = None
    """Items and tenders as ``sku*qty@cents;…|kind:cents;…`` when the reader already has them."""


@dataclass(frozen=True, slots=True)
class PosReject:
    """A record an adapter could not read: where, why, and the raw text (kept for review)."""

    line: str
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class PosIngestReport:
    """What happened to a batch handed to the cash domain."""

    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    exceptions: int


@runtime_checkable
class PosSink(Protocol):
    """The cash domain as POS adapters see it (found on the hub)."""

    async def ingest(
        self,
        site_id: str,
        records: Sequence[PosRecord],
        rejects: Sequence[PosReject],
        *,
        source: str,
        context: Context,
    ) -> PosIngestReport:
        """Store new records (duplicates are ignored), keep rejects for review, report."""
        ...


# --- video: clip references for a camera and a time window -----------------------------------


@runtime_checkable
class ClipSource(Protocol):
    """A recorder that can serve a clip of a camera between two moments (e.g. Frigate)."""

    def clip_url(self, camera_id: str, start: datetime, end: datetime) -> str | None:
        """Return the URL of the clip, or None when this recorder does not have the camera."""
        ...


POS_SINK_KEY = "pos_sink"
"""Where the cash domain puts its :class:`PosSink` on the hub's extras."""
CLIP_SOURCES_KEY = "clip_sources"
"""Where recorders register their :class:`ClipSource`, by site id, on the hub's extras."""


def pos_sink_of(extras: Mapping[str, object]) -> PosSink | None:
    """Return the POS sink registered on a hub's extras, if any."""
    sink = extras.get(POS_SINK_KEY)
    return sink if isinstance(sink, PosSink) else None


def clip_source_of(extras: Mapping[str, object], site_id: str) -> ClipSource | None:
    """Return the clip source registered for a site on a hub's extras, if any."""
    sources = extras.get(CLIP_SOURCES_KEY)
    if not isinstance(sources, dict):
        return None
    source = sources.get(site_id)
    return source if isinstance(source, ClipSource) else None


def register_clip_source(extras: dict[str, object], site_id: str, source: ClipSource) -> None:
    """Offer a recorder's clips for a site (the last registration wins)."""
    sources = extras.setdefault(CLIP_SOURCES_KEY, {})
    assert isinstance(sources, dict)
    sources[site_id] = source
