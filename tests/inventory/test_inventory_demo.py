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


def test_the_cultivation_demo_has_batches_a_harvest_and_its_packages(hub, clock):
    from pathlib import Path

    from bastion.inventory import views
    from bastion.inventory.models import InvHarvest, InvPlant, InvPlantBatch
    from bastion.site.loader import load_site_file

    site = load_site_file(Path(__file__).resolve().parents[2] / "examples" / "cultivation.yaml")
    with hub.unit_of_work() as session:
        site_service.import_site(
            session=session, site=site, context=Context(actor="t"), now=clock.now()
        )
    assert seed_inventory(hub, site)
    assert not seed_inventory(hub, site)  # once per data directory
    with hub.db.sessions() as session:
        batches = {b.name: b for b in session.query(InvPlantBatch)}
        assert len(batches) == 2
        blue = batches["Blue Dream · clones of week 39"]
        assert (blue.count, blue.live_count, blue.harvested_count) == (12, 2, 10)
        assert session.query(InvPlant).filter_by(status="harvested").count() == 10
        (crop,) = session.query(InvHarvest).all()
        assert crop.plant_count == 10 and crop.finished_at is None
        packages = session.query(InvPackage).all()
        assert len(packages) == 4 and {p.harvest_id for p in packages} == {crop.id}
        stock = views.stock(session, site)
        assert [(r.zone, r.location, r.item, r.packages, r.quantity) for r in stock] == [
            ("Packaging and labelling", "Packaging", "Blue Dream bulk flower", 4, "1000")
        ]
        checks = {f.check for f in session.query(InvFinding).filter_by(site_id=site.site.id)}
    # The books balance: no lineage, batch-count or mass-balance finding; the state
    # system has not been heard from yet, which the freshness check says.
    assert not checks & {"lineage", "batch_counts", "mass_balance"}
    assert "freshness" in checks
