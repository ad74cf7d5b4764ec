"""Fuzz the boundary where wire bytes enter our code: frame monitor, channel, card and keypad data."""

from __future__ import annotations

import os
import time

import osdp
import osdp_sys
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.integrations.osdp.channel import BusChannel
from bastion.integrations.osdp.codec import (
    FrameMonitor,
    KeypadBuffer,
    StaleReplyFilter,
    build_frame,
    crc16,
    decode_card,
    decode_report,
)
from bastion.integrations.osdp.simreader import wiegand26


def test_crc_matches_the_osdp_reference_poll_frame() -> None:
    frame = build_frame(0x00, 0x60)
    assert frame[:6] == bytes([0x53, 0x00, 0x08, 0x00, 0x04, 0x60])
    assert crc16(frame[:-2]) == frame[-2] | (frame[-1] << 8)


def test_monitor_splits_frames_and_counts_faults() -> None:
    monitor = FrameMonitor(known=frozenset({1}))
    good = build_frame(0x81, 0x40, sqn=1)
    bad = good[:-1] + bytes([good[-1] ^ 1])
    frames = monitor.feed(b"\xff\x00garbage" + bad + good[:4])
    frames += monitor.feed(good[4:] + build_frame(0x85, 0x79))
    assert [(f.address, f.code) for f in frames] == [(1, 0x40), (5, 0x79)]
    assert monitor.bad_checksum == 1 and monitor.unknown_address == 1 and monitor.busy == 1
    assert monitor.garbage >= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_monitor_never_raises_and_stays_bounded(chunks: list[bytes]) -> None:
    monitor = FrameMonitor(known=frozenset({1, 2}))
    for chunk in chunks:
        for frame in monitor.feed(chunk):
            assert 0 <= frame.address <= 0x7F
    assert len(monitor._buf) <= 1440


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8), st.binary(max_size=12))
def test_monitor_finds_a_valid_frame_after_noise(noise: list[bytes], data: bytes) -> None:
    monitor = FrameMonitor()
    for chunk in noise:
        monitor.feed(chunk)
    monitor.feed(b"\x00" * 1500)  # any partial frame from the noise is now overrun
    frames = monitor.feed(build_frame(0x81, 0x50, data))
    assert frames and frames[-1].code == 0x50


def test_a_reply_from_a_reader_not_addressed_is_dropped_as_stale() -> None:
    stale = StaleReplyFilter()
    late = build_frame(0x81, 0x40, sqn=2)  # reader 1 answering after the panel moved on
    wanted = build_frame(0x82, 0x40, sqn=1)
    assert stale.feed(b"\xff" + late + wanted, expect=2, now=0.0) == b"\xff" + wanted
    assert stale.stale == 1
    # The reader being addressed, broadcast replies, commands (echo) and bad frames pass.
    broadcast = build_frame(0xFF, 0x40)
    command = build_frame(0x01, 0x60)
    garbled = late[:-1] + bytes([late[-1] ^ 1])
    for raw in (late, broadcast, command, garbled, b"noise"):
        assert stale.feed(raw, expect=1 if raw is late else 2, now=0.0) == raw
    assert stale.stale == 1


def test_an_unfinished_frame_is_held_until_complete_or_too_old() -> None:
    stale = StaleReplyFilter(hold_s=0.05)
    frame = build_frame(0x81, 0x40, sqn=1)
    assert stale.feed(frame[:4], expect=1, now=0.0) == b""
    assert stale.feed(frame[4:], expect=1, now=0.01) == frame
    assert stale.feed(frame[:6], expect=1, now=1.0) == b""
    assert stale.feed(b"", expect=1, now=1.02) == b""
    assert stale.feed(b"", expect=1, now=1.06) == frame[:6]  # libosdp decides what it is


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.integers(0, 127))
def test_stale_filter_never_raises_and_stays_bounded(chunks: list[bytes], expect: int) -> None:
    stale = StaleReplyFilter()
    passed = 0
    for now, chunk in enumerate(chunks):
        passed += len(stale.feed(chunk, expect=expect, now=float(now)))
        assert len(stale._buf) <= 1440
    assert passed <= sum(len(c) for c in chunks)


