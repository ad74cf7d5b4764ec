"""Prepare the demo data directory: key, schema, example site and demo accounts."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bastion.core.context import Context
from bastion.hub import open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file

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
