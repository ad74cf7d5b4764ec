"""One OSDP bus: the libosdp control panel in its own thread, talking to the loop by callbacks.

The worker owns the libosdp context and its channel. It refreshes the context
every few milliseconds, submits the commands the loop queued, samples the
online / secure-channel masks and hands every libosdp event to the loop with
``loop.call_soon_threadsafe``. Nothing in here runs in the event loop, and the
loop never waits for this thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import osdp
import osdp_sys

from bastion.integrations.osdp.channel import BusChannel

_LOGGER = logging.getLogger(__name__)

NOTIFY_COMMAND = 0
NOTIFY_SC = 1
NOTIFY_PD = 2


@dataclass(frozen=True, slots=True)
class PdSpec:
    """What the worker needs to know about one reader on its bus."""

    reader_id: str
    address: int
    scbk: bytes | None
    enforce_secure: bool


@dataclass(slots=True)
class PdLink:
    """Link state of one reader as the worker sees it (read by the loop via snapshots)."""

    online: bool = False
    secure: bool = False
    scbk_default: bool = False
    since: float = field(default_factory=time.monotonic)
    last_seen: float = 0.0
    last_plain: float = 0.0
    disabled_at: float | None = None
    recoveries: int = 0


EventSink = Callable[[int, dict[str, Any]], None]
LinkSink = Callable[[int, PdLink], None]
CompletionSink = Callable[[int, dict[str, Any], bool], None]


class BusWorker:
    """Run one libosdp control panel for the readers of one bus in a dedicated thread."""

    def __init__(
        self,
        *,
        name: str,
        channel: BusChannel,
        pds: list[PdSpec],
        loop: asyncio.AbstractEventLoop,
        on_event: EventSink,
        on_link: LinkSink,
        on_completion: CompletionSink,
        idle_s: float = 0.002,
        sample_s: float = 0.05,
        recover_after_s: float = 1.0,
        max_backoff_s: float = 30.0,
        log_level: int = osdp.LogLevel.Error,
    ) -> None:
        self.name = name
        self.channel = channel
        self.pds = pds
        self.loop = loop
        self._on_event = on_event
        self._on_link = on_link
        self._on_completion = on_completion
        self.idle_s = idle_s
        self.sample_s = sample_s
        self.recover_after_s = recover_after_s
        self.max_backoff_s = max_backoff_s
        self.links = [PdLink() for _ in pds]
        # A reader that never came up gets longer: bring-up with a handshake takes a while.
        self._backoff = [max(recover_after_s, 4.0) for _ in pds]
        self._offline_since: list[float | None] = [time.monotonic() for _ in pds]
        self._commands: queue.SimpleQueue[tuple[int, dict[str, Any]]] = queue.SimpleQueue()
        self._calls: queue.SimpleQueue[Callable[[Any], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: Any = None
        osdp_sys.set_loglevel(log_level)
        self._build()

    def _build(self) -> None:
        infos = []
        for spec in self.pds:
            flags = [osdp.LibFlag.EnableNotification]
            if spec.enforce_secure:
                flags.append(osdp.LibFlag.EnforceSecure)
            info = osdp.PDInfo(
                spec.address, self.channel, scbk=spec.scbk, name=spec.reader_id, flags=flags
            )
            infos.append(info.get())
        self._ctx = osdp_sys.ControlPanel(infos)
        self._ctx.set_event_callback(self._event_cb)
        if hasattr(self._ctx, "set_command_completion_callback"):
            self._ctx.set_command_completion_callback(self._completion_cb)

    # --- API used from the event loop (thread-safe, non-blocking) -------------------------

    def start(self) -> None:
        """Start the refresh thread."""
        self._thread = threading.Thread(target=self._run, name=f"osdp-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the refresh thread and close the channel (blocks up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _LOGGER.error("OSDP bus %s worker did not stop in %.1f s", self.name, timeout)
            self._thread = None
        self.channel.close()

    def submit(self, index: int, command: dict[str, Any]) -> None:
        """Queue ``command`` for the reader at ``index``; never blocks."""
        self._commands.put((index, command))

    def call(self, fn: Callable[[Any], None]) -> None:
        """Run ``fn(ctx)`` in the worker thread (flag changes, key rotation)."""
        self._calls.put(fn)

    @property
    def alive(self) -> bool:
        """Return whether the refresh thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # --- worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        next_sample = 0.0
        while not self._stop.is_set():
            try:
                self.channel.ensure_open()
                self._ctx.refresh()
                self._drain()
                now = time.monotonic()
                if now >= next_sample:
                    next_sample = now + self.sample_s
                    self._sample(now)
            except Exception:
                _LOGGER.exception("OSDP bus %s refresh failed; continuing", self.name)
                time.sleep(0.05)
            self.channel.wait(self.idle_s)
        self._ctx = None

    def _drain(self) -> None:
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                break
            try:
                fn(self._ctx)
            except Exception:
                _LOGGER.exception("OSDP bus %s: control call failed", self.name)
        submitted = False
        while True:
            try:
                index, command = self._commands.get_nowait()
            except queue.Empty:
                break
            try:
                ok = self._ctx.submit_command(index, command)
            except Exception:
                _LOGGER.exception("OSDP bus %s: bad command for %s", self.name, self._rid(index))
                ok = False
            if not ok:
                self._post(self._on_completion, index, command, False)
            submitted = True
        if submitted:
            self._ctx.refresh()  # send it now rather than after the idle wait

    def _sample(self, now: float) -> None:
        online = self._ctx.status()
        secure = self._ctx.sc_status()
        for index, spec in enumerate(self.pds):
            link = self.links[index]
            is_online = bool(online & (1 << index))
            is_secure = bool(secure & (1 << index))
            link.last_seen = self.channel.last_seen.get(spec.address, link.last_seen)
            link.last_plain = self.channel.last_plain.get(spec.address, link.last_plain)
            if is_online != link.online or is_secure != link.secure:
                link.online, link.secure, link.since = is_online, is_secure, now
                if not is_secure:
                    link.scbk_default = False
                self._post(self._on_link, index, _copy(link))
            self._supervise(index, now, is_online)

    def _supervise(self, index: int, now: float, is_online: bool) -> None:
        # libosdp backs off up to 300 s after a failure; readers must come back sooner.
        link = self.links[index]
        if is_online:
            self._offline_since[index] = None
            self._backoff[index] = self.recover_after_s
            return
        if link.disabled_at is not None:
            if now - link.disabled_at >= 0.05:
                self._ctx.enable_pd(index)
                link.disabled_at = None
                self._offline_since[index] = now
            return
        since = self._offline_since[index]
        if since is None:
            self._offline_since[index] = now
            return
        if now - since >= self._backoff[index]:
            self._ctx.disable_pd(index)
            link.disabled_at = now
            link.recoveries += 1
            self._backoff[index] = min(self._backoff[index] * 2, self.max_backoff_s)

    def _event_cb(self, index: int, event: dict[str, Any]) -> int:
        try:
            if event.get("event") == osdp.Event.Notification:
                self._notification(index, event)
            else:
                self._post(self._on_event, index, event)
        except Exception:
            _LOGGER.exception("OSDP bus %s: event dispatch failed", self.name)
        return 0

    def _notification(self, index: int, event: dict[str, Any]) -> None:
        if not 0 <= index < len(self.links):
            return
        if event.get("type") == NOTIFY_SC and event.get("arg0"):
            link = self.links[index]
            link.scbk_default = bool(event.get("arg1"))
        self._post(self._on_event, index, event)

    def _completion_cb(self, index: int, command: dict[str, Any], status: int) -> None:
        try:
            self._post(self._on_completion, index, command, status == 0)
        except Exception:
            _LOGGER.exception("OSDP bus %s: completion dispatch failed", self.name)

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing: we are unloading
            self.loop.call_soon_threadsafe(fn, *args)

    def _rid(self, index: int) -> str:
        return self.pds[index].reader_id if 0 <= index < len(self.pds) else f"#{index}"


def _copy(link: PdLink) -> PdLink:
    return PdLink(
        online=link.online,
        secure=link.secure,
        scbk_default=link.scbk_default,
        since=link.since,
        last_seen=link.last_seen,
        last_plain=link.last_plain,
        recoveries=link.recoveries,
    )
