"""Decode what arrives from the wire: OSDP frame headers, card data and keypad digits.

Everything here is pure and total: malformed input yields ``None`` or a counted
error, never an exception, because these functions sit where untrusted bytes
from a reader enter Bastion. libosdp validates the frames it acts on; the
:class:`FrameMonitor` only watches the reply stream to tell a silent reader from
one that answers in plain text, garbles its frames or answers from an address
we do not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SOM = 0x53
MARK = 0xFF
CTRL_SQN = 0x03
CTRL_CRC = 0x04
CTRL_SCB = 0x08
MAX_FRAME = 1440
MIN_FRAME = 7  # SOM, ADDR, LEN(2), CTRL, CODE, checksum
REPLY_NAK = 0x41
REPLY_BUSY = 0x79
MAX_CARD_BITS = 1024
KEY_ENTER = frozenset({0x0D, ord("#")})
KEY_CLEAR = frozenset({0x7F, ord("*")})


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Return the OSDP CRC-16 (CCITT polynomial 0x1021, initial value 0x1D0F)."""
    crc = 0x1D0F
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def checksum8(data: bytes | bytearray | memoryview) -> int:
    """Return the OSDP one-byte checksum (two's complement of the byte sum)."""
    return (-sum(data)) & 0xFF


def build_frame(address: int, code: int, data: bytes = b"", *, sqn: int = 0) -> bytes:
    """Return a plain (unsecured) OSDP frame with a CRC; used by the simulator and tests."""
    length = 5 + 1 + len(data) + 2  # header, code, data, CRC
    head = bytes([SOM, address & 0xFF, length & 0xFF, length >> 8, CTRL_CRC | (sqn & CTRL_SQN)])
    body = head + bytes([code]) + data
    crc = crc16(body)
    return body + bytes([crc & 0xFF, crc >> 8])


@dataclass(frozen=True, slots=True)
class Frame:
    """Header facts of one well-formed frame seen on the wire."""

    address: int
    reply: bool
    secure: bool
    sqn: int
    code: int
    length: int


@dataclass
class FrameMonitor:
    """Split a byte stream into OSDP frames and count what is wrong with it.

    Feed it whatever the channel reads; it never raises and keeps at most one
    frame's worth of bytes. Not thread-safe: one monitor per channel.
    """

    known: frozenset[int] = frozenset()
    frames: int = 0
    bad_checksum: int = 0
    garbage: int = 0
    unknown_address: int = 0
    busy: int = 0
    nak: int = 0
    last_frame: Frame | None = None
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data`` and return the complete, valid frames found in it."""
        out: list[Frame] = []
        self._buf.extend(data)
        buf = self._buf
        while buf:
            start = buf.find(SOM)
            if start < 0:
                self.garbage += sum(1 for b in buf if b != MARK)
                buf.clear()
                break
            if start:
                self.garbage += sum(1 for b in buf[:start] if b != MARK)
                del buf[:start]
            if len(buf) < 5:
                break
            length = buf[2] | (buf[3] << 8)
            if length < MIN_FRAME or length > MAX_FRAME:
                self.garbage += 1
                del buf[:1]
                continue
            if len(buf) < length:
                break
            frame = self._check(bytes(buf[:length]))
            if frame is None:
                del buf[:1]  # resynchronise on the next SOM
                continue
            del buf[:length]
            out.append(frame)
        return out

    def _check(self, raw: bytes) -> Frame | None:
        if not integrity_ok(raw):
            self.bad_checksum += 1
            return None
        ctrl = raw[4]
        secure = bool(ctrl & CTRL_SCB)
        code_at = 5
        if secure:
            scb_len = raw[5]
            if scb_len < 2 or 5 + scb_len >= len(raw):
                self.bad_checksum += 1
                return None
            code_at = 5 + scb_len
        address = raw[1] & 0x7F
        frame = Frame(
            address=address,
            reply=bool(raw[1] & 0x80),
            secure=secure,
            sqn=ctrl & CTRL_SQN,
            code=raw[code_at],
            length=len(raw),
        )
        self.frames += 1
        if frame.reply and self.known and address not in self.known:
            self.unknown_address += 1
        if frame.reply and frame.code == REPLY_BUSY:
            self.busy += 1
        if frame.reply and frame.code == REPLY_NAK:
            self.nak += 1
        self.last_frame = frame
        return frame

    def counters(self) -> dict[str, int]:
        """Return the error counters (for status pages and logs)."""
        return {
            "frames": self.frames,
            "bad_checksum": self.bad_checksum,
            "garbage": self.garbage,
            "unknown_address": self.unknown_address,
            "busy": self.busy,
            "nak": self.nak,
        }


def integrity_ok(raw: bytes) -> bool:
    """Return whether a whole frame's CRC-16 (or one-byte checksum) is right."""
    if raw[4] & CTRL_CRC:
        return len(raw) >= 8 and crc16(raw[:-2]) == (raw[-2] | (raw[-1] << 8))
    return checksum8(raw[:-1]) == raw[-1]