card_events = st.fixed_dictionaries(
    {},
    optional={
        "format": st.one_of(st.integers(-3, 5), st.booleans(), st.none(), st.text(max_size=3)),
        "length": st.one_of(st.integers(-10, 2000), st.none(), st.floats()),
        "data": st.one_of(st.binary(max_size=200), st.none(), st.text(max_size=5)),
        "reader_no": st.integers(),
    },
)


@settings(max_examples=500, deadline=None)
@given(card_events)
def test_card_decoding_is_total(event: dict) -> None:
    card = decode_card(event)
    if card is not None:
        assert card.canonical.split(":")[0] in {"raw", "ascii"}
        assert "data" not in repr(card)


def test_wiegand_26_decodes_to_the_same_canonical_string() -> None:
    event = {"format": 1, "length": 26, "data": wiegand26(1, 1001)}
    card = decode_card(event)
    assert card is not None and card.bits == 26 and card.canonical.startswith("raw:26:")
    assert decode_card({**event, "data": event["data"] + b"\x00"}) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=10))
def test_keypad_buffer_is_bounded(chunks: list[bytes]) -> None:
    buffer = KeypadBuffer(max_digits=6)
    for chunk in chunks:
        pin = buffer.feed(chunk)
        assert pin is None or (pin.isdigit() and 0 < len(pin) <= 6)
    assert len(buffer.digits) <= 6


def test_keypad_enter_and_clear() -> None:
    buffer = KeypadBuffer()
    assert buffer.feed(b"12*4711") is None
    assert buffer.feed(b"\r") == "4711"


@given(
    st.dictionaries(
        st.sampled_from(["type", "report", "x"]),
        st.one_of(st.integers(), st.binary(max_size=80), st.none()),
    )
)
def test_status_report_decoding_is_total(event: dict) -> None:
    decoded = decode_report(event)
    if decoded is not None:
        assert all(level in (0, 1) for level in decoded[1])


class _ScriptedTransport:
    """A transport whose reads come from a script and whose every other call may fail."""

    def __init__(self, chunks: list[bytes], fail_every: int) -> None:
        self.chunks = list(chunks)
        self.fail_every = fail_every
        self.calls = 0
        self.written = bytearray()

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise OSError("line noise")

    def open(self) -> None:
        self._maybe_fail()

    def read(self, max_bytes: int) -> bytes:
        self._maybe_fail()
        return self.chunks.pop(0)[:max_bytes] if self.chunks else b""

    def write(self, data: bytes) -> int:
        self._maybe_fail()
        self.written.extend(data)
        return len(data)

    def wait_readable(self, timeout: float) -> None:
        self._maybe_fail()

    def close(self) -> None:
        self._maybe_fail()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=10), st.integers(0, 4))
def test_channel_never_raises_into_libosdp(chunks: list[bytes], fail_every: int) -> None:
    channel = BusChannel(_ScriptedTransport(chunks, fail_every), name="fuzz", reopen_max_s=0.0)
    for _ in range(len(chunks) + 3):
        channel._retry_at = 0.0
        assert isinstance(channel.read(256), bytes)
        assert isinstance(channel.write(b"\x53\x01"), int)
        channel.flush()
        channel.wait(0)
    channel.close()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=120), min_size=1, max_size=12))
def test_libosdp_control_panel_survives_random_replies(chunks: list[bytes]) -> None:
    """Feed random and half-valid replies into a real libosdp CP through our channel."""
    seeded = [build_frame(0x81, 0x45, os.urandom(12), sqn=1), *chunks]
    channel = BusChannel(_ScriptedTransport(seeded, 0), name="fuzz")
    osdp_sys.set_loglevel(osdp.LogLevel.Emergency)
    info = osdp.PDInfo(1, channel, scbk=bytes(16), flags=[osdp.LibFlag.EnforceSecure])
    ctx = osdp_sys.ControlPanel([info.get()])
    ctx.set_event_callback(lambda pd, ev: 0)
    end = time.monotonic() + 0.05
    while time.monotonic() < end:
        ctx.refresh()
    assert ctx.status() == 0  # nothing valid came back: the reader is not online
    del ctx
