"""The OSDP control panel: readers on buses, card and PIN to the access engine, door supervision.

Each bus runs in a :class:`BusWorker` thread; its libosdp events arrive here in
the event loop. A card read is hashed, decided in memory by ``hub.access`` and
answered at once (strike, LED, buzzer). Events are published in order by one
publisher task, so a slow ledger never delays the strike and nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import osdp
from pydantic import BaseModel

from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_DEVICE_HEALTH,
    EVENT_DEVICE_STATUS,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_REX,
    EVENT_DOOR_STATE,
    EVENT_READER_CARD,
    EVENT_READER_STATUS,
    AlarmPayload,
    DeviceHealthPayload,
    DeviceStatusPayload,
    DoorPayload,
    EventType,
    Payload,
    ReaderCardPayload,
    ReaderStatusPayload,
)
from bastion.core.ports import Presentation, PresentationKind, Verdict
from bastion.integrations.osdp.channel import (
    BusChannel,
    FdTransport,
    SerialTransport,
    TcpTransport,
    Transport,
)
from bastion.integrations.osdp.codec import (
    FrameMonitor,
    KeypadBuffer,
    decode_card,
    decode_report,
)
from bastion.integrations.osdp.config import BusConfig, OsdpConfig
from bastion.integrations.osdp.door import DoorOutcome, DoorSupervisor, Outcome
from bastion.integrations.osdp.keys import ReaderKeyStore
from bastion.integrations.osdp.worker import NOTIFY_SC, BusWorker, PdLink, PdSpec
from bastion.site.schemas import Device, DeviceType, Door, Site

_LOGGER = logging.getLogger(__name__)

LOG_LEVELS = {
    "error": osdp.LogLevel.Error,
    "warning": osdp.LogLevel.Warning,
    "info": osdp.LogLevel.Info,
    "debug": osdp.LogLevel.Debug,
}
EVENT_CARD = osdp.Event.CardRead
EVENT_KEYPAD = osdp.Event.KeyPress
EVENT_STATUS = osdp.Event.Status
EVENT_NOTIFY = osdp.Event.Notification
REPORT_INPUT = osdp.StatusReportType.Input
REPORT_LOCAL = osdp.StatusReportType.Local
OUT_OFF_ABORT = 1  # permanent off, abort a timed operation
OUT_ON = 2
OUT_TIMED_ON = 5
LED_GREEN = osdp.CommandLEDColor.Green
LED_RED = osdp.CommandLEDColor.Red
LED_AMBER = osdp.CommandLEDColor.Amber
LED_OFF = osdp.CommandLEDColor.Black


def out_command(output: int, control: int, timer_s: float = 0.0) -> dict[str, Any]:
    """Return a libosdp OUT command (timer in 100 ms units)."""
    ticks = max(0, min(255, round(timer_s * 10)))
    return {
        "command": osdp.Command.Output,
        "output_no": output,
        "control_code": control,
        "timer_count": ticks,
    }


def led_command(color: int, seconds: float, *, flash: bool = False) -> dict[str, Any]:
    """Return a temporary LED command: ``color`` for ``seconds``, steady or flashing."""
    return {
        "command": osdp.Command.LED,
        "reader": 0,
        "led_number": 0,
        "temporary": True,
        "control_code": 2,
        "on_color": color,
        "off_color": LED_OFF,
        "on_count": 3 if flash else 10,
        "off_count": 3 if flash else 0,
        "timer_count": max(1, min(65535, round(seconds * 10))),
    }


def buzzer_command(beeps: int, *, on: int = 2, off: int = 1, stop: bool = False) -> dict[str, Any]:
    """Return a buzzer command: ``beeps`` beeps of ``on`` x 100 ms (or silence it)."""
    return {
        "command": osdp.Command.Buzzer,
        "reader": 0,
        "control_code": 1 if stop else 2,
        "on_count": 0 if stop else on,
        "off_count": off,
        "rep_count": 0 if stop else beeps,
    }


KeyState = Literal["none", "default", "pending", "keyed"]


@dataclass
class _Pin:
    card_hash: str | None
    deadline: float
    buffer: KeypadBuffer = field(default_factory=KeypadBuffer)


@dataclass
class ReaderState:
    """What the integration knows about one reader."""

    device: Device
    bus: str
    index: int
    address: int
    door: Door | None
    key: KeyState = "none"
    link: PdLink = field(default_factory=PdLink)
    insecure_since: float | None = None
    insecure_alarm: bool = False
    tamper: bool = False
    power_fail: bool = False
    inputs: tuple[int, ...] = ()
    pin: _Pin | None = None
    keypad: KeypadBuffer = field(default_factory=KeypadBuffer)
    retry: list[tuple[dict[str, Any], float]] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Return the reader's device id."""
        return self.device.id


