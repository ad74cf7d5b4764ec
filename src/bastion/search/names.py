"""Names for the ids in ledger rows: people, accounts, doors, zones and devices of a site."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.people.models import Person
from bastion.site.schemas import Site


@dataclass
class Names:
    """Look-ups from ids to what people call things at one site."""

    zones: dict[str, str] = field(default_factory=dict)
    doors: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    zone_of: dict[str, str] = field(default_factory=dict)
    """Door or device id → the zone it guards (a door's inner side)."""
    door_of: dict[str, str] = field(default_factory=dict)
    """Reader or door-contact id → its door."""

    @classmethod
    def load(cls, session: Session, site: Site) -> Names:
        """Read the site model, the site's people and every account's user name."""
        names = cls(
            zones={z.id: z.name for z in site.zones},
            doors={d.id: d.name for d in site.doors},
            devices={d.id: d.name or d.id for d in site.devices},
        )
        for door in site.doors:
            names.zone_of[door.id] = door.to_zone
        for device in site.devices:
            if device.door:
                names.door_of[device.id] = device.door
                names.zone_of[device.id] = names.zone_of.get(device.door, "")
            if device.zone:
                names.zone_of[device.id] = device.zone
        rows = session.execute(
            select(Person.id, Person.name).where(
                (Person.site_id == site.site.id) | Person.site_id.is_(None)
            )
        )
        names.people = {person_id: name for person_id, name in rows}
        accounts = session.execute(select(User.id, User.username))
        names.accounts = {f"user:{i}": username for i, username in accounts}
        return names

    def place(self, device_id: str | None) -> str:
        """Return a door or device by name, or the id when the site does not know it."""
        if not device_id:
            return ""
        return self.doors.get(device_id) or self.devices.get(device_id) or device_id

    def zone(self, zone_id: str | None) -> str:
        """Return a zone by name."""
        if not zone_id:
            return ""
        return self.zones.get(zone_id, zone_id)

    def person(self, person_id: str | None) -> str:
        """Return a person (or account) by name."""
        if not person_id:
            return ""
        return self.people.get(person_id) or self.accounts.get(person_id) or person_id

    def actor(self, actor: str) -> str:
        """Return who or what acted: a user name, a device name, a person, or the role."""
        kind, _, ident = actor.partition(":")
        if kind == "device":
            return self.place(ident)
        if kind == "user":
            return self.accounts.get(actor, actor)
        if actor in self.people:
            return self.people[actor]
        return {"system": "Bastion", "cli": "command line"}.get(actor, actor)

    def people_matching(self, text: str) -> set[str]:
        """Return ids of people whose name contains ``text`` (case-insensitive)."""
        needle = text.casefold().strip()
        return {pid for pid, name in self.people.items() if needle in name.casefold()}
