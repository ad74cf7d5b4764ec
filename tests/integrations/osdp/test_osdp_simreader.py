"""The simulated reader answers a repeated command the way the OSDP spec asks a reader to."""

from __future__ import annotations

import io

from bastion.integrations.osdp.codec import build_frame
from bastion.integrations.osdp.simreader import SimBus, SimPd


def _pd() -> tuple[SimPd, list[bytes]]:
    bus = SimBus(baud=115200, out=io.StringIO(), pace=False)
    sent: list[bytes] = []
    bus.send = sent.append  # type: ignore[method-assign]
    return SimPd(address=1, bus=bus, key=None, plain=True), sent


def test_a_repeated_command_gets_the_previous_reply_again_and_is_not_acted_on_twice() -> None:
    pd, sent = _pd()
    command = build_frame(0x01, 0x68, b"\x00\x02\x1e\x00", sqn=2)
    pd.take(command[:5])
    pd.take(command[5:])
    assert bytes(pd.rx) == command  # the first time, libosdp gets it
    pd.rx.clear()
    pd.bus.reply(pd, b"the reply")
    pd.take(command)  # the panel gave up waiting and asks again with the same number
    assert bytes(pd.rx) == b"" and sent == [b"the reply", b"the reply"] and pd.repeats == 1


def test_a_new_command_a_restart_or_another_readers_frame_goes_to_libosdp() -> None:
    pd, sent = _pd()
    first = build_frame(0x01, 0x60, sqn=1)
    pd.take(first)
    pd.bus.reply(pd, b"ack")
    for frame in (
        build_frame(0x01, 0x60, sqn=2),  # next sequence number: a new command
        build_frame(0x01, 0x60, sqn=0),  # sequence 0: the panel restarts the link
        build_frame(0x02, 0x60, sqn=1),  # another reader's command
    ):
        pd.rx.clear()
        pd.take(frame)
        assert bytes(pd.rx) == frame
    assert pd.repeats == 0 and sent == [b"ack"]
