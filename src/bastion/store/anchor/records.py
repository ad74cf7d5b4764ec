"""Checkpoint and key records: their JSON-lines form and the exact bytes that get signed."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bastion.core.events import canonical_json

CHECKPOINT_DOMAIN = b"bastion-ledger-checkpoint-v1\n"
KEY_DOMAIN = b"bastion-ledger-key-v1\n"


def time_text(value: datetime) -> str:
    """Return the one text form of a UTC time used in signed records."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Parse a record's time (ISO 8601, UTC)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def b64(data: bytes) -> str:
    """Return standard base64 text."""
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    """Decode standard base64 text; raise ValueError when it is not."""
    return base64.b64decode(text.encode(), validate=True)


def key_id_of(public_raw: bytes) -> str:
    """Return the short id of a raw Ed25519 public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def signature_valid(public_key: str, message: bytes, signature: str) -> bool:
    """Return True when ``signature`` (base64) is ``public_key``'s signature over ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(unb64(public_key)).verify(unb64(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckpointRecord(_Record):
    """A signed statement that the ledger's row ``seq`` had hash ``head_hash`` at ``time``."""

    kind: Literal["checkpoint"] = "checkpoint"
    ledger: str = Field(description="Ledger identity (from the signing key file).")
    seq: int = Field(ge=0, description="Sequence number of the newest row covered.")
    head_hash: str = Field(description="Hash of that row (hex SHA-256).")
    head_id: str | None = Field(description="Event id of that row; None for an empty ledger.")
    time: str = Field(description="When the checkpoint was signed (UTC, ISO 8601).")
    key_id: str = Field(description="Id of the signing key.")
    sig: str = Field(description="Ed25519 signature over the fields above, base64.")

    def message(self) -> bytes:
        """Return the bytes the signature covers."""
        return checkpoint_message(
            ledger=self.ledger,
            seq=self.seq,
            head_hash=self.head_hash,
            head_id=self.head_id,
            time=self.time,
        )


class KeyRecord(_Record):
    """A signing key's public half, proven by itself and endorsed by the key it replaces."""

    kind: Literal["key"] = "key"
    ledger: str = Field(description="Ledger identity.")
    key_id: str = Field(description="Short id of the key.")
    public_key: str = Field(description="Ed25519 public key, base64.")
    created: str = Field(description="When the key was made (UTC, ISO 8601).")
    previous_key_id: str | None = Field(default=None, description="Key it replaces.")
    endorsement: str | None = Field(default=None, description="Replaced key's signature.")
    proof: str = Field(description="The key's own signature over this record.")

    def message(self) -> bytes:
        """Return the bytes the proof and the endorsement cover."""
        return key_message(
            ledger=self.ledger,
            key_id=self.key_id,
            public_key=self.public_key,
            previous_key_id=self.previous_key_id,
            created=self.created,
        )

    def self_consistent(self) -> bool:
        """Return True when the id matches the public key and the proof verifies."""
        try:
            raw = unb64(self.public_key)
        except ValueError:
            return False
        return key_id_of(raw) == self.key_id and signature_valid(
            self.public_key, self.message(), self.proof
        )


Record = Annotated[CheckpointRecord | KeyRecord, Field(discriminator="kind")]
_RECORD = TypeAdapter(Record)


def checkpoint_message(
    *, ledger: str, seq: int, head_hash: str, head_id: str | None, time: str
) -> bytes:
    """Return the signed bytes of a checkpoint."""
    fields = {
        "ledger": ledger,
        "seq": seq,
        "head_hash": head_hash,
        "head_id": head_id,
        "time": time,
    }
    return CHECKPOINT_DOMAIN + canonical_json(fields).encode()


def key_message(
    *, ledger: str, key_id: str, public_key: str, previous_key_id: str | None, created: str
) -> bytes:
    """Return the signed bytes of a key record."""
    fields = {
        "ledger": ledger,
        "key_id": key_id,
        "public_key": public_key,
        "previous_key_id": previous_key_id,
        "created": created,
    }
    return KEY_DOMAIN + canonical_json(fields).encode()


def to_line(record: CheckpointRecord | KeyRecord) -> str:
    """Return the record as one JSON line (no newline)."""
    return canonical_json(record.model_dump(mode="json"))


def parse_line(text: str) -> CheckpointRecord | KeyRecord:
    """Parse one JSON line; raise ValueError with a short reason when it is not a record."""
    try:
        return _RECORD.validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValueError(
            f"{where}: {first.get('msg', 'invalid')}" if where else "invalid"
        ) from None
