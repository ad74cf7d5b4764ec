"""The demo's inventory day: a manifest, sales, a short count and an unbadged vault slip."""

from __future__ import annotations

from bastion.core.context import Context
from bastion.demo_inventory import seed_inventory
from bastion.inventory.models import InvFinding, InvMovement, InvPackage, InvTransferLine
from bastion.people import employees
from bastion.site import service as site_service


def test_the_demo_day_leaves_findings_for_the_console(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=dispensary, context=Context(actor="t"), now=clock.now()
        )
        employees.hire(
            session=session,
            name="Dana Budtender",
            site_id=dispensary.site.id,
            context=Context(actor="t"),
            now=clock.now(),
        )
    assert seed_inventory(site_hub, dispensary)
    assert not seed_inventory(site_hub, dispensary)  # once per data directory
    with site_hub.db.sessions() as session:
        assert session.query(InvPackage).count() == 3
        assert session.query(InvTransferLine).count() == 3
        slips = [m for m in session.query(InvMovement).filter_by(kind="move") if m.flags]
        assert slips and "no_badge:vault" in slips[0].flags
        checks = {f.check for f in session.query(InvFinding)}
    assert {"physical", "pos_vs_tracking"} <= checks
