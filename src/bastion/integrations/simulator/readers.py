"""Drive simulated OSDP readers (``bastion sim reader`` processes) from the traffic simulator.

Each OSDP bus of the site gets one child process running libosdp readers on a
baud-paced pty; the control panel (the OSDP integration) opens the same pty. The
simulator then presents cards and opens doors by typing at each process's prompt,
so demo traffic crosses the real protocol end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from bastion.site.schemas import DeviceType, Site

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderLine:
    """Where a reader lives: its bus, address and the pty path of that bus."""

    bus: str
    address: int
    baud: int
    link: Path


def reader_lines(site: Site, folder: Path) -> dict[str, ReaderLine]:
    """Return reader id → bus line for every OSDP reader of ``site``."""
    lines: dict[str, ReaderLine] = {}
    for device in site.devices:
        if device.type is DeviceType.READER and device.osdp is not None:
            bus = device.osdp.bus
            lines[device.id] = ReaderLine(
                bus, device.osdp.address, device.osdp.baud, folder / f"osdp-{bus}"
            )
    return lines


class ReaderProcesses:
    """One ``bastion sim reader`` child process per bus, driven through its stdin."""

    def __init__(self, site: Site, folder: Path) -> None:
        self.lines = reader_lines(site, folder)
        self.folder = folder
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._readers: list[asyncio.Task[None]] = []

    def buses(self) -> dict[str, list[ReaderLine]]:
        """Return bus name → its readers."""
        grouped: dict[str, list[ReaderLine]] = {}
        for line in self.lines.values():
            grouped.setdefault(line.bus, []).append(line)
        return grouped

    async def start(self, *, ready_within_s: float = 30.0) -> None:
        """Start every bus process and wait until each reports ready."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for bus, lines in sorted(self.buses().items()):
            baud = lines[0].baud
            args = [sys.executable, "-m", "bastion", "sim", "reader", "--baud", str(baud)]
            for line in sorted(lines, key=lambda item: item.address):
                args += ["--address", str(line.address)]
            args += ["--link", str(lines[0].link), "--key-dir", str(self.folder / "sim-keys")]
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            self._procs[bus] = proc
            await asyncio.wait_for(self._until_ready(proc), ready_within_s)
            self._readers.append(asyncio.create_task(self._drain(proc), name=f"sim-{bus}"))

    @staticmethod
    async def _until_ready(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise RuntimeError("simulated reader process exited before it was ready")
            with contextlib.suppress(ValueError):
                if json.loads(raw).get("kind") == "ready":
                    return

    @staticmethod
    async def _drain(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while await proc.stdout.readline():
            pass

    async def send(self, reader_id: str, command: str, arg: str = "") -> None:
        """Type ``command @address arg`` at the prompt of the reader's bus."""
        line = self.lines[reader_id]
        proc = self._procs.get(line.bus)
        if proc is None or proc.stdin is None:
            raise RuntimeError(f"bus {line.bus!r} is not running")
        proc.stdin.write(f"{command} @{line.address} {arg}\n".encode())
        await proc.stdin.drain()

    async def stop(self) -> None:
        """Ask each process to quit, then make sure it is gone."""
        for proc in self._procs.values():
            if proc.stdin is not None and proc.returncode is None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    proc.stdin.write(b"quit\n")
                    await proc.stdin.drain()
        for proc in self._procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._procs.clear()
        self._readers.clear()
