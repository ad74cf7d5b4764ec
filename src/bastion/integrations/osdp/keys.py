"""Where secure-channel keys live: a small protocol the hub satisfies, plus an in-memory store.

The integration never writes keys itself; the hub hands it a store (see
``bastion.osdp_keys`` for the encrypted file) through ``hub.extras["osdp_keys"]``
or the integration's constructor. Keys are 16-byte SCBKs, one per reader id.
"""

from __future__ import annotations

import threading
from typing import Protocol


class ReaderKeyStore(Protocol):
    """Per-reader SCBKs: a committed key, a pending one being installed, and rotation requests.

    Methods may block briefly (file I/O); the integration calls them off the loop.
    """

    def get(self, reader_id: str) -> bytes | None:
        """Return the committed key of ``reader_id``."""
        ...

    def get_pending(self, reader_id: str) -> bytes | None:
        """Return the key being installed on ``reader_id``, if any."""
        ...

    def set_pending(self, reader_id: str, key: bytes) -> None:
        """Record ``key`` as being installed (before it is sent to the reader)."""
        ...

    def commit(self, reader_id: str) -> None:
        """Make the pending key the committed key (the reader accepted it)."""
        ...

    def discard_pending(self, reader_id: str) -> None:
        """Forget the pending key (the reader refused it)."""
        ...

    def rotation_requests(self) -> set[str]:
        """Return the reader ids whose key an operator asked to rotate."""
        ...

    def clear_rotation(self, reader_id: str) -> None:
        """Mark the rotation request of ``reader_id`` as handled."""
        ...

    def forget(self, reader_id: str) -> None:
        """Remove every key of ``reader_id`` (a reset reader is keyed again in install mode)."""
        ...


class MemoryKeyStore:
    """Keys in memory only: for tests and throw-away demos (keys are lost on restart)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: dict[str, bytes] = {}
        self.pending: dict[str, bytes] = {}
        self.rotate: set[str] = set()

    def get(self, reader_id: str) -> bytes | None:
        """Return the committed key."""
        with self._lock:
            return self.keys.get(reader_id)

    def get_pending(self, reader_id: str) -> bytes | None:
        """Return the pending key."""
        with self._lock:
            return self.pending.get(reader_id)

    def set_pending(self, reader_id: str, key: bytes) -> None:
        """Store a pending key."""
        with self._lock:
            self.pending[reader_id] = key

    def commit(self, reader_id: str) -> None:
        """Promote the pending key."""
        with self._lock:
            if reader_id in self.pending:
                self.keys[reader_id] = self.pending.pop(reader_id)

    def discard_pending(self, reader_id: str) -> None:
        """Drop the pending key."""
        with self._lock:
            self.pending.pop(reader_id, None)

    def rotation_requests(self) -> set[str]:
        """Return pending rotation requests."""
        with self._lock:
            return set(self.rotate)

    def clear_rotation(self, reader_id: str) -> None:
        """Forget a rotation request."""
        with self._lock:
            self.rotate.discard(reader_id)

    def forget(self, reader_id: str) -> None:
        """Remove every key of a reader."""
        with self._lock:
            self.keys.pop(reader_id, None)
            self.pending.pop(reader_id, None)
            self.rotate.discard(reader_id)
