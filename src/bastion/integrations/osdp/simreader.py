"""A simulated OSDP reader bus: libosdp PDs in one process on a baud-paced pty or TCP port.

Several readers share one line, as on RS-485: every reader hears every command
and answers only its own address. A small prompt on stdin presents cards, types
PINs, presses REX, opens the door, cuts the tamper loop or injects faults; every
command a reader receives is printed on stdout as one JSON line, so tests and
benchmarks can follow along. Run it with ``bastion sim reader``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import socket
import sys
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import osdp
import osdp_sys

from bastion.integrations.osdp.codec import MAX_FRAME, REPLY_BUSY, SOM, build_frame

HELP = """commands ([@ADDR] picks a reader; default: the first):
  card [@A] <number | fc:number | raw:BITS:HEX>   present a card (26-bit H10301 by default)
  pin [@A] <digits>          type a PIN and ENTER        keys [@A] <text>   raw keypad bytes
  rex [@A] press|on|off      request-to-exit             door [@A] open|close
  tamper [@A] on|off         power [@A] fail|ok          unplug [@A] / plug [@A]
  nak [@A] N                 NAK the next N commands     busy [@A] N   answer BUSY N times
  corrupt [@A] N             garble the next N replies   garbage N     N random bytes on the line
  late [@A] N [SECONDS]      send the next N replies SECONDS late (default 0.5)
  foreign ADDR               a reply from an unknown address
  status                     show the readers            quit"""


def wiegand26(facility: int, number: int) -> bytes:
    """Return the 26 bits of an H10301 card (even/odd parity), left-aligned in 4 bytes."""
    payload = ((facility & 0xFF) << 16) | (number & 0xFFFF)
    even = bin(payload >> 12).count("1") & 1
    odd = 1 - (bin(payload & 0xFFF).count("1") & 1)
    bits = (even << 25) | (payload << 1) | odd
    return (bits << 6).to_bytes(4, "big")


@dataclass
class SimPd:
    """One simulated reader on the line."""

    address: int
    bus: SimBus
    key: bytes | None
    plain: bool
    ctx: Any = None
    rx: bytearray = field(default_factory=bytearray)
    inputs: list[int] = field(default_factory=lambda: [0, 0])
    local: list[int] = field(default_factory=lambda: [0, 0])
    unplugged: bool = False
    nak: int = 0
    busy: int = 0
    corrupt: int = 0
    late: int = 0
    late_s: float = 0.5
    received: int = 0
    hold: bytearray = field(default_factory=bytearray)
    last_command: bytes = b""
    last_reply: bytes = b""
    repeats: int = 0

    def take(self, data: bytes) -> None:
        """Receive line bytes frame by frame, answering a repeated command as the spec says.

        A panel that gave up waiting (our reply was late) sends the same command again
        with the same sequence number; a reader must then send its previous reply again,
        not act twice. While BUSY is injected, our commands are answered BUSY unseen.
        """
        hold = self.hold
        hold.extend(data)
        while hold:
            start = hold.find(SOM)
            if start < 0:
                start = len(hold)
            self.rx.extend(hold[:start])  # not a frame: libosdp discards it
            del hold[:start]
            if len(hold) < 5:
                break
            length = hold[2] | (hold[3] << 8)
            if not 7 <= length <= MAX_FRAME:
                self.rx.extend(hold[:1])
                del hold[:1]
                continue
            if len(hold) < length:
                break
            frame = bytes(hold[:length])
            del hold[:length]
            ours = length >= 7 and frame[1] & 0x7F == self.address
            if ours and self.busy > 0:
                self.busy -= 1
                self.bus.send(build_frame(0x80 | self.address, REPLY_BUSY, sqn=frame[4] & 0x03))
                self.bus.emit({"kind": "busy", "addr": self.address})
            elif ours and frame[4] & 0x03 and frame == self.last_command and self.last_reply:
                self.repeats += 1
                self.bus.send(self.last_reply)
                self.bus.emit({"kind": "repeat", "addr": self.address})
            else:
                if ours:
                    self.last_command, self.last_reply = frame, b""
                self.rx.extend(frame)

    def start(self, log_level: int) -> None:
        """Create the libosdp PD context."""
        caps = [
            (osdp.Capability.OutputControl, 1, 1),
            (osdp.Capability.LEDControl, 1, 1),
            (osdp.Capability.AudibleControl, 1, 1),
            (osdp.Capability.ContactStatusMonitoring, 1, len(self.inputs)),
            (osdp.Capability.CardDataFormat, 1, 1),
        ]
        if not self.plain:
            caps.append((osdp.Capability.CommunicationSecurity, 1, 1))
        flags = [] if self.key else [osdp.LibFlag.InstallMode]
        info = osdp.PDInfo(self.address, _PdChannel(self), scbk=self.key, flags=flags)
        osdp_sys.set_loglevel(log_level)
        self.ctx = osdp_sys.PeripheralDevice(
            info.get(), capabilities=osdp.PDCapabilities(caps).get()
        )
        self.ctx.set_command_callback(self._on_command)

    def _on_command(self, command: dict[str, Any]) -> tuple[int, Any]:
        self.received += 1
        if self.nak > 0:
            self.nak -= 1
            self.bus.emit({"kind": "nak", "addr": self.address, "cmd": command.get("command")})
            return -1, None
        if command.get("command") == osdp.Command.Keyset:
            data = command.get("data", b"")
            self.key = bytes(data)
            self.bus.save_key(self.address, self.key)
            self.bus.emit({"kind": "keyset", "addr": self.address})
            return 0, None
        self.bus.emit({"kind": "command", "addr": self.address, "cmd": _jsonable(command)})
        return 0, None

    def submit(self, event: dict[str, Any]) -> bool:
        """Queue an event for the next poll."""
        with self.bus.lock:
            return bool(self.ctx.submit_event(event))


class _PdChannel(osdp.Channel):  # type: ignore[misc]
    def __init__(self, pd: SimPd) -> None:
        super().__init__()
        self.pd = pd

    def read(self, max_bytes: int) -> bytes:
        data = bytes(self.pd.rx[:max_bytes])
        del self.pd.rx[:max_bytes]
        return data

    def write(self, buf: bytes) -> int:
        try:
            self.pd.bus.reply(self.pd, bytes(buf))
        except Exception as exc:  # never let an error escape into libosdp
            self.pd.bus.emit({"kind": "error", "addr": self.pd.address, "error": str(exc)})
        return len(buf)

    def flush(self) -> None:
        self.pd.rx.clear()


class SimBus:
    """The shared line: a pty (we hold the master) or a TCP server (one client)."""

    def __init__(
        self,
        *,
        baud: int,
        out: TextIO,
        key_dir: Path | None = None,
        pace: bool = True,
    ) -> None:
        self.baud = baud
        self.char_time = 10.0 / baud if pace else 0.0
        self.out = out
        self.key_dir = key_dir
        self.lock = threading.RLock()
        self.out_lock = threading.Lock()
        self.pds: list[SimPd] = []
        self.fd: int | None = None
        self.slave_fd: int | None = None
        self.path: str | None = None
        self.server: socket.socket | None = None
        self.client: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- endpoints ------------------------------------------------------------------------

    def open_pty(self, link: Path | None = None) -> str:
        """Create the pty pair; return the path the control panel should open."""
        master, slave = pty.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.fd, self.slave_fd = master, slave
        self.path = os.ttyname(slave)
        if link is not None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(self.path)
        return self.path

    def listen_tcp(self, host: str, port: int) -> int:
        """Listen for the control panel; return the bound port."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(1)
        server.setblocking(False)
        self.server = server
        return int(server.getsockname()[1])

    # --- keys -----------------------------------------------------------------------------

    def load_key(self, address: int) -> bytes | None:
        """Return the stored key of a reader (None: install mode)."""
        if self.key_dir is None:
            return None
        path = self.key_dir / f"pd-{address}.key"
        return bytes.fromhex(path.read_text().strip()) if path.exists() else None

    def save_key(self, address: int, key: bytes) -> None:
        """Persist a reader's new key, as a real reader keeps it across power cycles."""
        if self.key_dir is None:
            return
        self.key_dir.mkdir(parents=True, exist_ok=True)
        path = self.key_dir / f"pd-{address}.key"
        path.write_text(key.hex())
        path.chmod(0o600)

    # --- line I/O -------------------------------------------------------------------------

    def reply(self, pd: SimPd, data: bytes) -> None:
        """Put a reader's reply on the line, applying the injected faults."""
        if pd.unplugged:
            return
        pd.last_reply = data
        if pd.late > 0:
            # Another thread, so the other readers on the line keep answering meanwhile.
            pd.late -= 1
            timer = threading.Timer(pd.late_s, self._send_late, (pd, data))
            timer.daemon = True
            timer.start()
            return
        if pd.corrupt > 0:
            pd.corrupt -= 1
            data = data[:-1] + bytes([data[-1] ^ 0x5A])
            self.emit({"kind": "corrupted", "addr": pd.address})
        self.send(data)

    def _send_late(self, pd: SimPd, data: bytes) -> None:
        self.send(data)
        self.emit({"kind": "late", "addr": pd.address})

    def send(self, data: bytes) -> None:
        """Write raw bytes on the line after their wire time."""
        if self.char_time:
            time.sleep(len(data) * self.char_time)
        try:
            if self.fd is not None:
                os.write(self.fd, data)
            elif self.client is not None:
                self.client.sendall(data)
        except OSError:
            self._drop_client()

    def _drop_client(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
            self.client = None

    def _read(self) -> bytes:
        if self.fd is not None:
            select.select([self.fd], [], [], 0.002)
            try:
                return os.read(self.fd, 4096)
            except (BlockingIOError, OSError):
                return b""
        if self.server is not None:
            ready, _, _ = select.select(
                [self.server] + ([self.client] if self.client else []), [], [], 0.002
            )
            if self.server in ready:
                with contextlib.suppress(BlockingIOError):
                    conn, _ = self.server.accept()
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._drop_client()
                    self.client = conn
                    self.emit({"kind": "connected"})
            if self.client is not None and self.client in ready:
                try:
                    data = self.client.recv(4096)
                except BlockingIOError:
                    return b""
                except OSError:
                    data = b""
                if not data:
                    self._drop_client()
                return data
            return b""
        time.sleep(0.002)
        return b""

    def run(self) -> None:
        """Move bytes between the line and the readers and refresh them (thread body)."""
        while not self._stop.is_set():
            data = self._read()
            with self.lock:
                if data:
                    for pd in self.pds:
                        if not pd.unplugged:
                            pd.take(data)
                for pd in self.pds:
                    pd.ctx.refresh()

    def start(self) -> None:
        """Start the line thread."""
        self._thread = threading.Thread(target=self.run, name="sim-bus", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the line thread and close the endpoints."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        for fd in (self.fd, self.slave_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._drop_client()
        if self.server is not None:
            self.server.close()

    def emit(self, record: dict[str, Any]) -> None:
        """Print one JSON line with a monotonic time stamp."""
        record = {"t": time.monotonic(), **record}
        with self.out_lock:
            self.out.write(json.dumps(record) + "\n")
            self.out.flush()


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes | bytearray) else v) for k, v in value.items()}