def frame_address(data: bytes | bytearray) -> int | None:
    """Return the address byte (reply bit cleared) of a frame that starts ``data``."""
    start = 1 if data[:1] == bytes([MARK]) else 0
    if len(data) < start + 2 or data[start] != SOM:
        return None
    return data[start + 1] & 0x7F


@dataclass
class StaleReplyFilter:
    """Keep a reply from a reader the panel is no longer waiting for away from libosdp.

    On a shared line, a reply that comes after libosdp stopped waiting for it (a busy
    host, a slow reader) lands in the next reader's exchange, and libosdp takes that
    innocent reader offline for the "invalid PD address". The panel only ever waits for
    the reader it addressed last, so a whole, valid reply from another address is stale:
    it is counted and dropped. Every other byte passes unchanged; the bytes of an
    unfinished frame are held until it is complete, or passed on after ``hold_s``.
    """

    hold_s: float = 0.05
    stale: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _held_since: float | None = None

    def feed(self, data: bytes, *, expect: int | None, now: float) -> bytes:
        """Return what libosdp should see of ``data`` (plus held bytes now released)."""
        buf = self._buf
        buf.extend(data)
        out = bytearray()
        while buf:
            start = buf.find(SOM)
            if start < 0:
                out += buf
                buf.clear()
                break
            if start:
                out += buf[:start]
                del buf[:start]
            if len(buf) < 5:
                break
            length = buf[2] | (buf[3] << 8)
            if length < MIN_FRAME or length > MAX_FRAME:
                out += buf[:1]
                del buf[:1]
                continue
            if len(buf) < length:
                break
            raw = bytes(buf[:length])
            del buf[:length]
            if self._is_stale(raw, expect):
                self.stale += 1
                continue
            out += raw
        if not buf:
            self._held_since = None
        elif self._held_since is None:
            self._held_since = now
        elif now - self._held_since >= self.hold_s:
            out += buf
            buf.clear()
            self._held_since = None
        return bytes(out)

    def clear(self) -> None:
        """Forget held bytes (libosdp flushed the line)."""
        self._buf.clear()
        self._held_since = None

    @staticmethod
    def _is_stale(raw: bytes, expect: int | None) -> bool:
        if expect is None or not raw[1] & 0x80:
            return False
        address = raw[1] & 0x7F
        return address not in (expect, 0x7F) and integrity_ok(raw)


@dataclass(frozen=True, slots=True)
class CardData:
    """A card read reduced to a canonical string (hashed before it leaves the integration)."""

    canonical: str
    bits: int
    format: str

    def __repr__(self) -> str:
        return f"CardData(bits={self.bits}, format={self.format!r})"


def decode_card(event: Mapping[str, Any]) -> CardData | None:
    """Return the canonical card data of a libosdp card-read event, or None when malformed.

    Raw (Wiegand or unspecified) reads keep exactly ``length`` bits, MSB first; ASCII
    reads keep their printable text. The canonical string is what gets hashed.
    """
    data = event.get("data")
    fmt = event.get("format")
    if not isinstance(data, bytes | bytearray) or not data or isinstance(fmt, bool):
        return None
    if fmt == 2:  # ASCII
        try:
            text = bytes(data).decode("ascii")
        except UnicodeDecodeError:
            return None
        if not text.isprintable() or len(text) > 128:
            return None
        return CardData(canonical=f"ascii:{text}", bits=8 * len(text), format="ascii")
    if fmt not in (0, 1):
        return None
    bits = event.get("length")
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= MAX_CARD_BITS:
        return None
    if len(data) != (bits + 7) // 8:
        return None
    value = int.from_bytes(bytes(data), "big") >> (8 * len(data) - bits)
    width = (bits + 3) // 4
    return CardData(
        canonical=f"raw:{bits}:{value:0{width}x}",
        bits=bits,
        format="wiegand" if fmt == 1 else "raw",
    )


@dataclass
class KeypadBuffer:
    """Collect keypad digits until ENTER; '*' clears. Holds at most ``max_digits``."""

    max_digits: int = 12
    digits: str = ""

    def feed(self, data: bytes) -> str | None:
        """Add keypad bytes; return the PIN when ENTER was pressed, else None."""
        for byte in data:
            if byte in KEY_ENTER:
                pin, self.digits = self.digits, ""
                if pin:
                    return pin
            elif byte in KEY_CLEAR:
                self.digits = ""
            elif 0x30 <= byte <= 0x39 and len(self.digits) < self.max_digits:
                self.digits += chr(byte)
            elif 0 <= byte <= 9 and len(self.digits) < self.max_digits:
                self.digits += chr(0x30 + byte)  # some readers send the digit values
        return None


def decode_report(event: Mapping[str, Any]) -> tuple[int, tuple[int, ...]] | None:
    """Return ``(report_type, levels)`` of a libosdp status event, or None when malformed."""
    kind = event.get("type")
    report = event.get("report")
    if not isinstance(kind, int) or isinstance(kind, bool):
        return None
    if not isinstance(report, bytes | bytearray) or len(report) > 64:
        return None
    return kind, tuple(1 if b else 0 for b in report)
