"""Ledger queries, chain verification and the live event stream (SSE).

Site-scoped callers see the events of their sites only; events of no site (sign-ins,
account changes, platform faults) need a grant for every site.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import AnySite, Global
from bastion.auth.permissions import Permission
from bastion.core.events import Event
from bastion.core.inputs import Instant
from bastion.hub import Hub
from bastion.store.anchor import verify_anchored
from bastion.store.ledger import LedgerRow

router = APIRouter(tags=["events"])
HubDep = Annotated[Hub, Depends(get_hub)]


class LedgerEventRead(BaseModel):
    """One ledger row as the API shows it."""

    seq: int = Field(description="Position in the chain.")
    id: str = Field(description="Event id (ULID).")
    type: str = Field(description="Event type name.")
    time: datetime = Field(description="When it happened (UTC).")
    site: str | None = Field(description="Site id.")
    subject: str | None = Field(description="Person or account concerned.")
    device: str | None = Field(description="Door or device concerned.")
    actor: str = Field(description="Who or what caused it.")
    context_id: str = Field(description="Causality context id.")
    parent_id: str | None = Field(description="Parent context id.")
    payload: dict[str, Any] = Field(description="Typed payload as JSON.")
    hash: str = Field(description="SHA-256 of the row.")

    @classmethod
    def of(cls, row: LedgerRow) -> LedgerEventRead:
        """Convert a ledger row."""
        return cls(
            seq=row.seq,
            id=row.id,
            type=row.type,
            time=row.time,
            site=row.site,
            subject=row.subject,
            device=row.device,
            actor=row.actor,
            context_id=row.context_id,
            parent_id=row.parent_id,
            payload=json.loads(row.payload),
            hash=row.hash,
        )


class FindingRead(BaseModel):
    """One thing checkpoint verification found."""

    kind: str = Field(description="truncated, changed, renumbered, rewritten, signature …")
    seq: int | None = Field(description="Sequence number concerned, if any.")
    problem: bool = Field(description="True when it fails verification; False for a warning.")
    message: str = Field(description="What was found, in plain words.")


class VerificationRead(BaseModel):
    """Result of re-computing the ledger chain and checking its signed checkpoints."""

    ok: bool = Field(description="True when the chain is intact and every checkpoint matches.")
    rows_checked: int = Field(description="Rows that verified.")
    bad_seq: int | None = Field(description="First row that failed, if any.")
    problem: str = Field(description="What was wrong.")
    summary: str = Field(description="One line for humans.")
    checkpoints: int = Field(default=0, description="Valid signed checkpoints checked.")
    anchored_seq: int | None = Field(
        default=None, description="Newest seq covered by a signed checkpoint."
    )
    findings: list[FindingRead] = Field(
        default_factory=list, description="Checkpoint problems and warnings."
    )


EventsReader = Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=AnySite()))]


@router.get("/api/events", response_model=list[LedgerEventRead])
def list_events(
    hub: HubDep,
    principal: EventsReader,
    type: Annotated[list[str] | None, Query(description="Event type names.")] = None,
    subject: str | None = None,
    device: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LedgerEventRead]:
    """Return ledger events of the caller's sites, newest first."""
    rows = hub.ledger.query(
        types=type,
        subject=subject,
        device=device,
        since=since,
        until=until,
        limit=limit,
        sites=principal.sites_with(Permission.EVENTS_READ),
    )
    return [LedgerEventRead.of(r) for r in rows]


@router.get(
    "/api/ledger/verify",
    response_model=VerificationRead,
    dependencies=[Depends(Require(Permission.LEDGER_VERIFY, site=Global()))],
)
def verify_ledger(hub: HubDep) -> VerificationRead:
    """Recompute the hash chain, check it against every checkpoint copy and name any change."""
    report = verify_anchored(ledger=hub.ledger, anchor=hub.anchor)
    chain = report.chain
    first = report.problems[0] if report.problems else None
    return VerificationRead(
        ok=report.ok,
        rows_checked=chain.rows_checked,
        bad_seq=chain.bad_seq if not chain.ok else (first.seq if first else None),
        problem=chain.problem if not chain.ok else (first.message if first else ""),
        summary=report.describe(),
        checkpoints=report.checkpoints,
        anchored_seq=report.newest.seq if report.newest else None,
        findings=[
            FindingRead(kind=f.kind.value, seq=f.seq, problem=f.problem, message=f.message)
            for f in report.findings
        ],
    )


def event_summary(event: Event[Any]) -> dict[str, Any]:
    """Return the JSON the live feed sends for one event."""
    return {
        "id": event.id,
        "type": event.type.name,
        "time": event.time.isoformat(),
        "actor": event.context.actor,
        "device": event.device,
        "subject": event.subject,
        "payload": event.payload.model_dump(mode="json"),
    }


@router.get("/api/events/stream")
async def stream_events(
    request: Request, hub: HubDep, principal: EventsReader
) -> EventSourceResponse:
    """Stream committed security events of the caller's sites as server-sent events."""
    queue: asyncio.Queue[Event[Any]] = asyncio.Queue(maxsize=1000)
    sites = principal.sites_with(Permission.EVENTS_READ)

    def on_event(event: Event[Any]) -> None:
        mine = sites is None or (event.site is not None and event.site in sites)
        if mine and event.type.is_security and not queue.full():
            queue.put_nowait(event)

    unsubscribe = hub.bus.subscribe(on_event, mirrored=True)

    async def generate() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "hello", "data": "{}"}
            while True:
                event = await queue.get()
                yield {
                    "event": "security",
                    "id": event.id,
                    "data": json.dumps(event_summary(event)),
                }
        finally:
            unsubscribe()

    return EventSourceResponse(generate(), ping=15)
