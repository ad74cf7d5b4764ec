"""Uptime per device per day and MTBF from health decisions (read back from the real ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bastion.core.context import Context
from bastion.core.events import EVENT_DEVICE_HEALTH, DeviceHealthPayload
from bastion.maintenance.uptime import Transition, compute, transitions_from

TZ = ZoneInfo("America/Denver")
START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)  # midnight in Denver
END = START + timedelta(days=2)


def test_a_six_hour_outage_is_a_quarter_day_down_and_one_failure(site):
    reader = next(d.id for d in site.devices if d.type == "reader")
    down = START + timedelta(hours=3)
    flips = [
        Transition(down, reader, "offline"),
        Transition(down + timedelta(hours=6), reader, "restored"),
        Transition(START + timedelta(days=1, hours=2), reader, "trouble"),
        Transition(START + timedelta(days=1, hours=3), reader, "restored"),
    ]
    result = {u.device_id: u for u in compute(site, flips, START, END, TZ)}
    entry = result[reader]
    assert entry.kind == "reader" and entry.failures == 2
    assert entry.days[START.astimezone(TZ).date()] == pytest.approx(75.0)
    assert entry.uptime_pct == pytest.approx(100 * (1 - 6 / 48))
    assert entry.mtbf_h == pytest.approx(42 / 2)
    other = next(u for u in result.values() if u.device_id != reader)
    assert other.uptime_pct == 100.0 and other.mtbf_h is None


def test_an_outage_still_open_counts_to_the_end_and_one_before_the_period_counts_from_its_start(
    site,
):
    cam = next(d.id for d in site.devices if d.type == "camera")
    flips = [Transition(START - timedelta(hours=5), cam, "offline")]
    entry = next(u for u in compute(site, flips, START, END, TZ) if u.device_id == cam)
    assert entry.down_now and entry.uptime_pct == 0.0 and entry.failures == 0


async def test_transitions_are_read_from_the_ledger_of_the_site_only(hub, site, clock):
    for device, status in (("rdr-x", "offline"), ("rdr-x", "restored")):
        await hub.bus.publish(
            EVENT_DEVICE_HEALTH,
            DeviceHealthPayload(device_id=device, status=status),
            context=Context(actor="maintenance"),
            site=site.site.id,
        )
    await hub.bus.publish(
        EVENT_DEVICE_HEALTH,
        DeviceHealthPayload(device_id="rdr-y", status="offline"),
        context=Context(actor="maintenance"),
        site="elsewhere",
    )
    await hub.bus.drain()
    now = clock.now()
    found = transitions_from(hub.ledger, site.site.id, now - timedelta(days=1), now + timedelta(1))
    assert [(t.device_id, t.status) for t in found] == [("rdr-x", "offline"), ("rdr-x", "restored")]
