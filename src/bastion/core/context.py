"""Causality chain carried by every event and action."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_MASK = (1 << 80) - 1


class _UlidSource:
    """Monotonic ULIDs from a pooled random buffer.

    Every event carries two ids, so ids sit on the alarm path. Asking the kernel for
    randomness per id releases the GIL in the event loop, which then waits behind the
    ledger writer thread; drawing 80-bit values from a 4 KiB buffer avoids that. Within
    one millisecond the random part is incremented, as the ULID spec requires for
    monotonic order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0
        self._last_ms = -1
        self._last_random = 0

    def _fresh_random(self) -> int:
        if self._offset + 10 > len(self._pool):
            self._pool, self._offset = os.urandom(4096), 0
        chunk = self._pool[self._offset : self._offset + 10]
        self._offset += 10
        return int.from_bytes(chunk, "big")

    def next(self) -> str:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms, self._last_random = now_ms, self._fresh_random()
            elif self._last_random < _RANDOM_MASK:
                self._last_random += 1
            else:  # 2**80 ids in one millisecond: borrow the next millisecond
                self._last_ms, self._last_random = self._last_ms + 1, self._fresh_random()
            value = (self._last_ms << 80) | self._last_random
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


_SOURCE = _UlidSource()


def new_id() -> str:
    """Return a new time-ordered, monotonic ULID string."""
    return _SOURCE.next()


@dataclass(frozen=True, slots=True)
class Context:
    """Who or what caused an event, and which earlier context it descends from.

    ``actor`` is a stable reference such as ``user:<id>``, ``device:<id>``,
    ``rule:<id>`` or ``system``; never a secret or a personal detail.
    """

    actor: str = "system"
    parent_id: str | None = None
    id: str = field(default_factory=new_id)

    def child(self, actor: str | None = None) -> Context:
        """Return a new context caused by this one."""
        return Context(actor=actor or self.actor, parent_id=self.id)
