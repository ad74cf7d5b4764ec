"""Prepare the demo data directory: key, schema, example site and demo accounts."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bastion.core.context import Context
from bastion.hub import Hub, open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

DEMO_OPERATOR = "operator"
DEMO_ADMIN = "admin"


@dataclass(frozen=True)
class DemoInfo:
    """What the demo prints for the person trying it."""

    site_id: str
    site_name: str
    operator_user: str
    operator_password: str
    admin_user: str
    admin_password: str
    admin_totp_secret: str


def examples_dir() -> Path:
    """Return the repository's examples folder."""
    from bastion.cli.main import _examples_dir

    return _examples_dir()


def _install_example_rules(settings: Settings) -> None:
    """Copy the example automation rules into the data directory (once)."""
    try:
        from bastion.automation.runtime import EXAMPLE_RULES
    except ModuleNotFoundError:
        return
    target = settings.data_dir / "rules"
    target.mkdir(parents=True, exist_ok=True)
    for source in EXAMPLE_RULES.glob("*.yaml"):
        destination = target / source.name
        if not destination.exists():
            shutil.copyfile(source, destination)


DEMO_PEOPLE = 24
DEMO_MANAGERS = 3
DEMO_FIRST_CARD = 1001
DEMO_FACILITY = 1


def enrol_demo_people(hub: Hub, site: Site) -> int:
    """Enrol the demo staff with H10301 cards 1:1001… and two access levels (once).

    The first three are managers with every door at any time; the others have the
    public and back-of-house doors during staff hours. Returns how many were enrolled.
    """
    from bastion.access import service as access
    from bastion.access.cards import encode_card
    from bastion.access.snapshot import LevelSpec
    from bastion.people.models import Person

    with hub.unit_of_work() as session:
        if session.query(Person).count():
            return 0
        ctx, now, sid = Context(actor="demo"), hub.clock.now(), site.site.id
        everywhere = tuple(z.id for z in site.zones)
        public = {"PERIMETER", "BUILDING", "INTERIOR"}
        staff_zones = (*(z.id for z in site.zones if z.layer.name in public), "back-of-house")
        staff_schedule = (
            "staff-hours" if any(s.id == "staff-hours" for s in site.schedules) else None
        )
        levels = {
            "managers": LevelSpec(
                id="demo-managers", site_id=sid, zones=everywhere, max_threat_level=2
            ),
            "staff": LevelSpec(
                id="demo-staff",
                site_id=sid,
                zones=tuple(z for z in staff_zones if z in everywhere),
                schedule_id=staff_schedule,
            ),
        }
        for name, spec in levels.items():
            access.put_level(session=session, spec=spec, name=f"Demo {name}", context=ctx, now=now)
        for index in range(DEMO_PEOPLE):
            person = access.create_person(
                session=session,
                name=f"emp-{index + 1:03d}",
                kind="employee",
                role="manager" if index < DEMO_MANAGERS else "budtender",
                site_id=sid,
                context=ctx,
                now=now,
            )
            card = encode_card(
                "h10301", number=str(DEMO_FIRST_CARD + index), facility_code=DEMO_FACILITY
            )
            access.issue_credential(
                session=session,
                person_id=person.id,
                kind="card",
                hasher=hub.hash_credential,
                card=card,
                context=ctx,
                now=now,
            )
            level = levels["managers" if index < DEMO_MANAGERS else "staff"]
            access.assign_level(
                session=session, person_id=person.id, level_id=level.id, context=ctx, now=now
            )
    return DEMO_PEOPLE


def prepare_demo(settings: Settings, *, site_file: Path | None = None) -> DemoInfo:
    """Initialise (or reuse) the demo data directory and return its credentials."""
    site = load_site_file(site_file or examples_dir() / "dispensary.yaml")
    hub = open_hub(settings, migrate=True, create_key=True)
    try:
        with hub.unit_of_work() as session:
            site_service.import_site(
                session=session, site=site, context=Context(actor="demo"), now=hub.clock.now()
            )
        _install_example_rules(settings)
        enrol_demo_people(hub, site)
        from bastion.auth.demo import ensure_demo_accounts

        accounts = ensure_demo_accounts(hub, operator=DEMO_OPERATOR, admin=DEMO_ADMIN)
    finally:
        hub.close()
    return DemoInfo(
        site_id=site.site.id,
        site_name=site.site.name,
        operator_user=DEMO_OPERATOR,
        operator_password=accounts.operator_password,
        admin_user=DEMO_ADMIN,
        admin_password=accounts.admin_password,
        admin_totp_secret=accounts.admin_totp_secret,
    )