def _card_event(arg: str) -> dict[str, Any]:
    if arg.startswith("raw:"):
        _, bits, hexdata = arg.split(":", 2)
        nbits = int(bits)
        value = int(hexdata, 16) << ((8 - nbits % 8) % 8)
        data = value.to_bytes((nbits + 7) // 8, "big")
    else:
        fc, _, number = arg.rpartition(":")
        nbits, data = 26, wiegand26(int(fc) if fc else 1, int(number))
    return {
        "event": osdp.Event.CardRead,
        "reader_no": 0,
        "format": osdp.CardFormat.Wiegand,
        "direction": 0,
        "length": nbits,
        "data": data,
    }


class Prompt:
    """Interpret the prompt's commands against a running :class:`SimBus`."""

    def __init__(self, bus: SimBus) -> None:
        self.bus = bus

    def _pd(self, words: list[str]) -> tuple[SimPd, list[str]]:
        if words and words[0].startswith("@"):
            address = int(words[0][1:])
            for pd in self.bus.pds:
                if pd.address == address:
                    return pd, words[1:]
            raise ValueError(f"no reader at address {address}")
        return self.bus.pds[0], words

    def _status(self, pd: SimPd, kind: int, levels: list[int]) -> None:
        pd.submit({"event": osdp.Event.Status, "type": kind, "report": bytes(levels)})

    def handle(self, line: str) -> bool:
        """Run one command; return False to quit."""
        words = line.split()
        if not words:
            return True
        cmd, rest = words[0].lower(), words[1:]
        bus = self.bus
        if cmd in ("quit", "exit"):
            return False
        if cmd == "help":
            bus.out.write(HELP + "\n")
            return True
        if cmd == "garbage":
            bus.send(os.urandom(int(rest[0]) if rest else 16))
            bus.emit({"kind": "garbage"})
            return True
        if cmd == "foreign":
            address = int(rest[0]) if rest else 0x55
            bus.send(build_frame(0x80 | address, 0x40))
            bus.emit({"kind": "foreign", "addr": address})
            return True
        if cmd == "status":
            for pd in bus.pds:
                bus.emit(
                    {
                        "kind": "status",
                        "addr": pd.address,
                        "online": bool(pd.ctx.is_online()),
                        "secure": bool(pd.ctx.is_sc_active()),
                        "keyed": pd.key is not None,
                        "inputs": pd.inputs,
                        "local": pd.local,
                        "unplugged": pd.unplugged,
                    }
                )
            return True
        pd, args = self._pd(rest)
        arg = args[0] if args else ""
        if cmd == "card":
            event = _card_event(arg or "1:1")
            bus.emit({"kind": "presented", "addr": pd.address})
            pd.submit(event)
        elif cmd in ("pin", "keys"):
            data = arg.encode() + (b"\r" if cmd == "pin" else b"")
            pd.submit({"event": osdp.Event.KeyPress, "reader_no": 0, "data": data})
        elif cmd == "rex":
            if arg in ("press", ""):
                pd.inputs[1] = 1
                self._status(pd, osdp.StatusReportType.Input, pd.inputs)
                time.sleep(0.3)
                pd.inputs[1] = 0
            else:
                pd.inputs[1] = 1 if arg == "on" else 0
            self._status(pd, osdp.StatusReportType.Input, pd.inputs)
        elif cmd == "door":
            pd.inputs[0] = 1 if arg == "open" else 0
            self._status(pd, osdp.StatusReportType.Input, pd.inputs)
        elif cmd == "tamper":
            pd.local[0] = 1 if arg == "on" else 0
            self._status(pd, osdp.StatusReportType.Local, pd.local)
        elif cmd == "power":
            pd.local[1] = 1 if arg == "fail" else 0
            self._status(pd, osdp.StatusReportType.Local, pd.local)
        elif cmd == "unplug":
            pd.unplugged = True
        elif cmd == "plug":
            pd.unplugged = False
        elif cmd == "nak":
            pd.nak = int(arg or 1)
        elif cmd == "busy":
            pd.busy = int(arg or 1)
        elif cmd == "corrupt":
            pd.corrupt = int(arg or 1)
        elif cmd == "late":
            pd.late = int(arg or 1)
            pd.late_s = float(args[1]) if len(args) > 1 else 0.5
        else:
            raise ValueError(f"unknown command {cmd!r} (try 'help')")
        bus.emit({"kind": "ok", "cmd": cmd, "addr": pd.address})
        return True


def serve(
    *,
    addresses: list[int],
    baud: int,
    pty_link: Path | None = None,
    tcp: tuple[str, int] | None = None,
    key_dir: Path | None = None,
    plain: bool = False,
    pace: bool = True,
    verbose: bool = False,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> None:
    """Run simulated readers until stdin closes or 'quit' (blocking)."""
    out = out or sys.stdout
    stdin = stdin or sys.stdin
    bus = SimBus(baud=baud, out=out, key_dir=key_dir, pace=pace)
    if tcp is not None:
        port = bus.listen_tcp(*tcp)
        bus.emit({"kind": "ready", "tcp": f"{tcp[0]}:{port}", "addresses": addresses})
    else:
        path = bus.open_pty(pty_link)
        bus.emit(
            {"kind": "ready", "pty": path, "link": str(pty_link or ""), "addresses": addresses}
        )
    level = osdp.LogLevel.Info if verbose else osdp.LogLevel.Emergency
    for address in addresses:
        pd = SimPd(address=address, bus=bus, key=bus.load_key(address), plain=plain)
        pd.start(level)
        bus.pds.append(pd)
    bus.start()
    prompt = Prompt(bus)
    interactive = stdin.isatty()
    try:
        while True:
            if interactive:
                out.write("> ")
                out.flush()
            line = stdin.readline()
            if not line:
                break
            try:
                if not prompt.handle(line):
                    break
            except (ValueError, IndexError) as exc:
                bus.emit({"kind": "error", "error": str(exc)})
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()
        if pty_link is not None:
            with contextlib.suppress(OSError):
                pty_link.unlink()
