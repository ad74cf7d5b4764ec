"""Continuous compliance: a new critical failure raises an alarm; deadlines are announced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.compliance import incidents, runtime, service
from bastion.core.context import Context
from bastion.core.events import EVENT_NOTIFY
from bastion.site import service as site_service
from bastion.site.loader import load_site
from bastion.store.ledger import take_staged

from .conftest import EXAMPLES

SITE = "dispensary-main"
CTX = Context(actor="test")


@pytest.fixture
def stored(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        service.set_settings(
            session=session,
            site_id=SITE,
            state="CA",
            license="retail",
            profile={},
            context=CTX,
            now=clock.now(),
        )
    return site_hub


def test_a_critical_rule_that_starts_failing_raises_one_alarm(stored, dispensary, clock):
    now = clock.now()
    with stored.unit_of_work() as session:
        first = runtime.recheck(session, stored, dispensary, now)
    assert first == []  # the example passes every critical California rule
    text = (
        (EXAMPLES / "dispensary.yaml")
        .read_text()
        .replace("    covers: [vault]\n", "    covers: [back-of-house]\n")
    )
    broken = load_site(text, source="copy.yaml")
    with stored.unit_of_work() as session:
        again = runtime.recheck(session, stored, dispensary, now)
        assert again == []  # nothing new
        new = runtime.recheck(session, stored, broken, now + timedelta(minutes=1))
        assert len(new) == 1
        alarm = session.execute(select(Alarm).where(Alarm.id == new[0])).scalar_one()
        assert alarm.alarm_type == "compliance_critical" and "CA-VID-005" in alarm.message


def test_a_notice_near_its_deadline_is_announced_once(stored, clock):
    now = clock.now()
    reminded: set[str] = set()
    with stored.unit_of_work() as session:
        pack = service.pack_for(session, SITE, "CA", None)
        incidents.report_incident(
            session=session,
            site_id=SITE,
            pack=pack,
            kind="theft",
            discovered_at=now - timedelta(hours=20),
            description="missing stock",
            context=CTX,
            now=now,
        )
        take_staged(session)
        assert runtime.remind(session, SITE, now, reminded, "America/Los_Angeles") == 1
        staged = take_staged(session)
        assert [e.type for e in staged] == [EVENT_NOTIFY]
        # Due 24 h after discovery: 19:00 UTC, worded on the site's clock with the zone.
        assert "due by 2026-03-07 11:00 PST" in staged[0].payload.message
        assert runtime.remind(session, SITE, now, reminded) == 0


async def test_the_runtime_checks_a_changed_site_on_its_tick(stored, clock):
    started = await runtime.start_compliance(stored, tick_s=None)
    try:
        await started.tick()
        with stored.db.sessions() as session:
            assert service.last_run(session, SITE) is not None
    finally:
        await started.stop()
