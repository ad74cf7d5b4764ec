"""What travels on the bus: replicated ledger rows, commands for the edges, heartbeats.

Every message is JSON checked by a strict model on arrival; a message that does not
parse is refused with a plain reason (and terminated on the stream, never retried
for ever), so one bad publisher cannot stop a site's replication.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bastion.core.errors import InvalidInput
from bastion.store.ledger import row_digest

Token = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,63}$")]


class Wire(BaseModel):
    """Strict base: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplicatedEvent(Wire):
    """One row of an edge's ledger, exactly as chained there (so the chain can be re-checked)."""

    node: Token
    seq: int = Field(ge=1)
    id: str = Field(min_length=1, max_length=26)
    type: str = Field(min_length=1, max_length=64)
    time: datetime
    site: str | None = Field(default=None, max_length=63)
    subject: str | None = Field(default=None, max_length=128)
    device: str | None = Field(default=None, max_length=128)
    ctx: str = Field(min_length=1, max_length=26)
    parent: str | None = Field(default=None, max_length=26)
    actor: str = Field(max_length=128)
    payload: str
    prev: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)
    sent_at: float = Field(default=0.0, description="Edge clock when first published (epoch s).")

    def digest(self) -> str:
        """Recompute the row's hash from its content (equal to ``hash`` unless tampered)."""
        return row_digest(
            seq=self.seq,
            prev_hash=self.prev,
            id=self.id,
            type=self.type,
            time=self.time,
            site=self.site,
            subject=self.subject,
            device=self.device,
            context_id=self.ctx,
            parent_id=self.parent,
            actor=self.actor,
            payload=self.payload,
        )


MAX_ROWS_PER_MESSAGE = 1000


class ReplicatedRows(Wire):
    """Consecutive rows of one edge's ledger in one message (one publish and one ack for all)."""

    rows: list[ReplicatedEvent] = Field(min_length=1, max_length=MAX_ROWS_PER_MESSAGE)


def decode_rows(data: bytes) -> list[ReplicatedEvent]:
    """Return the rows a replication message carries: several (``rows``) or one row alone."""
    if data.lstrip().startswith(b'{"rows"'):
        return decode(ReplicatedRows, data).rows
    return [decode(ReplicatedEvent, data)]


CommandKind = Literal["revoke_credential", "lockdown"]


class Command(Wire):
    """Something a central node asks a site's edges to apply now."""

    id: str = Field(min_length=1, max_length=26)
    kind: CommandKind
    site_id: Token
    issued_at: float = Field(description="Central clock when issued (epoch seconds).")
    actor: str = Field(default="central", max_length=128)
    credential_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=200)
    zone_ids: tuple[str, ...] = ()
    active: bool = True


class Heartbeat(Wire):
    """An edge's view of itself, sent every second on plain NATS."""

    node: Token
    site_id: Token
    head_seq: int = Field(ge=0, description="Newest row in the edge's own ledger.")
    acked_seq: int = Field(ge=0, description="Newest row the stream has acknowledged.")
    commands_applied: int = Field(default=0, ge=0)
    last_command_ms: float | None = Field(default=None, ge=0)
    sent_at: float


class LiveEvent(Wire):
    """An event one central node committed and handled, for the other nodes' live views."""

    origin: Token
    id: str = Field(min_length=1, max_length=26)
    type: str = Field(min_length=1, max_length=64)
    time: datetime
    site: str | None = Field(default=None, max_length=63)
    ctx: str = Field(min_length=1, max_length=26)
    parent: str | None = Field(default=None, max_length=26)
    actor: str = Field(max_length=128)
    payload: str


M = TypeVar("M", bound=Wire)


def decode(model: type[M], data: bytes) -> M:
    """Parse one message; raise InvalidInput naming the first problem."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "message"
        raise InvalidInput(f"bad {model.__name__} message: {where}: {error['msg']}") from None


def encode(message: Wire) -> bytes:
    """Return the JSON bytes of a message."""
    return message.model_dump_json().encode()


def epoch_now() -> float:
    """Return the wall-clock time in epoch seconds (message timestamps)."""
    return datetime.now(UTC).timestamp()
