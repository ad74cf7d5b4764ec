"""OSDP reader keys at rest: an encrypted JSON file in the data directory.

Implements the integration's ``ReaderKeyStore`` protocol. Each key is encrypted
with the hub's key ring (Fernet, rotatable master keys); the file is written
atomically with mode 0600. The CLI asks for a rotation by flagging a reader
here; the running control panel picks the flag up and sends ``KEYSET``.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

FILE_NAME = "osdp_keys.json"


class Cipher(Protocol):
    """What the store needs from the key ring."""

    def encrypt(self, plaintext: str) -> str:
        """Return an authenticated ciphertext."""
        ...

    def decrypt(self, token: str) -> str:
        """Return the plaintext of ``token``."""
        ...


class EncryptedKeyFile:
    """Per-reader SCBKs in an encrypted JSON file (safe across threads and processes)."""

    def __init__(self, path: Path, cipher: Cipher) -> None:
        self.path = path
        self.cipher = cipher
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"version": 1, "readers": {}}
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def _entry(self, data: dict[str, Any], reader_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = data["readers"].setdefault(reader_id, {})
        return entry

    def _key(self, token: str | None) -> bytes | None:
        return bytes.fromhex(self.cipher.decrypt(token)) if token else None

    def get(self, reader_id: str) -> bytes | None:
        """Return the committed key."""
        with self._lock:
            return self._key(self._load()["readers"].get(reader_id, {}).get("key"))

    def get_pending(self, reader_id: str) -> bytes | None:
        """Return the key being installed."""
        with self._lock:
            return self._key(self._load()["readers"].get(reader_id, {}).get("pending"))

    def set_pending(self, reader_id: str, key: bytes) -> None:
        """Store a key before it is sent to the reader."""
        with self._lock:
            data = self._load()
            self._entry(data, reader_id)["pending"] = self.cipher.encrypt(key.hex())
            self._save(data)

    def commit(self, reader_id: str) -> None:
        """Promote the pending key once the reader accepted it."""
        with self._lock:
            data = self._load()
            entry = self._entry(data, reader_id)
            if entry.get("pending"):
                entry["key"] = entry.pop("pending")
                entry["installed"] = datetime.now(UTC).isoformat(timespec="seconds")
                self._save(data)

    def discard_pending(self, reader_id: str) -> None:
        """Drop a pending key the reader refused."""
        with self._lock:
            data = self._load()
            if self._entry(data, reader_id).pop("pending", None) is not None:
                self._save(data)

    def rotation_requests(self) -> set[str]:
        """Return the readers flagged for rotation."""
        with self._lock:
            readers = self._load()["readers"]
            return {rid for rid, entry in readers.items() if entry.get("rotate")}

    def request_rotation(self, reader_id: str) -> None:
        """Flag a reader for rotation (the CLI side)."""
        with self._lock:
            data = self._load()
            self._entry(data, reader_id)["rotate"] = True
            self._save(data)

    def clear_rotation(self, reader_id: str) -> None:
        """Clear a reader's rotation flag."""
        with self._lock:
            data = self._load()
            if self._entry(data, reader_id).pop("rotate", None) is not None:
                self._save(data)

    def forget(self, reader_id: str) -> None:
        """Remove every key of a reader (it must be reset to install mode)."""
        with self._lock:
            data = self._load()
            if data["readers"].pop(reader_id, None) is not None:
                self._save(data)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Return non-secret facts per reader: keyed, pending, rotation asked, install date."""
        with self._lock:
            readers = self._load()["readers"]
        return {
            rid: {
                "keyed": bool(entry.get("key")),
                "pending": bool(entry.get("pending")),
                "rotate": bool(entry.get("rotate")),
                "installed": entry.get("installed", ""),
            }
            for rid, entry in sorted(readers.items())
        }

    def reencrypt(self) -> int:
        """Re-encrypt every key under the newest master key; return how many."""
        count = 0
        with self._lock:
            data = self._load()
            for entry in data["readers"].values():
                for name in ("key", "pending"):
                    if entry.get(name):
                        entry[name] = self.cipher.encrypt(self.cipher.decrypt(entry[name]))
                        count += 1
            self._save(data)
        return count


def key_store_for(data_dir: Path, cipher: Cipher) -> EncryptedKeyFile:
    """Return the data directory's reader-key store."""
    return EncryptedKeyFile(data_dir / FILE_NAME, cipher)


def attach(hub: Any) -> EncryptedKeyFile:
    """Put the reader-key store on ``hub.extras['osdp_keys']`` for the OSDP integration."""
    from bastion.store import crypto

    store = key_store_for(hub.settings.data_dir, crypto.keyring())
    hub.extras["osdp_keys"] = store
    return store
