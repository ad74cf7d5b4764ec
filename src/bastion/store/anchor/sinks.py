"""Where checkpoints go: an append-only JSON-lines file, and optionally an HTTP(S) remote.

The remote protocol is deliberately small so a central node, a log collector or a
bucket gateway can implement it: each record is sent as one JSON body (POST by default,
or PUT), and a GET of the same URL returns every record received, as JSON lines or a
JSON array. The local file is the delivery queue: a cursor file next to it records how
far each remote has been sent, so a restart resumes where delivery stopped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import httpx

from bastion.store.anchor.records import CheckpointRecord, KeyRecord, parse_line, to_line

_LOGGER = logging.getLogger(__name__)
_CHUNK = 65536


class CheckpointLog:
    """An append-only JSON-lines file of key and checkpoint records for one ledger."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def locked(self) -> Iterator[LogWriter]:
        """Hold the file's exclusive lock (other processes wait) and yield an appender."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield LogWriter(fd)
        finally:
            os.close(fd)  # also releases the lock

    def read(self) -> list[tuple[int, str]]:
        """Return every non-blank line with its 1-based line number ([] when there is no file)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]

    def last_checkpoint(
        self, accept: Callable[[CheckpointRecord], bool]
    ) -> CheckpointRecord | None:
        """Return the newest checkpoint ``accept`` agrees with, reading from the end."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return None
        with handle:
            pos = handle.seek(0, os.SEEK_END)
            carry = b""
            while pos > 0:
                step = min(_CHUNK, pos)
                pos -= step
                handle.seek(pos)
                parts = (handle.read(step) + carry).split(b"\n")
                carry = parts.pop(0) if pos > 0 else b""
                for raw in reversed(parts):
                    found = _checkpoint_or_none(raw)
                    if found is not None and accept(found):
                        return found
        return None


class LogWriter:
    """Appends whole lines to a locked checkpoint log."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def append(self, records: Sequence[CheckpointRecord | KeyRecord]) -> None:
        """Append ``records`` and sync them to disk; never splice onto a torn last line."""
        if not records:
            return
        data = "".join(to_line(r) + "\n" for r in records).encode()
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        os.write(self._fd, data)
        os.fsync(self._fd)


def _checkpoint_or_none(raw: bytes) -> CheckpointRecord | None:
    try:
        record = parse_line(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, CheckpointRecord) else None


class RemoteError(Exception):
    """A remote copy could not be written or read (the reason, without secrets)."""


class HttpRemote:
    """An HTTP(S) endpoint that keeps a copy of the checkpoint log."""

    def __init__(
        self, url: str, *, token: str | None = None, method: str = "POST", timeout_s: float = 10.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("the checkpoint URL must be an http:// or https:// URL")
        if method not in {"POST", "PUT"}:
            raise ValueError("the checkpoint URL method must be POST or PUT")
        self.url = url
        self.method = method
        self.timeout_s = timeout_s
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def display(self) -> str:
        """Return the URL without credentials or query (presigned URLs carry secrets there)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    @property
    def ident(self) -> str:
        """Return a short stable id of the URL, for the delivery cursor's file name."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    def send(self, line: str) -> None:
        """Send one record; raise RemoteError unless the remote accepts it."""
        try:
            response = httpx.request(
                self.method,
                self.url,
                content=line.encode(),
                headers={**self._headers, "Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise RemoteError(f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise RemoteError(f"HTTP {response.status_code}")

    def fetch(self) -> list[str]:
        """Return every record line the remote holds; raise RemoteError when it cannot be read."""
        try:
            response = httpx.get(self.url, headers=self._headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise RemoteError(f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise RemoteError(f"HTTP {response.status_code}")
        text = response.text.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise RemoteError("the reply is not JSON") from None
            return [json.dumps(item) for item in items]
        return [line for line in text.split("\n") if line.strip()]


class RemoteCopy:
    """Keep one remote's copy of the log up to date, resuming from a cursor file.

    The cursor holds the offset reached and a digest of the last line sent, so a log that
    was cut short or replaced is noticed (and sent again from the start; verification
    ignores duplicates) instead of being resumed in the middle of a line.
    """

    def __init__(self, log: CheckpointLog, remote: HttpRemote) -> None:
        self.log = log
        self.remote = remote
        self.cursor_path = log.path.with_name(f"{log.path.name}.sent-{remote.ident}")

    def _save_cursor(self, offset: int, line: bytes) -> None:
        tmp = self.cursor_path.with_name(self.cursor_path.name + ".tmp")
        tmp.write_text(f"{offset} {len(line)} {hashlib.sha256(line).hexdigest()}\n")
        os.replace(tmp, self.cursor_path)

    def _resume_at(self, handle: BinaryIO) -> tuple[int, bool]:
        """Return where to resume in the open log, and whether the cursor no longer fits it."""
        try:
            offset_text, length_text, digest = self.cursor_path.read_text().split()
            offset, length = int(offset_text), int(length_text)
        except (FileNotFoundError, ValueError):
            return 0, False
        if offset > handle.seek(0, os.SEEK_END) or offset < length + 1:
            return 0, True
        handle.seek(offset - length - 1)
        data = handle.read(length + 1)
        if data[-1:] != b"\n" or hashlib.sha256(data[:-1]).hexdigest() != digest:
            return 0, True
        return offset, False

    def pending(self) -> bool:
        """Return True when the log holds complete lines the remote has not accepted yet."""
        try:
            with self.log.path.open("rb") as handle:
                offset, _ = self._resume_at(handle)
                handle.seek(offset)
                return b"\n" in handle.read()
        except FileNotFoundError:
            return False

    def deliver(self) -> int:
        """Send every complete line after the cursor, in order; return how many were sent.

        Stops at the first failure (raising RemoteError) with the cursor after the last
        line the remote accepted, so nothing is skipped or reordered.
        """
        try:
            with self.log.path.open("rb") as handle:
                offset, moved = self._resume_at(handle)
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return 0
        if moved:
            _LOGGER.warning(
                "checkpoint log %s no longer holds what was sent to %s; sending it all again",
                self.log.path,
                self.remote.display,
            )
        sent = 0
        for raw in data.split(b"\n")[:-1]:  # the part after the last newline is incomplete
            offset += len(raw) + 1
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                self.remote.send(line)
                sent += 1
            self._save_cursor(offset, raw)
        return sent
