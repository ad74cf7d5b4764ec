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

from bastion.integrations.osdp.keys import ReaderKeyStore
from bastion.site.schemas import DeviceType, Site

_LOGGER = logging.getLogger(__name__)
KEY_FOLDER = "sim-keys"


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


def key_folder(folder: Path, bus: str) -> Path:
    """Return where the simulated readers of one bus keep their keys.

    Each bus has its own folder: addresses repeat across buses (both start at 1), and
    readers sharing ``pd-1.key`` would each take the other's key on the next start.
    """
    return folder / KEY_FOLDER / bus


def _read_key(path: Path) -> bytes | None:
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


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

    def reconcile_keys(self, store: ReaderKeyStore) -> list[str]:
        """Make each simulated reader and the panel's key store agree before the buses start.

        Keys kept in the shared folder of earlier versions move to their bus when they are
        the reader's key. A reader whose key is lost or different is reset: both sides
        forget it and the panel keys it again in install mode. Returns the readers reset.
        Blocking (file I/O).
        """
        shared = self.folder / KEY_FOLDER
        reset: list[str] = []
        for reader_id, line in sorted(self.lines.items()):
            path = key_folder(self.folder, line.bus) / f"pd-{line.address}.key"
            panel = store.get(reader_id)
            ours = _read_key(path)
            moved = _read_key(shared / f"pd-{line.address}.key")
            if ours is None and panel is not None and moved == panel:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(panel.hex())
                path.chmod(0o600)
                ours = panel
            if panel is not None and ours != panel:
                store.forget(reader_id)
                path.unlink(missing_ok=True)
                reset.append(reader_id)
        for old in shared.glob("pd-*.key"):
            old.unlink()
        if reset:
            _LOGGER.warning("simulated readers %s lost their keys; keying them again", reset)
        return reset

    async def start(self, *, ready_within_s: float = 120.0) -> None:
        """Start every bus process and wait until each reports ready.

        A process that dies is noticed at once (its output ends); the time limit is only
        for one that hangs, and is generous because a busy machine starts Python slowly.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        for bus, lines in sorted(self.buses().items()):
            baud = lines[0].baud
            # The sim command's own module: importing the whole CLI takes seconds more.
            args = [sys.executable, "-m", "bastion.cli.sim", "reader", "--baud", str(baud)]
            for line in sorted(lines, key=lambda item: item.address):
                args += ["--address", str(line.address)]
            args += ["--link", str(lines[0].link), "--key-dir", str(key_folder(self.folder, bus))]
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
