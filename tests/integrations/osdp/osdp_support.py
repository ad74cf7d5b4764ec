"""Helpers for the OSDP suite: the simulated reader process, a hub, a small real decider."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bastion.core.bus import Bus
from bastion.core.clock import SYSTEM_CLOCK
from bastion.core.events import Event
from bastion.core.ports import Presentation, Verdict
from bastion.integrations.osdp import MemoryKeyStore, OsdpIntegration
from bastion.site.schemas import Site

HASH_KEY = b"osdp-test-hash-key-0123456789abcdef"
CARD_GRANTED = "1:1001"
CARD_DENIED = "1:2002"
CARD_WITH_PIN = "1:3003"


def hash_credential(value: str, *, purpose: str) -> str:
    return hmac.new(HASH_KEY, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def card_canonical(spec: str) -> str:
    """Return the canonical card string our codec derives from a sim 'card' argument."""
    from bastion.integrations.osdp.simreader import wiegand26

    fc, _, number = spec.rpartition(":")
    value = int.from_bytes(wiegand26(int(fc or 1), int(number)), "big") >> 6
    return f"raw:26:{value:07x}"


class DictDecider:
    """A real AccessDecider at the edge: card (and PIN) hashes to verdicts."""

    def __init__(self) -> None:
        self.cards: dict[str, Verdict] = {}
        self.card_pins: dict[tuple[str, str], Verdict] = {}
        self.seen: list[Presentation] = []

    def decide(self, presentation: Presentation) -> Verdict:
        self.seen.append(presentation)
        if presentation.pin_hash is not None and presentation.card_hash is not None:
            return self.card_pins.get(
                (presentation.card_hash, presentation.pin_hash),
                Verdict(granted=False, reason="wrong_pin"),
            )
        if presentation.card_hash is None:
            return Verdict(granted=False, reason="no_card")
        return self.cards.get(
            presentation.card_hash, Verdict(granted=False, reason="unknown_credential")
        )


@dataclass
class FakeHub:
    bus: Bus
    access: DictDecider
    extras: dict[str, Any]
    clock: Any = SYSTEM_CLOCK

    def hash_credential(self, value: str, *, purpose: str) -> str:
        return hash_credential(value, purpose=purpose)


def make_site(n_readers: int, *, held_open_s: float = 30.0, strike_time_s: float = 3.0) -> Site:
    doors = []
    devices = []
    for i in range(1, n_readers + 1):
        doors.append(
            {
                "id": f"door-{i}",
                "name": f"Door {i}",
                "from": "outside",
                "to": "lobby",
                "strike_time_s": strike_time_s,
                "held_open_s": held_open_s,
            }
        )
        devices.append(
            {
                "id": f"reader-{i}",
                "type": "reader",
                "door": f"door-{i}",
                "side": "entry",
                "osdp": {"bus": "bus1", "address": i, "baud": 115200},
            }
        )
        devices.append({"id": f"contact-{i}", "type": "contact", "door": f"door-{i}"})
        devices.append({"id": f"rex-{i}", "type": "rex", "door": f"door-{i}"})
    return Site.model_validate(
        {
            "site": {"id": "test-site", "name": "Test site", "timezone": "UTC"},
            "zones": [{"id": "lobby", "name": "Lobby", "layer": "building"}],
            "doors": doors,
            "devices": devices,
        }
    )


def with_baud(site: Site, baud: int) -> Site:
    data = site.model_dump(by_alias=True)
    for device in data["devices"]:
        if device.get("osdp"):
            device["osdp"]["baud"] = baud
    return Site.model_validate(data)


class SimProcess:
    """`bastion sim reader` in its own process; its JSON lines are collected by a thread."""

    def __init__(self, args: list[str]) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bastion.cli.sim", "reader", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.records: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        # Starting Python on a busy machine can take a while; a dead process fails fast below.
        self.ready = self.wait_for(lambda r: r["kind"] == "ready", timeout=120)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            with self._cond:
                self.records.append(json.loads(line))
                self._cond.notify_all()

    @property
    def path(self) -> str:
        return str(self.ready["pty"])

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for rec in self.records[start:]:
                    if pred(rec):
                        return rec
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; last records: {self.records[-8:]}")
                if self.proc.poll() is not None and not self._thread.is_alive():
                    raise AssertionError(f"the reader process exited ({self.proc.returncode})")
                self._cond.wait(min(left, 1.0))

    async def await_for(
        self, pred: Callable[[dict[str, Any]], bool], within: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for, pred, within, start)

    def mark(self) -> int:
        with self._cond:
            return len(self.records)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.send("quit")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


async def until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    """Wait until ``predicate()`` holds, polling; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def is_command(
    kind: int, addr: int | None = None, **match: Any
) -> Callable[[dict[str, Any]], bool]:
    def pred(rec: dict[str, Any]) -> bool:
        if rec.get("kind") != "command" or rec["cmd"].get("command") != kind:
            return False
        if addr is not None and rec.get("addr") != addr:
            return False
        return all(rec["cmd"].get(k) == v for k, v in match.items())

    return pred


@dataclass
class OsdpEnv:
    sim: SimProcess
    integration: OsdpIntegration
    hub: FakeHub
    events: list[Event[Any]]
    keys: MemoryKeyStore
    site: Site
    unloaded: bool = False

    async def stop(self) -> None:
        await self.integration.unload()
        await self.hub.bus.close()
        self.unloaded = True

    def grant(self, card: str, strike_time_s: float = 0.0) -> None:
        h = hash_credential(card_canonical(card), purpose="card")
        self.hub.access.cards[h] = Verdict(
            granted=True, reason="granted", strike_time_s=strike_time_s
        )

    def grant_with_pin(self, card: str, pin: str) -> None:
        key = (
            hash_credential(card_canonical(card), purpose="card"),
            hash_credential(pin, purpose="pin"),
        )
        self.hub.access.card_pins[key] = Verdict(granted=True, reason="granted")

    def names(self) -> list[str]:
        return [e.type.name for e in self.events]

    def of(self, name: str) -> list[Event[Any]]:
        return [e for e in self.events if e.type.name == name]

    async def wait_event(
        self, pred: Callable[[Event[Any]], bool], within: float = 10.0
    ) -> Event[Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self.hub.bus.drain()
            for event in self.events:
                if pred(event):
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such event; got {self.names()}")

    async def wait_status(
        self, reader_id: str, within: float = 15.0, **want: Any
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            status = self.integration.status()[reader_id]
            if all(status.get(k) == v for k, v in want.items()):
                return status
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"{reader_id} never reached {want}: {self.integration.status()[reader_id]}"
        )


Starter = Callable[..., Any]
