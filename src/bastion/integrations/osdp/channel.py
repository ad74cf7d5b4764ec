"""Byte transports for an OSDP bus (serial RS-485, pty, TCP) and the libosdp channel over them.

libosdp calls :class:`BusChannel` from its refresh thread. An exception escaping
a channel method would leave a Python error set inside the C library, so every
method here catches, logs once and reports "nothing read" or "nothing sent".
A transport that fails is closed and reopened with back-off; libosdp sees a
silent reader meanwhile and supervises it like any other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import time
import tty
from typing import Any, Protocol

import osdp

from bastion.integrations.osdp.codec import FrameMonitor, StaleReplyFilter, frame_address

_LOGGER = logging.getLogger(__name__)


class Transport(Protocol):
    """A raw, non-blocking byte pipe to the bus."""

    def open(self) -> None:
        """Open the port; raise OSError when it is not available."""
        ...

    def read(self, max_bytes: int) -> bytes:
        """Return up to ``max_bytes`` bytes without blocking (b"" when none)."""
        ...

    def write(self, data: bytes) -> int:
        """Send ``data``; return how many bytes were sent."""
        ...

    def wait_readable(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds until bytes can be read."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class FdTransport:
    """A tty device path (a pty slave, or a serial port without RS-485 tricks)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        """Open the device in raw, non-blocking mode."""
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        with contextlib.suppress(OSError):  # not a tty (a FIFO in tests): nothing to set
            tty.setraw(fd)
        self._fd = fd

    def read(self, max_bytes: int) -> bytes:
        """Return the bytes waiting on the device."""
        if self._fd is None:
            raise OSError("transport closed")
        try:
            data = os.read(self._fd, max_bytes)
        except BlockingIOError:
            return b""
        if not data:
            raise OSError("end of file on the bus device")
        return data

    def write(self, data: bytes) -> int:
        """Write ``data`` to the device."""
        if self._fd is None:
            raise OSError("transport closed")
        return os.write(self._fd, data)

    def wait_readable(self, timeout: float) -> None:
        """Wait for input with select()."""
        if self._fd is not None:
            select.select([self._fd], [], [], timeout)
        else:
            time.sleep(timeout)

    def close(self) -> None:
        """Close the file descriptor."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class SerialTransport:
    """An RS-485 adapter through pyserial (8N1, optional kernel RS-485 mode)."""

    def __init__(self, port: str, baud: int, *, rs485: bool = False) -> None:
        self.port = port
        self.baud = baud
        self.rs485 = rs485
        self._serial: Any = None  # pyserial ships no stubs

    def open(self) -> None:
        """Open the serial port."""
        import serial
        import serial.rs485

        ser = serial.Serial(self.port, self.baud, timeout=0, write_timeout=1.0)
        if self.rs485:
            ser.rs485_mode = serial.rs485.RS485Settings()
        self._serial = ser

    def read(self, max_bytes: int) -> bytes:
        """Return the bytes waiting in the receive buffer."""
        ser = self._require()
        waiting = ser.in_waiting
        return bytes(ser.read(min(max_bytes, waiting))) if waiting else b""

    def write(self, data: bytes) -> int:
        """Write ``data`` (pyserial paces it at the real line speed)."""
        return int(self._require().write(data) or 0)

    def wait_readable(self, timeout: float) -> None:
        """Wait for input with select() on the port's descriptor."""
        ser = self._require()
        try:
            select.select([ser.fileno()], [], [], timeout)
        except (OSError, ValueError, AttributeError):
            time.sleep(timeout)

    def close(self) -> None:
        """Close the port."""
        ser, self._serial = self._serial, None
        if ser is not None:
            ser.close()

    def _require(self) -> Any:
        if self._serial is None:
            raise OSError("transport closed")
        return self._serial


