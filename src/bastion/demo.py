"""Prepare the demo data directory: key, schema, example site and demo accounts."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from bastion.core.context import Context
from bastion.hub import Hub, open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
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
    smtp_port: int = 0


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
DEMO_NAMES = (
    "Dana Whitfield",
    "Marcus Oyelaran",
    "Priya Natarajan",
    "Casey Morales",
    "Jordan Kowalski",
    "Alicia Fernández",
    "Tomás Herrera",
    "Keisha Brooks",
    "Wei Zhang",
    "Samira Haddad",
    "Luke Brennan",
    "Nadia Petrova",
    "Omar Siddiqui",
    "Grace Oduya",
    "Ethan Walsh",
    "Maya Lindqvist",
    "Andre Baptiste",
    "Hannah Cho",
    "Rafael Ortiz",
    "Zoe Adeyemi",
    "Ben Novak",
    "Lena Fischer",
    "Isaac Mensah",
    "Ruth Abernathy",
)
"""The demo staff, managers first; card numbers follow this order."""
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
                name=DEMO_NAMES[index],
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


def demo_settings(settings: Settings, *, port: int) -> Settings:
    """Return the demo's settings: embedded database, and plain HTTP unless told otherwise.

    The demo prints an ``http://`` address, so its session cookie is not Secure (a
    browser would never send it back) unless ``BASTION_COOKIE_SECURE`` says so.
    """
    updates: dict[str, Any] = {"port": port, "database_url": None}
    if settings.cookie_secure is None:
        updates["cookie_secure"] = False
    return settings.model_copy(update=updates)


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
        install_demo_call_trees(hub, smtp_port=demo_smtp_port(settings))
        from bastion.auth.demo import ensure_demo_accounts

        accounts = ensure_demo_accounts(hub, operator=DEMO_OPERATOR, admin=DEMO_ADMIN)
        from bastion.demo_cash import seed_cash_day

        seed_cash_day(hub, site, operator=DEMO_OPERATOR, admin=DEMO_ADMIN)
        from bastion.demo_inventory import seed_inventory

        seed_inventory(hub, site)
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
        smtp_port=demo_smtp_port(settings),
    )


# --- emergency: a local mail catcher, demo call trees and a panic button ----------------------

DEMO_SMTP_OFFSET = 25
DEMO_PANIC_DEVICE = "counter-panic-1"
DEMO_CONTACTS = (
    ("Demo police dispatch", "police@demo.invalid"),
    ("Demo store manager", "manager@demo.invalid"),
    ("Demo shift lead", "shift-lead@demo.invalid"),
    ("Demo staff list", "staff@demo.invalid"),
)
DEMO_TREES: dict[str, tuple[tuple[str, ...], ...]] = {
    # The call trees the example rules, the shipped playbooks, the example site and the
    # alarm procedures name, tier by tier; a test checks every reference of the demo resolves.
    "police-dispatch": (("Demo police dispatch",),),
    "management": (("Demo store manager",),),
    "all-staff": (("Demo staff list",),),
    "after-hours-intrusion": (("Demo store manager",), ("Demo police dispatch",)),
    "shift_lead": (("Demo shift lead",), ("Demo store manager",)),
    "lone-worker": (("Demo shift lead",), ("Demo store manager",)),
    # Operators skipping a procedure step tell the supervisors' call tree.
    "supervisor": (("Demo shift lead",),),
}


def demo_smtp_port(settings: Settings) -> int:
    """Return the port of the demo's mail catcher (the console's port + 25)."""
    return settings.port + DEMO_SMTP_OFFSET


def install_demo_call_trees(hub: Hub, *, smtp_port: int) -> None:
    """Create the missing demo contacts (mailing the local catcher) and call trees."""
    from bastion.core.errors import NotFound
    from bastion.notify import service as notify
    from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn

    ctx = Context(actor="demo")
    with hub.unit_of_work() as session:
        now = hub.clock.now()
        ids: dict[str, str] = {}
        known = {c.name: c.id for c in notify.list_contacts(session=session)}
        for name, address in DEMO_CONTACTS:
            if name in known:
                ids[name] = known[name]
                continue
            url = (
                f"mailto://127.0.0.1:{smtp_port}?from=bastion-demo@demo.invalid"
                f"&to={address}&mode=insecure&cto=5"
            )
            contact = notify.create_contact(
                session=session,
                data=ContactCreate(name=name, channels=[ChannelIn(kind="email", url=url)]),
                context=ctx,
                now=now,
            )
            ids[name] = contact.id
        for tree, tiers in DEMO_TREES.items():
            try:
                notify.get_tree(session=session, tree_id=tree)
                continue
            except NotFound:
                pass
            notify.create_tree(
                session=session,
                data=CallTreeCreate(
                    name=tree,
                    description="Demo call tree (mail goes to the demo's mail catcher)",
                    tiers=[
                        TierIn(contacts=[ids[m] for m in members], ack_timeout_s=300)
                        for members in tiers
                    ],
                ),
                context=ctx,
                now=now,
            )


@dataclass
class MailCatcher:
    """A local SMTP server (aiosmtpd) that keeps what the demo sends and saves it as .eml."""

    port: int
    folder: Path
    messages: list[dict[str, str]] = field(default_factory=list)
    controller: Any = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Keep one message (aiosmtpd handler hook)."""
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        parsed = message_from_bytes(raw, policy=default_policy)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{len(self.messages) + 1:04d}.eml").write_bytes(raw)
        self.messages.append(
            {"to": ", ".join(envelope.rcpt_tos), "subject": str(parsed.get("Subject", ""))}
        )
        return "250 Message accepted for delivery"

    def start(self) -> None:
        """Listen on 127.0.0.1 (a busy port is logged; the demo keeps running)."""
        from aiosmtpd.controller import Controller

        try:
            self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self.controller.start()
        except (OSError, RuntimeError) as exc:
            self.controller = None
            _LOGGER.warning("demo mail catcher cannot listen on port %s: %s", self.port, exc)

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def attach_demo_services(hub: Hub) -> MailCatcher:
    """Run the mail catcher with the server and enable the console's demo panic button."""
    from bastion.web.emergency import DEMO_PANIC_KEY

    catcher = MailCatcher(
        port=demo_smtp_port(hub.settings), folder=Path(hub.settings.data_dir) / "mail"
    )
    hub.extras["demo_mailbox"] = catcher.messages
    sites = hub.extras.get("sites", {})
    if any(DEMO_PANIC_DEVICE in {d.id for d in s.devices} for s in sites.values()):
        hub.extras[DEMO_PANIC_KEY] = DEMO_PANIC_DEVICE

    async def start() -> None:
        catcher.start()

    async def stop() -> None:
        catcher.stop()

    hub.extras.setdefault("on_start", []).append(start)
    hub.extras.setdefault("on_stop", []).append(stop)
    return catcher
