"""The checkpoint signing keys: Ed25519, in their own 0600 file, never in the database.

The file holds the ledger's identity, the current private key and the public half of
every key ever used (retired keys keep only their public key), so checkpoints signed
before a rotation stay verifiable and nothing but the current key can sign new ones.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from bastion.core.context import new_id
from bastion.core.errors import ConfigError
from bastion.store.anchor.records import (
    KeyRecord,
    b64,
    key_id_of,
    key_message,
    parse_time,
    signature_valid,
    time_text,
    unb64,
)

FILE_FORMAT = "bastion-ledger-keys"


@dataclass
class StoredKey:
    """One key in the file: its public record, when it was retired, its private half if current."""

    record: KeyRecord
    retired: str | None = None
    private: Ed25519PrivateKey | None = None

    @property
    def key_id(self) -> str:
        """Return the key's id."""
        return self.record.key_id

    def valid_at(self, when: datetime, *, grace_s: float) -> bool:
        """Return True when a signature made at ``when`` falls in the key's working life."""
        if self.retired is None:
            return True
        return (when - parse_time(self.retired)).total_seconds() <= grace_s


def _public_b64(private: Ed25519PrivateKey) -> str:
    return b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def _new_record(
    *,
    ledger_id: str,
    private: Ed25519PrivateKey,
    now: datetime,
    previous: StoredKey | None,
) -> KeyRecord:
    """Return the record of a fresh key, proven by itself and endorsed by ``previous``."""
    public = _public_b64(private)
    key_id = key_id_of(unb64(public))
    previous_id = previous.key_id if previous else None
    created = time_text(now)
    message = key_message(
        ledger=ledger_id,
        key_id=key_id,
        public_key=public,
        previous_key_id=previous_id,
        created=created,
    )
    endorsement = None
    if previous is not None:
        if previous.private is None:
            raise ConfigError("the current signing key has no private half; cannot rotate")
        endorsement = b64(previous.private.sign(message))
    return KeyRecord(
        ledger=ledger_id,
        key_id=key_id,
        public_key=public,
        created=created,
        previous_key_id=previous_id,
        endorsement=endorsement,
        proof=b64(private.sign(message)),
    )


class SigningKeys:
    """The ledger identity and its signing keys, oldest first; the last one is current."""

    def __init__(self, path: Path, ledger_id: str, keys: list[StoredKey]) -> None:
        self.path = path
        self.ledger_id = ledger_id
        self.keys = keys
        self._stamp = _stamp(path)

    # -- files ------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, now: datetime) -> SigningKeys:
        """Make a new ledger identity and its first key, and write them to ``path`` (0600)."""
        if path.exists():
            raise ConfigError("a ledger signing key file already exists", file=str(path))
        ledger_id = new_id()
        private = Ed25519PrivateKey.generate()
        record = _new_record(ledger_id=ledger_id, private=private, now=now, previous=None)
        keys = cls(path, ledger_id, [StoredKey(record, None, private)])
        keys.save()
        return keys

    @classmethod
    def load(cls, path: Path) -> SigningKeys:
        """Read and check the key file; raise ConfigError naming the file when it is unusable."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError("the ledger signing key file is missing", file=str(path)) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the ledger signing key file: {exc}", file=str(path)
            ) from None
        try:
            keys = cls(path, *_decode(data))
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(
                f"the ledger signing key file is damaged: {reason}", file=str(path)
            ) from None
        problem = keys.check()
        if problem:
            raise ConfigError(f"the ledger signing key file is damaged: {problem}", file=str(path))
        return keys

    def save(self) -> None:
        """Write the file atomically, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (json.dumps(self._encode(), indent=1) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._stamp = _stamp(self.path)

    def changed_on_disk(self) -> bool:
        """Return True when another process has rewritten the file (e.g. rotated the key)."""
        return _stamp(self.path) != self._stamp

    def readable_by_others(self) -> bool:
        """Return True when group or other users may read the file."""
        return bool(self.path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))

    def _encode(self) -> dict[str, Any]:
        entries = []
        for key in self.keys:
            entry: dict[str, Any] = key.record.model_dump(mode="json", exclude={"kind", "ledger"})
            entry["retired"] = key.retired
            if key.private is not None:
                entry["private_key"] = b64(key.private.private_bytes_raw())
            entries.append(entry)
        return {"format": FILE_FORMAT, "version": 1, "ledger_id": self.ledger_id, "keys": entries}

    # -- keys -------------------------------------------------------------------------------

    @property
    def current(self) -> StoredKey:
        """Return the key that signs new checkpoints."""
        return self.keys[-1]

    def get(self, key_id: str) -> StoredKey | None:
        """Return the key with ``key_id``, current or retired."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    def sign(self, message: bytes) -> tuple[str, str]:
        """Sign with the current key; return its id and the base64 signature."""
        key = self.current
        if key.private is None:
            raise ConfigError(
                "the ledger signing key file holds no private key", file=str(self.path)
            )
        return key.key_id, b64(key.private.sign(message))

    def rotate(self, *, now: datetime) -> KeyRecord:
        """Replace the current key with a new one it endorses; drop the old private half; save."""
        old = self.current
        private = Ed25519PrivateKey.generate()
        record = _new_record(ledger_id=self.ledger_id, private=private, now=now, previous=old)
        old.private, old.retired = None, time_text(now)
        self.keys.append(StoredKey(record, None, private))
        self.save()
        return record

    def check(self) -> str:
        """Return what is wrong with the key history, or an empty string."""
        if not self.keys:
            return "it lists no key"
        previous: StoredKey | None = None
        for key in self.keys:
            record = key.record
            if record.ledger != self.ledger_id:
                return f"key {record.key_id} belongs to another ledger"
            if not record.self_consistent():
                return f"key {record.key_id} does not match its own proof"
            if previous is None:
                if record.previous_key_id is not None:
                    return f"the first key {record.key_id} claims a predecessor"
            elif record.previous_key_id != previous.key_id or not (
                record.endorsement
                and signature_valid(
                    previous.record.public_key, record.message(), record.endorsement
                )
            ):
                return f"key {record.key_id} is not endorsed by the key before it"
            previous = key
        current = self.current
        if current.private is None or _public_b64(current.private) != current.record.public_key:
            return "the current key's private half is missing or does not match"
        if any(k.private is not None for k in self.keys[:-1]):
            return "a retired key still has its private half"
        return ""


def _decode(data: Any) -> tuple[str, list[StoredKey]]:
    if data.get("format") != FILE_FORMAT or data.get("version") != 1:
        raise ValueError("not a version 1 ledger key file")
    ledger_id = str(data["ledger_id"])
    keys = []
    for entry in data["keys"]:
        fields = dict(entry)
        retired = fields.pop("retired", None)
        private_text = fields.pop("private_key", None)
        private = (
            Ed25519PrivateKey.from_private_bytes(unb64(private_text)) if private_text else None
        )
        keys.append(StoredKey(KeyRecord(ledger=ledger_id, **fields), retired, private))
    return ledger_id, keys


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