class TcpTransport:
    """A TCP connection to a serial-device server (or a simulated reader's port)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None

    def open(self) -> None:
        """Connect (1 s timeout) and switch to non-blocking mode."""
        sock = socket.create_connection((self.host, self.port), timeout=1.0)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock

    def read(self, max_bytes: int) -> bytes:
        """Return the bytes waiting on the socket."""
        if self._sock is None:
            raise OSError("transport closed")
        try:
            data = self._sock.recv(max_bytes)
        except BlockingIOError:
            return b""
        if not data:
            raise OSError("connection closed by the peer")
        return data

    def write(self, data: bytes) -> int:
        """Send all of ``data``."""
        if self._sock is None:
            raise OSError("transport closed")
        self._sock.setblocking(True)
        try:
            self._sock.sendall(data)
        finally:
            self._sock.setblocking(False)
        return len(data)

    def wait_readable(self, timeout: float) -> None:
        """Wait for input with select()."""
        if self._sock is not None:
            select.select([self._sock], [], [], timeout)
        else:
            time.sleep(timeout)

    def close(self) -> None:
        """Close the socket."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class BusChannel(osdp.Channel):  # type: ignore[misc]
    """The libosdp channel of one bus: paced writes, watched reads, reopen on failure.

    ``pace_baud`` adds the wire time of every write (10 bits per byte), so a pty
    behaves like a real line; leave it None on a real serial port, which paces
    itself. Called only from the bus worker thread.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str,
        pace_baud: int | None = None,
        monitor: FrameMonitor | None = None,
        reopen_max_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.transport = transport
        self.name = name
        self.monitor = monitor or FrameMonitor()
        self.char_time = 10.0 / pace_baud if pace_baud else 0.0
        self.reopen_max_s = reopen_max_s
        self.is_open = False
        self.last_rx = 0.0
        self.rx_bytes = 0
        self.tx_bytes = 0
        self._retry_at = 0.0
        self._backoff = 0.5
        self._logged: set[str] = set()
        self.last_seen: dict[int, float] = {}
        self.last_plain: dict[int, float] = {}
        self.stale = StaleReplyFilter()
        self._addressed: int | None = None
        self._ready = bytearray()

    def ensure_open(self) -> bool:
        """Open the transport if it is closed and the back-off allows; return whether open."""
        if self.is_open:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        try:
            self.transport.open()
        except Exception as exc:
            self._retry_at = now + self._backoff
            self._backoff = min(self._backoff * 2, self.reopen_max_s)
            self._log_once("open", "OSDP bus %s cannot be opened (%s); retrying", self.name, exc)
            return False
        self.is_open = True
        self._backoff = 0.5
        self._logged.discard("open")
        self._logged.discard("io")
        _LOGGER.info("OSDP bus %s opened", self.name)
        return True

    def read(self, max_bytes: int) -> bytes:
        """Return bytes from the bus for libosdp, less stale replies; never raises."""
        if not self.ensure_open():
            return b""
        try:
            data = self.transport.read(max_bytes)
        except Exception as exc:
            self._fail(exc)
            return b""
        if data:
            self._watch(data)
        self._ready += self.stale.feed(data, expect=self._addressed, now=time.monotonic())
        out = bytes(self._ready[:max_bytes])
        del self._ready[:max_bytes]
        return out

    def write(self, buf: bytes) -> int:
        """Send a frame for libosdp after its wire time; never raises."""
        if not self.ensure_open():
            return 0
        try:
            data = bytes(buf)
            self._addressed = frame_address(data)
            if self.char_time:
                time.sleep(len(data) * self.char_time)
            sent = self.transport.write(data)
        except Exception as exc:
            self._fail(exc)
            return 0
        self.tx_bytes += sent
        return sent

    def flush(self) -> None:
        """Drop unread input (libosdp calls this after an error); never raises."""
        self._ready.clear()
        self.stale.clear()
        if not self.is_open:
            return
        try:
            for _ in range(64):
                data = self.transport.read(1024)
                if not data:
                    break
                self._watch(data)
        except Exception as exc:
            self._fail(exc)

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking early when bytes arrive."""
        if not self.is_open:
            time.sleep(timeout)
            return
        try:
            self.transport.wait_readable(timeout)
        except Exception:
            time.sleep(timeout)

    def close(self) -> None:
        """Close the transport."""
        self.is_open = False
        self._ready.clear()
        self.stale.clear()
        try:
            self.transport.close()
        except Exception:
            _LOGGER.debug("OSDP bus %s close failed", self.name, exc_info=True)

    def _watch(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_rx = now
        self.rx_bytes += len(data)
        try:
            for frame in self.monitor.feed(data):
                if frame.reply:
                    self.last_seen[frame.address] = now
                    if not frame.secure:
                        self.last_plain[frame.address] = now
        except Exception:  # the monitor is total; this guards libosdp against our bugs
            self._log_once("monitor", "OSDP bus %s: frame monitor failed", self.name)

    def _fail(self, exc: Exception) -> None:
        self._log_once("io", "OSDP bus %s I/O failed (%s); reopening", self.name, exc)
        self.close()
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.reopen_max_s)

    def _log_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            _LOGGER.warning(msg, *args)