@dataclass
class _Bus:
    config: BusConfig
    worker: BusWorker
    channel: BusChannel
    readers: list[ReaderState]


class OsdpIntegration:
    """Be the OSDP control panel for the readers of one site."""

    domain: ClassVar[str] = "osdp"
    config_model: ClassVar[type[BaseModel]] = OsdpConfig

    def __init__(self, key_store: ReaderKeyStore | None = None) -> None:
        self.key_store = key_store
        self.config: OsdpConfig | None = None
        self._hub: Any = None
        self._site: Site | None = None
        self._buses: dict[str, _Bus] = {}
        self._readers: dict[str, ReaderState] = {}
        self._doors: dict[str, DoorSupervisor] = {}
        self._door_io: dict[str, ReaderState] = {}
        self._door_readers: dict[str, list[ReaderState]] = {}
        self._queue: asyncio.Queue[tuple[EventType[Any], Payload, Context, AlarmPayload | None]]
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._logged: set[str] = set()
        self._rotating: dict[str, bytes] = {}
        self.decisions = 0

    # --- lifecycle ----------------------------------------------------------------------

    async def setup(self, hub: Any, config: Any) -> None:
        """Open every bus of the configured site and start its worker thread."""
        cfg: OsdpConfig = config
        self.config, self._hub = cfg, hub
        sites: dict[str, Site] = hub.extras.get("sites", {})
        site = sites.get(cfg.site_id)
        if site is None:
            raise ConfigError(f"osdp: site {cfg.site_id!r} is not loaded", field="site_id")
        self._site = site
        if self.key_store is None:
            self.key_store = hub.extras.get("osdp_keys")
        if self.key_store is None and (cfg.install_mode or cfg.require_secure):
            raise ConfigError("osdp: no key store (hub.extras['osdp_keys']) for reader keys")
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        by_bus = self._readers_by_bus(site, cfg)
        for bus_cfg in cfg.buses:
            devices = by_bus.get(bus_cfg.name, [])
            if devices:
                await self._open_bus(loop, site, bus_cfg, devices)
        self._wire_doors(site, cfg)
        self._running = True
        for reader in self._readers.values():
            self._link_status(reader, "waiting for the reader to answer")
        for bus in self._buses.values():
            bus.worker.start()
        self._tasks = [
            asyncio.create_task(self._publisher(), name="osdp-publisher"),
            asyncio.create_task(self._ticker(), name="osdp-ticker"),
            asyncio.create_task(self._rotation_watch(), name="osdp-rotation"),
        ]

    async def unload(self) -> None:
        """Stop the workers, publish what is still queued, and release every port."""
        self._running = False
        await asyncio.gather(*(asyncio.to_thread(bus.worker.stop) for bus in self._buses.values()))
        publisher = self._tasks[0] if self._tasks else None
        others = self._tasks[1:]
        for task in others:
            task.cancel()
        for task in others:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if publisher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=5.0)
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
        self._tasks = []
        self._buses.clear()

    def _readers_by_bus(self, site: Site, cfg: OsdpConfig) -> dict[str, list[Device]]:
        wanted = set(cfg.readers) if cfg.readers is not None else None
        out: dict[str, list[Device]] = {}
        for device in site.devices:
            if device.type is not DeviceType.READER or device.osdp is None:
                continue
            if wanted is not None and device.id not in wanted:
                continue
            out.setdefault(device.osdp.bus, []).append(device)
        known = {b.name for b in cfg.buses}
        for name in out:
            if name not in known:
                _LOGGER.warning("osdp: readers on bus %r, which has no bus config", name)
        return out

    async def _open_bus(
        self,
        loop: asyncio.AbstractEventLoop,
        site: Site,
        bus_cfg: BusConfig,
        devices: list[Device],
    ) -> None:
        cfg = self.config
        assert cfg is not None and self.key_store is not None
        bauds = {d.osdp.baud for d in devices if d.osdp is not None}
        if len(bauds) > 1:
            raise ConfigError(f"osdp: readers on bus {bus_cfg.name!r} use different baud rates")
        baud = bauds.pop()
        transport: Transport
        if bus_cfg.transport == "serial":
            transport = SerialTransport(str(bus_cfg.port), baud, rs485=bus_cfg.rs485)
        elif bus_cfg.transport == "pty":
            transport = FdTransport(str(bus_cfg.port))
        else:
            transport = TcpTransport(str(bus_cfg.host), int(bus_cfg.tcp_port or 0))
        addresses = frozenset(d.osdp.address for d in devices if d.osdp is not None)
        channel = BusChannel(
            transport,
            name=bus_cfg.name,
            pace_baud=baud if bus_cfg.paced else None,
            monitor=FrameMonitor(known=addresses),
        )
        specs: list[PdSpec] = []
        readers: list[ReaderState] = []
        for index, device in enumerate(devices):
            assert device.osdp is not None
            door = site.door(device.door) if device.door else None
            state = ReaderState(
                device=device,
                bus=bus_cfg.name,
                index=index,
                address=device.osdp.address,
                door=door,
            )
            scbk, enforce = await asyncio.to_thread(self._key_for, state)
            specs.append(PdSpec(device.id, device.osdp.address, scbk, enforce))
            readers.append(state)
            self._readers[device.id] = state
        worker = BusWorker(
            name=bus_cfg.name,
            channel=channel,
            pds=specs,
            loop=loop,
            on_event=functools.partial(self._on_event, bus_cfg.name),
            on_link=functools.partial(self._on_link, bus_cfg.name),
            on_completion=functools.partial(self._on_completion, bus_cfg.name),
            idle_s=cfg.idle_ms / 1000,
            recover_after_s=cfg.recover_after_s,
            max_backoff_s=cfg.max_backoff_s,
            log_level=LOG_LEVELS[cfg.log_level],
        )
        self._buses[bus_cfg.name] = _Bus(bus_cfg, worker, channel, readers)

    def _key_for(self, state: ReaderState) -> tuple[bytes | None, bool]:
        """Return (scbk, enforce_secure) for a reader; may create a pending key (blocking)."""
        cfg = self.config
        store = self.key_store
        assert cfg is not None and store is not None
        key = store.get(state.id)
        if key is not None:
            state.key = "keyed"
            return key, True
        if not cfg.install_mode:
            state.key = "none"
            return None, False
        pending = store.get_pending(state.id)
        if pending is None:
            pending = secrets.token_bytes(16)
            store.set_pending(state.id, pending)
        state.key = "pending"
        # libosdp tries the new key, falls back to SCBK-D and sends KEYSET by itself.
        return pending, False

    def _wire_doors(self, site: Site, cfg: OsdpConfig) -> None:
        for door in site.doors:
            readers = [r for r in self._readers.values() if r.door and r.door.id == door.id]
            if not readers:
                continue
            readers.sort(key=lambda r: (r.device.side != "entry", r.id))
            self._door_readers[door.id] = readers
            io_id = cfg.door_io.get(door.id)
            io = self._readers.get(io_id) if io_id else readers[0]
            if io is None:
                raise ConfigError(f"osdp: door_io reader {io_id!r} is not an OSDP reader")
            self._door_io[door.id] = io
            self._doors[door.id] = DoorSupervisor(
                door_id=door.id,
                held_open_s=door.held_open_s,
                prealarm_s=cfg.held_prealarm_s,
                rex_window_s=cfg.rex_window_s,
            )

    # --- status -------------------------------------------------------------------------

    def status(self) -> dict[str, dict[str, Any]]:
        """Return per-reader online / secure / key / health state (loop thread)."""
        now = time.monotonic()
        out: dict[str, dict[str, Any]] = {}
        for reader in self._readers.values():
            bus = self._buses.get(reader.bus)
            last = self._last_seen(reader)
            out[reader.id] = {
                "bus": reader.bus,
                "address": reader.address,
                "door": reader.door.id if reader.door else None,
                "online": reader.link.online,
                "secure": reader.link.secure,
                "key": reader.key,
                "insecure_alarm": reader.insecure_alarm,
                "tamper": reader.tamper,
                "power_fail": reader.power_fail,
                "last_reply_s": round(now - last, 3) if last else None,
                "recoveries": reader.link.recoveries,
                "bus_open": bus.channel.is_open if bus else False,
            }
        return out

    def bus_counters(self) -> dict[str, dict[str, int]]:
        """Return the frame monitor counters of every bus."""
        return {
            name: {**bus.channel.monitor.counters(), "stale": bus.channel.stale.stale}
            for name, bus in self._buses.items()
        }

    # --- events from the workers (loop thread) ------------------------------------------

    def _reader(self, bus: str, index: int) -> ReaderState | None:
        entry = self._buses.get(bus)
        if entry is None or not 0 <= index < len(entry.readers):
            return None
        return entry.readers[index]

    def _on_event(self, bus: str, index: int, event: dict[str, Any]) -> None:
        if not self._running:
            return
        reader = self._reader(bus, index)
        if reader is None:
            self._log_once(f"index-{bus}-{index}", "osdp: event for unknown PD #%s", index)
            return
        try:
            kind = event.get("event")
            if kind == EVENT_CARD:
                self._card(reader, event)
            elif kind == EVENT_KEYPAD:
                self._keypad(reader, event)
            elif kind == EVENT_STATUS:
                self._report(reader, event)
            elif kind == EVENT_NOTIFY and event.get("type") == NOTIFY_SC:
                pass  # the worker also posts the link; handled in _on_link
        except Exception:
            _LOGGER.exception("osdp: handling an event from %s failed", reader.id)

    def _card(self, reader: ReaderState, event: dict[str, Any]) -> None:
        card = decode_card(event)
        if card is None:
            self._log_once(f"card-{reader.id}", "osdp: malformed card data from %s", reader.id)
            self._deny_feedback(reader)
            return
        if self._insecure_refused(reader):
            return
        card_hash = self._hub.hash_credential(card.canonical, purpose="card")
        door = reader.door
        if door is None:
            self._log_once(f"nodoor-{reader.id}", "osdp: reader %s has no door", reader.id)
            return
        cfg = self.config
        assert cfg is not None
        granted: bool | None = None
        if door.id in cfg.card_and_pin_doors:
            self._ask_pin(reader, card_hash)
        else:
            verdict = self._decide(reader, PresentationKind.CARD, card_hash=card_hash)
            if verdict.pending:
                self._ask_pin(reader, card_hash)
            else:
                granted = verdict.granted
                self._apply(reader, verdict)
        self._emit(
            EVENT_READER_CARD,
            ReaderCardPayload(
                reader_id=reader.id,
                door_id=door.id,
                credential_ref=card_hash,
                bits=card.bits,
                granted=granted,
            ),
            Context(actor=f"device:{reader.id}"),
        )

    def _keypad(self, reader: ReaderState, event: dict[str, Any]) -> None:
        data = event.get("data")
        if not isinstance(data, bytes | bytearray) or reader.door is None:
            return
        if self._insecure_refused(reader):
            return
        buffer = reader.pin.buffer if reader.pin else reader.keypad
        pin = buffer.feed(bytes(data))
        if pin is None:
            return
        pin_hash = self._hub.hash_credential(pin, purpose="pin")
        if reader.pin is not None:
            card_hash, reader.pin = reader.pin.card_hash, None
            verdict = self._decide(
                reader, PresentationKind.CARD_AND_PIN, card_hash=card_hash, pin_hash=pin_hash
            )
        else:
            verdict = self._decide(reader, PresentationKind.PIN, pin_hash=pin_hash)
        self._apply(reader, verdict)

    def _ask_pin(self, reader: ReaderState, card_hash: str) -> None:
        cfg = self.config
        assert cfg is not None
        reader.pin = _Pin(card_hash=card_hash, deadline=time.monotonic() + cfg.pin_timeout_s)
        self._send(reader, led_command(LED_AMBER, cfg.pin_timeout_s, flash=True))
        self._send(reader, buzzer_command(1, on=1))

    def _decide(
        self,
        reader: ReaderState,
        kind: PresentationKind,
        *,
        card_hash: str | None = None,
        pin_hash: str | None = None,
    ) -> Verdict:
        assert reader.door is not None
        presentation = Presentation(
            door_id=reader.door.id,
            reader_id=reader.id,
            kind=kind,
            card_hash=card_hash,
            pin_hash=pin_hash,
            time=self._hub.clock.now(),
            context=Context(actor=f"device:{reader.id}"),
        )
        access = getattr(self._hub, "access", None)
        if access is None:
            self._log_once("no-engine", "osdp: no access engine on the hub; denying")
            return Verdict(granted=False, reason="no_engine")
        try:
            verdict: Verdict = access.decide(presentation)
        except Exception:
            _LOGGER.exception("osdp: the access engine failed on a read at %s", reader.id)
            return Verdict(granted=False, reason="engine_error")
        self.decisions += 1
        return verdict

    def _apply(self, reader: ReaderState, verdict: Verdict) -> None:
        door = reader.door
        if door is None:
            return
        if not verdict.granted:
            self._deny_feedback(reader)
            return
        strike_s = verdict.strike_time_s or door.strike_time_s
        io = self._door_io.get(door.id, reader)
        cfg = self.config
        assert cfg is not None
        if strike_s <= 25.5:
            self._send(io, out_command(cfg.io.strike_output, OUT_TIMED_ON, strike_s))
        else:
            self._send(io, out_command(cfg.io.strike_output, OUT_ON))
        self._send(reader, led_command(LED_GREEN, min(strike_s, 5.0)))
        self._send(reader, buzzer_command(1))
        supervisor = self._doors.get(door.id)
        if supervisor is not None:
            self._door_outcomes(door, supervisor.grant(time.monotonic(), strike_s), reader)

    def _deny_feedback(self, reader: ReaderState) -> None:
        self._send(reader, led_command(LED_RED, 2.0))
        self._send(reader, buzzer_command(2))

    def _insecure_refused(self, reader: ReaderState) -> bool:
        cfg = self.config
        assert cfg is not None
        if cfg.require_secure and not reader.link.secure:
            self._log_once(
                f"plain-{reader.id}", "osdp: ignoring plain-text input from %s", reader.id
            )
            self._deny_feedback(reader)
            return True
        return False

    def _report(self, reader: ReaderState, event: dict[str, Any]) -> None:
        decoded = decode_report(event)
        if decoded is None:
            self._log_once(f"report-{reader.id}", "osdp: malformed status from %s", reader.id)
            return
        kind, levels = decoded
        cfg = self.config
        assert cfg is not None
        if kind == REPORT_LOCAL:
            self._local(reader, levels)
            return
        if kind != REPORT_INPUT:
            return
        previous, reader.inputs = reader.inputs, levels
        now = time.monotonic()
        for door_id, io in self._door_io.items():
            if io is not reader:
                continue
            supervisor = self._doors[door_id]
            assert self._site is not None
            door = self._site.door(door_id)
            kinds = {d.type for d in self._site.devices_of(door=door_id)}
            io_cfg = cfg.io
            if DeviceType.REX in kinds and io_cfg.rex_input < len(levels):
                pressed = levels[io_cfg.rex_input] == 1
                self._door_outcomes(door, supervisor.rex(now, pressed), reader)
            if DeviceType.CONTACT in kinds and io_cfg.contact_input < len(levels):
                was = _level(previous, io_cfg.contact_input)
                level = levels[io_cfg.contact_input]
                if was != level or previous == ():
                    is_open = level == io_cfg.contact_open_level
                    self._door_outcomes(door, supervisor.contact(now, is_open), reader)

    def _local(self, reader: ReaderState, levels: tuple[int, ...]) -> None:
        cfg = self.config
        assert cfg is not None
        tamper = _level(levels, cfg.io.tamper_index) == 1
        power = _level(levels, cfg.io.power_index) == 1
        ctx = Context(actor=f"device:{reader.id}")
        door_id = reader.door.id if reader.door else None
        zone = reader.door.to_zone if reader.door else None
        if tamper != reader.tamper:
            reader.tamper = tamper
            health = DeviceHealthPayload(
                device_id=reader.id,
                status="tamper" if tamper else "restored",
                detail="reader tamper switch" + (" opened" if tamper else " restored"),
            )
            alarm = None
            if tamper:
                alarm = AlarmPayload(
                    alarm_type="tamper",
                    priority=1,
                    message=f"Reader {reader.id} tamper",
                    zone_id=zone,
                    door_id=door_id,
                    device_id=reader.id,
                )
            self._emit(EVENT_DEVICE_HEALTH, health, ctx, alarm)
        if power != reader.power_fail:
            reader.power_fail = power
            health = DeviceHealthPayload(
                device_id=reader.id,
                status="trouble" if power else "restored",
                detail="reader power failure" if power else "reader power restored",
            )
            alarm = None
            if power:
                alarm = AlarmPayload(
                    alarm_type="reader_power",
                    priority=2,
                    message=f"Reader {reader.id} power failure",
                    zone_id=zone,
                    door_id=door_id,
                    device_id=reader.id,
                )
            self._emit(EVENT_DEVICE_HEALTH, health, ctx, alarm)

    def _door_outcomes(self, door: Door, outcomes: list[DoorOutcome], reader: ReaderState) -> None:
        cfg = self.config
        assert cfg is not None
        ctx = Context(actor=f"device:{reader.id}")
        zone = door.to_zone
        for outcome in outcomes:
            kind = outcome.kind
            if kind is Outcome.UNLOCKED:
                self._emit(
                    EVENT_DOOR_STATE,
                    DoorPayload(door_id=door.id, state="unlocked", zone_id=zone),
                    ctx,
                )
            elif kind is Outcome.LOCKED:
                io = self._door_io.get(door.id)
                if io is not None:
                    self._send(io, out_command(cfg.io.strike_output, OUT_OFF_ABORT))
                self._emit(
                    EVENT_DOOR_STATE,
                    DoorPayload(door_id=door.id, state="locked", zone_id=zone),
                    ctx,
                )
            elif kind is Outcome.OPENED:
                self._emit(
                    EVENT_DOOR_STATE, DoorPayload(door_id=door.id, state="open", zone_id=zone), ctx
                )
            elif kind is Outcome.CLOSED:
                for r in self._door_readers.get(door.id, []):
                    if self._doors[door.id].prealarm_sent:
                        self._send(r, buzzer_command(0, stop=True))
                self._emit(
                    EVENT_DOOR_STATE,
                    DoorPayload(
                        door_id=door.id, state="closed", zone_id=zone, duration_s=outcome.duration_s
                    ),
                    ctx,
                )
            elif kind is Outcome.REX:
                self._emit(
                    EVENT_DOOR_REX,
                    DoorPayload(door_id=door.id, state="unlocked", zone_id=zone),
                    ctx,
                )
            elif kind is Outcome.FORCED:
                self._emit(
                    EVENT_DOOR_FORCED,
                    DoorPayload(door_id=door.id, state="forced", zone_id=zone),
                    ctx,
                    AlarmPayload(
                        alarm_type="door_forced",
                        priority=1,
                        message=f"{door.name} forced open",
                        zone_id=zone,
                        door_id=door.id,
                        device_id=reader.id,
                    ),
                )
            elif kind is Outcome.PREALARM:
                for r in self._door_readers.get(door.id, []):
                    self._send(r, buzzer_command(3, on=3, off=2))
            elif kind is Outcome.HELD:
                held = outcome.duration_s or door.held_open_s
                self._emit(
                    EVENT_DOOR_HELD,
                    DoorPayload(door_id=door.id, state="held", zone_id=zone, duration_s=held),
                    ctx,
                    AlarmPayload(
                        alarm_type="door_held",
                        priority=3,
                        message=f"{door.name} held open {held:.0f} s (limit {door.held_open_s:.0f} s)",
                        zone_id=zone,
                        door_id=door.id,
                        device_id=reader.id,
                    ),
                )

    def _flush_retry(self, reader: ReaderState) -> None:
        now = time.monotonic()
        pending, reader.retry = reader.retry, []
        for command, deadline in pending:
            if now <= deadline:
                self._send(reader, command)

    def _on_link(self, bus: str, index: int, link: PdLink) -> None:
        if not self._running:
            return
        reader = self._reader(bus, index)
        if reader is None:
            return
        before = reader.link
        reader.link = link
        if link.online and reader.retry:
            self._flush_retry(reader)
        if link.secure and not link.scbk_default and reader.key == "pending":
            self._spawn(self._commit_key(reader, install=True))
        if link.online != before.online or link.secure != before.secure:
            self._emit(
                EVENT_READER_STATUS,
                self._status_payload(reader, "link changed"),
                Context(actor=f"device:{reader.id}"),
            )
        if link.online != before.online:
            self._link_status(
                reader, "reader answers" if link.online else "reader stopped answering"
            )

    def _link_status(self, reader: ReaderState, detail: str) -> None:
        """Report the raw link state for the device-health tracker to judge."""
        self._emit(
            EVENT_DEVICE_STATUS,
            DeviceStatusPayload(
                device_id=reader.id, kind="reader", online=reader.link.online, detail=detail
            ),
            Context(actor=f"device:{reader.id}"),
        )

    def _status_payload(self, reader: ReaderState, detail: str) -> ReaderStatusPayload:
        key: KeyState = reader.key
        if reader.link.secure and reader.link.scbk_default:
            key = "default"
        return ReaderStatusPayload(
            reader_id=reader.id,
            door_id=reader.door.id if reader.door else None,
            online=reader.link.online,
            secure=reader.link.secure,
            key=key,
            detail=detail,
        )

    def _on_completion(self, bus: str, index: int, command: dict[str, Any], ok: bool) -> None:
        reader = self._reader(bus, index)
        if reader is None or not self._running:
            return
        if command.get("command") == osdp.Command.Keyset:
            if ok and reader.id in self._rotating:
                self._spawn(self._commit_key(reader, install=False))
            elif not ok and reader.id in self._rotating:
                self._rotating.pop(reader.id, None)
                self._spawn(self._discard_key(reader))
            return
        if not ok:
            self._log_once(
                f"cmd-{reader.id}-{command.get('command')}",
                "osdp: %s refused or missed command %s; retrying once",
                reader.id,
                command.get("command"),
            )
            if command.get("command") == osdp.Command.Output:
                # Keep the strike for when the reader is back, while the grant still holds.
                ticks = int(command.get("timer_count") or 0)
                reader.retry = [(command, time.monotonic() + max(ticks / 10, 1.0))]
                if reader.link.online:
                    self._flush_retry(reader)

    # --- keys ---------------------------------------------------------------------------

    async def _commit_key(self, reader: ReaderState, *, install: bool) -> None:
        store = self.key_store
        assert store is not None
        if install and reader.key != "pending":
            return
        # Report "keyed" only once the key store holds the key (status readers rely on it).
        await asyncio.to_thread(store.commit, reader.id)
        await asyncio.to_thread(store.clear_rotation, reader.id)
        self._rotating.pop(reader.id, None)
        reader.key = "keyed"
        bus = self._buses[reader.bus]
        index = reader.index
        bus.worker.call(lambda ctx: ctx.set_flag(index, osdp.LibFlag.EnforceSecure))
        _LOGGER.info("osdp: reader %s keyed (%s)", reader.id, "install" if install else "rotation")
        self._emit(
            EVENT_READER_STATUS,
            self._status_payload(reader, "key installed" if install else "key rotated"),
            Context(actor=f"device:{reader.id}"),
        )

    async def _discard_key(self, reader: ReaderState) -> None:
        store = self.key_store
        assert store is not None
        await asyncio.to_thread(store.discard_pending, reader.id)
        _LOGGER.warning("osdp: reader %s refused the new key; keeping the old one", reader.id)

    async def rotate_key(self, reader_id: str) -> bool:
        """Send a fresh random key to a keyed, secure reader; return whether it was sent."""
        reader = self._readers.get(reader_id)
        store = self.key_store
        if reader is None or store is None:
            return False
        if reader.key != "keyed" or not reader.link.secure or reader.id in self._rotating:
            return False
        key = secrets.token_bytes(16)
        await asyncio.to_thread(store.set_pending, reader.id, key)
        self._rotating[reader.id] = key
        command = {"command": osdp.Command.Keyset, "type": 1, "data": key}
        self._buses[reader.bus].worker.submit(reader.index, command)
        return True

    async def _rotation_watch(self) -> None:
        cfg = self.config
        store = self.key_store
        assert cfg is not None
        if store is None:
            return
        while True:
            await asyncio.sleep(cfg.rotation_poll_s)
            try:
                wanted = await asyncio.to_thread(store.rotation_requests)
                for reader_id in wanted:
                    if reader_id in self._readers:
                        await self.rotate_key(reader_id)
            except Exception:
                _LOGGER.exception("osdp: rotation check failed")

    # --- timers -------------------------------------------------------------------------

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            try:
                self._tick(time.monotonic())
            except Exception:
                _LOGGER.exception("osdp: timer pass failed")

    def _tick(self, now: float) -> None:
        cfg = self.config
        assert cfg is not None and self._site is not None
        for door_id, supervisor in self._doors.items():
            outcomes = supervisor.tick(now)
            if outcomes:
                self._door_outcomes(self._site.door(door_id), outcomes, self._door_io[door_id])
        for reader in self._readers.values():
            self._supervise_secure(reader, now, cfg)
            if reader.pin is not None and now > reader.pin.deadline:
                card_hash, reader.pin = reader.pin.card_hash, None
                verdict = self._decide(reader, PresentationKind.CARD_AND_PIN, card_hash=card_hash)
                self._apply(reader, verdict)

    def _last_seen(self, reader: ReaderState) -> float:
        bus = self._buses.get(reader.bus)
        # A float read from a dict the worker writes: safe without a lock in CPython.
        return bus.channel.last_seen.get(reader.address, 0.0) if bus else 0.0

    def _supervise_secure(self, reader: ReaderState, now: float, cfg: OsdpConfig) -> None:
        """Alarm on a reader that answers, but not over the secure channel.

        Offline and flapping readers are judged by the device-health tracker from the
        ``device.status`` reports of :meth:`_on_link`.
        """
        if not cfg.require_secure:
            return
        link = reader.link
        seen = self._last_seen(reader)
        ctx = Context(actor=f"device:{reader.id}")
        door_id = reader.door.id if reader.door else None
        zone = reader.door.to_zone if reader.door else None
        answering = link.online or (seen and now - seen < 2.0)
        if link.secure or not answering:
            reader.insecure_since = None
            if link.secure and reader.insecure_alarm:
                reader.insecure_alarm = False
            return
        if reader.insecure_since is None:
            reader.insecure_since = now
        if not reader.insecure_alarm and now - reader.insecure_since >= cfg.secure_grace_s:
            reader.insecure_alarm = True
            detail = (
                "reader talks in plain text"
                if link.online
                else "reader answers but the secure channel fails (plain-text fallback or wrong key)"
            )
            self._emit(
                EVENT_READER_STATUS,
                self._status_payload(reader, detail),
                ctx,
                AlarmPayload(
                    alarm_type="reader_insecure",
                    priority=1,
                    message=f"Reader {reader.id}: {detail}",
                    zone_id=zone,
                    door_id=door_id,
                    device_id=reader.id,
                ),
            )

    # --- plumbing -----------------------------------------------------------------------

    def _send(self, reader: ReaderState, command: dict[str, Any]) -> None:
        bus = self._buses.get(reader.bus)
        if bus is not None:
            bus.worker.submit(reader.index, command)

    def _emit(
        self,
        event_type: EventType[Any],
        payload: Payload,
        context: Context,
        alarm: AlarmPayload | None = None,
    ) -> None:
        self._queue.put_nowait((event_type, payload, context, alarm))

    async def _publisher(self) -> None:
        site = self.config.site_id if self.config else None
        while True:
            event_type, payload, context, alarm = await self._queue.get()
            try:
                event = await self._hub.bus.publish(event_type, payload, context=context, site=site)
                if alarm is not None:
                    alarm = alarm.model_copy(update={"source_event_id": event.id})
                    await self._hub.bus.publish(
                        EVENT_ALARM_RAISED, alarm, context=context.child(actor="system"), site=site
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("osdp: publishing %s failed", event_type.name)
            finally:
                self._queue.task_done()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    def _log_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            _LOGGER.warning(msg, *args)


def _level(levels: tuple[int, ...], index: int) -> int | None:
    return levels[index] if 0 <= index < len(levels) else None
