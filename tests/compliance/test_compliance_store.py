"""The compliance domain on a real database: records, incidents, overrides, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastion.cash import tasks as cash_tasks
from bastion.compliance import incidents, retention, service
from bastion.compliance.models import ComplianceRecord
from bastion.compliance.policy import policy
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.people.models import Visit
from bastion.site import service as site_service
from bastion.store.base import Base
from bastion.store.ledger import Ledger

from .conftest import EXAMPLES

CTX = Context(actor="test")
SITE = "dispensary-main"


@pytest.fixture
def stored(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        profile = (EXAMPLES / "dispensary.compliance.yaml").read_text()
        import yaml

        service.set_settings(
            session=session,
            site_id=SITE,
            state="IL",
            license="retail",
            profile=yaml.safe_load(profile),
            context=CTX,
            now=clock.now(),
        )
    return site_hub


def test_the_migration_creates_exactly_the_compliance_tables_of_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "compliance_" in repr(d[0] if isinstance(d, list) else d)] == []


def test_a_stored_site_is_checked_with_its_records(stored, dispensary, clock):
    now = clock.now()
    with stored.unit_of_work() as session:
        before = service.check_site(
            session=session, site=dispensary, data_dir=None, context=CTX, now=now
        )
        status = {f.rule: f.status for f in before.findings}
        assert status["IL-INV-001"] == "fail"  # no count on record: it did not happen
        assert status["IL-REC-001"] == "pass"
        service.add_record(
            session=session,
            site_id=SITE,
            kind="inventory_count",
            at=now - timedelta(hours=2),
            by="Ana Ruiz",
            context=CTX,
            now=now,
        )
        after = service.check_site(
            session=session, site=dispensary, data_dir=None, context=CTX, now=now
        )
        found = {f.rule: f for f in after.findings}
        assert found["IL-INV-001"].status == "pass"
        assert "Ana Ruiz" in found["IL-INV-001"].evidence[0]
        assert service.last_run(session, SITE).score == after.score()


def test_an_override_changes_a_rule_with_a_reason_and_bad_parameters_are_refused(
    stored, dispensary, clock
):
    now = clock.now()
    with stored.unit_of_work() as session:
        with pytest.raises(InvalidInput, match="min_days"):
            service.set_override(
                session=session,
                site_id=SITE,
                state="IL",
                rule="IL-VID-003",
                params={"min_days": "many"},
                reason="insurer",
                data_dir=None,
                context=CTX,
                now=now,
            )
        service.set_override(
            session=session,
            site_id=SITE,
            state="IL",
            rule="IL-VID-003",
            params={"min_days": 120},
            reason="insurer asks 120 days",
            data_dir=None,
            context=CTX,
            now=now,
        )
        report = service.check_site(
            session=session, site=dispensary, data_dir=None, context=CTX, now=now
        )
    found = {f.rule: f for f in report.findings}
    assert found["IL-VID-003"].status == "fail"
    assert found["IL-VID-003"].override_reason == "insurer asks 120 days"


def test_a_theft_opens_a_notice_task_with_the_state_deadline_and_the_notice_closes_it(
    stored, clock
):
    now = clock.now()
    with stored.unit_of_work() as session:
        pack = service.pack_for(session, SITE, "CA", None)
        record, tasks = incidents.report_incident(
            session=session,
            site_id=SITE,
            pack=pack,
            kind="theft",
            discovered_at=now - timedelta(hours=1),
            description="two jars missing from display",
            context=CTX,
            now=now,
            timezone="America/Los_Angeles",
        )
        (task,) = tasks
        assert task.due_at == now - timedelta(hours=1) + timedelta(hours=24)
        assert "DCC and local law enforcement" in task.detail
        # Discovered at 14:00 UTC, read by people in the site's zone: 06:00 Pacific.
        assert "Discovered 2026-03-07 06:00 PST." in task.detail
        assert [t.id for t in cash_tasks.list_tasks(session=session, site_id=SITE)] == [task.id]
        incidents.mark_notified(
            session=session,
            site_id=SITE,
            record_id=record.id,
            notified_at=now,
            reference="DCC-LIC-028 #77",
            context=CTX,
            now=now,
        )
        assert task.status == "done"
        with pytest.raises(InvalidInput, match="unknown incident type"):
            incidents.report_incident(
                session=session,
                site_id=SITE,
                pack=pack,
                kind="ufo",
                discovered_at=now,
                description="",
                context=CTX,
                now=now,
            )


def test_purge_redacts_past_retention_respects_holds_and_the_ledger_still_verifies(
    stored, database, clock
):
    now = clock.now()
    old = now - timedelta(days=4000)
    with stored.unit_of_work() as session:
        pack = service.pack_for(session, SITE, "IL", None)
        kept = service.profile_of(session, SITE)
        profile = kept.model_copy(
            update={"retention": {**kept.retention, "incident_register": 1096}}
        )
        for kind in ("inventory_count", "incident"):
            service.add_record(
                session=session,
                site_id=SITE,
                kind=kind,
                at=old,
                by="Former Employee",
                note="personal note",
                context=CTX,
                now=now,
            )
        hold = retention.place_hold(
            session=session,
            site_id=SITE,
            record_class="incident_register",
            reason="open police investigation",
            context=CTX,
            now=now,
        )
        assert policy(pack, profile)["inventory"].days == 1096
        done = retention.purge(
            session=session, site_id=SITE, pack=pack, profile=profile, context=CTX, now=now
        )
        assert done == {"visitor_log": 0, "inventory": 1}
        rows = {r.kind: r for r in session.query(ComplianceRecord).all()}
        assert rows["inventory_count"].by_name is None and rows["inventory_count"].redacted_at
        assert rows["incident"].by_name == "Former Employee"  # held
        retention.release_hold(session=session, site_id=SITE, hold_id=hold.id, context=CTX, now=now)
        done = retention.purge(
            session=session, site_id=SITE, pack=pack, profile=profile, context=CTX, now=now
        )
        assert done == {"visitor_log": 0, "incident_register": 1}
        assert session.query(Visit).count() == 0
    verification = Ledger(database).verify()
    assert verification.ok, verification.describe()
    assert verification.rows_checked > 5
