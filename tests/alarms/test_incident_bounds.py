"""Incidents correlate by cause within a bounded window; an urgent alarm never joins silently."""

from __future__ import annotations

from sqlalchemy import select

from bastion.alarms import service
from bastion.alarms.models import Alarm, Incident
from bastion.alarms.sop import load_sops
from bastion.core.context import Context

SOPS = load_sops()


def raise_(hub, site, alarm_type, zone, door=None):
    with hub.unit_of_work() as session:
        result = service.raise_alarm(
            session=session,
            spec=service.AlarmSpec(alarm_type, f"{alarm_type} in {zone}", zone, door),
            site=site,
            site_id=site.site.id,
            context=Context(actor="device:test"),
            now=hub.clock.now(),
            sops=SOPS,
        )
        return result.alarm.id


def incidents(hub) -> dict[str, tuple[Incident, list[Alarm]]]:
    with hub.db.sessions() as session:
        found = {i.id: (i, []) for i in session.execute(select(Incident)).scalars()}
        for alarm in session.execute(select(Alarm)).scalars():
            found[alarm.incident_id][1].append(alarm)
    return found


async def test_a_held_door_does_not_grow_into_an_endless_incident_that_swallows_a_panic(
    hub, site, clock
):
    # Twenty minutes of door trouble wandering through neighbouring zones, then a robbery
    # panic at the counter, all a minute or so apart.
    walk = [
        ("door_held", "lobby", "front-entry"),
        ("door_held", "sales-floor", "checkin-door"),
        ("door_held", "back-of-house", "boh-door"),
        ("door_held", "cash-room", "cash-door"),
        ("door_held", "vault", "vault-door"),
    ]
    for minute in range(20):
        kind, zone, door = walk[minute % len(walk)]
        raise_(hub, site, kind, zone, door if minute < 5 else None)
        clock.advance(60)
    panic = raise_(hub, site, "panic", "sales-floor")
    found = incidents(hub)
    span = service.CORRELATION_WINDOW_S
    near = service.adjacency_of(site)
    for incident, alarms in found.values():
        times = [a.raised_at for a in alarms]
        assert (max(times) - min(times)).total_seconds() <= span, incident.title
        origin = incident.origin_zone_id
        assert {a.zone_id for a in alarms} <= {origin, *near(origin)}, incident.zone_ids
        assert len({service.cause_of(a.alarm_type, a.door_id) for a in alarms}) == 1
        assert len({a.door_id for a in alarms if a.alarm_type == "door_held"}) <= 1
    (panic_incident,) = [i for i, alarms in found.values() if any(a.id == panic for a in alarms)]
    assert panic_incident.priority == 1
    assert [a.id for a in found[panic_incident.id][1]] == [panic]


async def test_an_urgent_alarm_never_joins_a_lower_incident_silently(hub, site, clock):
    held = raise_(hub, site, "door_held", "sales-floor", "sales-exit")
    clock.advance(30)
    forced = raise_(hub, site, "door_forced", "sales-floor", "checkin-door")
    clock.advance(30)
    panic = raise_(hub, site, "panic", "sales-floor")
    with hub.db.sessions() as session:
        alarms = {a.id: a for a in session.execute(select(Alarm)).scalars()}
        low = session.get(Incident, alarms[held].incident_id)
    # Another cause: its own incident; the held door's incident keeps its priority.
    assert len({alarms[i].incident_id for i in (held, forced, panic)}) == 3
    assert low is not None and low.priority == alarms[held].priority
    # Same cause, more urgent (a deeper zone): it joins, and the incident is escalated
    # on the record, never quietly.
    clock.advance(30)
    deeper = raise_(hub, site, "glass_break", "back-of-house")
    with hub.db.sessions() as session:
        alarms = {a.id: a for a in session.execute(select(Alarm)).scalars()}
        grown = session.get(Incident, alarms[forced].incident_id)
    assert alarms[deeper].priority < alarms[forced].priority
    assert alarms[deeper].incident_id == grown.id and grown.priority == alarms[deeper].priority
    assert "escalated from P2" in grown.title
    escalations = [
        e for e in hub.ledger.query(types=["incident.changed"]) if '"escalated"' in e.payload
    ]
    assert len(escalations) == 1


async def test_same_cause_nearby_within_the_window_still_shares_an_incident(hub, site, clock):
    first = raise_(hub, site, "door_forced", "loading-dock", "dock-door")
    clock.advance(60)
    second = raise_(hub, site, "glass_break", "back-of-house")
    clock.advance(service.CORRELATION_WINDOW_S)  # past the window from the opening
    third = raise_(hub, site, "door_forced", "loading-dock", "dock-door")
    with hub.db.sessions() as session:
        alarms = {a.id: a for a in session.execute(select(Alarm)).scalars()}
    assert alarms[first].incident_id == alarms[second].incident_id
    assert alarms[third].incident_id != alarms[first].incident_id
