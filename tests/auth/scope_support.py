"""Two loaded sites with one record of every site-owned kind at each, for the scope suites.

Site A is the cultivation centre, site B the dispensary: the security review's operator
of the cultivation site must not act on, or read, anything of the dispensary.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from bastion.access import service as access_service
from bastion.access.snapshot import LevelSpec
from bastion.alarms import service as alarms_service
from bastion.alarms.sop import load_sops
from bastion.api.resources import (
    ALARM,
    API_TOKEN,
    CALL_TREE,
    CREDENTIAL,
    INCIDENT,
    LEVEL,
    NOTIFY_RUN,
    OFFBOARDING,
    PERSON,
    PLAYBOOK_RUN,
    VISIT,
)
from bastion.api.scope import Resource
from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Grant, Role
from bastion.automation.playbooks import service as playbooks_service
from bastion.automation.playbooks.config import load_library
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.notify import service as notify_service
from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn
from bastion.people import employees, offboarding, visitors
from bastion.site import service as site_service
from bastion.site.schemas import Layer, Site

SITE_A = "cultivation-main"
SITE_B = "dispensary-main"
CTX = Context(actor="test")


@dataclass(frozen=True)
class SiteRecords:
    """The id of one record of every site-owned kind at one site."""

    site_id: str
    alarm: str
    incident: str
    person: str
    credential: str
    level: str
    visit: str
    offboarding: str
    tree: str
    notify_run: str
    playbook_run: str
    token: str

    def ids(self) -> set[str]:
        """Return every record id that cannot be mistaken for other text (the ULIDs)."""
        skip = {"site_id", "token"}
        return {str(getattr(self, f.name)) for f in fields(self) if f.name not in skip}

    def of(self, resource: Resource) -> str:
        """Return the id of the record of ``resource``'s kind."""
        return str(getattr(self, KIND_OF[resource]))


KIND_OF = {
    ALARM: "alarm",
    INCIDENT: "incident",
    PERSON: "person",
    CREDENTIAL: "credential",
    LEVEL: "level",
    VISIT: "visit",
    OFFBOARDING: "offboarding",
    CALL_TREE: "tree",
    NOTIFY_RUN: "notify_run",
    PLAYBOOK_RUN: "playbook_run",
    API_TOKEN: "token",
}


def _guarded_door(site: Site) -> tuple[str, str]:
    """Return a door between two zones of the site (not on the boundary) and its inner zone."""
    door = next(d for d in site.doors if d.from_zone != "outside")
    return door.id, door.to_zone


def seed_site(hub: Hub, site: Site, owner_id: int) -> SiteRecords:
    """Store ``site`` and create one record of every site-owned kind there."""
    sid = site.site.id
    now = hub.clock.now()
    door, zone = _guarded_door(site)
    public = next(z.id for z in site.zones if z.layer <= Layer.INTERIOR)
    playbook = load_library()["fire"].config
    with hub.db.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        raised = alarms_service.raise_alarm(
            session=session,
            spec=alarms_service.AlarmSpec("door_forced", f"forced at {sid}", zone, door),
            site=site,
            site_id=sid,
            context=CTX,
            now=now,
            sops=load_sops(),
        )
        assert raised.incident is not None
        host = employees.hire(
            session=session, name=f"Host {sid}", site_id=sid, context=CTX, now=now
        )
        leaver = employees.hire(
            session=session, name=f"Leaver {sid}", site_id=sid, context=CTX, now=now
        )
        credential = access_service.issue_credential(
            session=session,
            person_id=host.id,
            kind="pin",
            pin=str(482916 + len(sid)),
            hasher=hub.hash_credential,
            context=CTX,
            now=now,
        )
        level = access_service.put_level(
            session=session,
            spec=LevelSpec(id=f"staff-{sid}", site_id=sid, doors=(door,)),
            name=f"Staff {sid}",
            context=CTX,
            now=now,
        )
        employees.grant_level(
            session=session, person_id=host.id, level_id=level.id, context=CTX, now=now
        )
        visit = visitors.register(
            session=session,
            site=site,
            name=f"Visitor {sid}",
            company=None,
            purpose="supplier meeting",
            host_id=host.id,
            areas=[public],
            expected_at=now,
            until=now + timedelta(hours=2),
            document=None,
            approved_by=None,
            walk_in=False,
            context=CTX,
            now=now,
        )
        left = offboarding.offboard(
            session=session,
            person_id=leaver.id,
            reason="resigned",
            secrets=None,
            clock=hub.clock,
            context=CTX,
        )
        contact = notify_service.create_contact(
            session=session,
            data=ContactCreate(
                name=f"Duty phone {owner_id}-{len(sid)}",
                channels=[ChannelIn(kind="webhook", url="json://127.0.0.1:9/hook")],
            ),
            context=CTX,
            now=now,
        )
        tree = notify_service.create_tree(
            session=session,
            data=CallTreeCreate(
                name=f"Managers {sid}", site_id=sid, tiers=[TierIn(contacts=[contact.id])]
            ),
            context=CTX,
            now=now,
        )
        run, _ = notify_service.start_run(
            session=session,
            tree_id=tree.id,
            template_id=None,
            variables={},
            context=CTX,
            now=now,
            message=f"drill at {sid}",
            drill=True,
        )
        drill = playbooks_service.create_run(
            session=session,
            playbook=playbook,
            site_id=sid,
            zone_id=None,
            drill=True,
            context=CTX,
            now=now,
        )
        owner = session.get(User, owner_id)
        assert owner is not None
        token = auth_service.create_api_token(
            session=session,
            owner=owner,
            name=f"vms {sid}",
            role=Role.OPERATOR,
            site_id=sid,
            clock=hub.clock,
            context=CTX,
        )
        return SiteRecords(
            site_id=sid,
            alarm=raised.alarm.id,
            incident=raised.incident.id,
            person=host.id,
            credential=credential.id,
            level=level.id,
            visit=visit.id,
            offboarding=left.id,
            tree=tree.id,
            notify_run=run.id,
            playbook_run=drill.id,
            token=str(token.record.id),
        )


def make_owner(hub: Hub) -> int:
    """Create the global admin that owns the seeded API tokens; return its id."""
    with hub.db.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            username="estate-owner",
            password="correct horse battery staple",
            grants=[Grant(Role.ADMIN)],
            clock=hub.clock,
            context=CTX,
        )
        return user.id
