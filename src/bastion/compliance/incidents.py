"""The incident reporting clock: a reportable event opens regulator-notice tasks with deadlines.

Deadlines come from the state's ``incident_notice`` rules (e.g. 24 h in CA, MA, OR).
The tasks are the cash domain's regulator notices, so thefts of money and of product
share one list; the incident itself is a compliance record the rules later judge.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash import tasks as cash_tasks
from bastion.cash.models import CashTask
from bastion.compliance import service
from bastion.compliance.checks import IncidentParams
from bastion.compliance.models import ComplianceRecord
from bastion.compliance.packs import Pack
from bastion.core.context import Context
from bastion.core.errors import Conflict, InvalidInput
from bastion.core.sitetime import site_time

TRIGGERS = (
    "theft",
    "theft_cash",
    "loss",
    "diversion",
    "inventory_discrepancy",
    "alarm_failure",
    "surveillance_failure",
    "security_breach",
    "records_tampering",
    "arrest",
)


def report_incident(
    *,
    session: Session,
    site_id: str,
    pack: Pack,
    kind: str,
    discovered_at: datetime,
    description: str,
    context: Context,
    now: datetime,
    timezone: str | None = None,
) -> tuple[ComplianceRecord, list[CashTask]]:
    """Record an incident and open one notice task per applicable state deadline.

    The tasks' text gives the discovery time in ``timezone`` (the site's), zone named.
    """
    if kind not in TRIGGERS:
        raise InvalidInput(f"unknown incident type {kind!r}; known: {', '.join(TRIGGERS)}")
    if discovered_at > now + timedelta(minutes=5):
        raise InvalidInput("an incident cannot be discovered in the future")
    record = service.add_record(
        session=session,
        site_id=site_id,
        kind="incident",
        at=discovered_at,
        by=None,
        note=description,
        detail={"type": kind, "discovered_at": discovered_at.isoformat()},
        context=context,
        now=now,
    )
    tasks = []
    for rule in pack.rules:
        params = rule.params
        if not isinstance(params, IncidentParams) or kind not in params.triggers:
            continue
        due = discovered_at + timedelta(hours=params.hours)
        whom = " and ".join(params.recipients)
        tasks.append(
            cash_tasks.open_incident_notice(
                session=session,
                site_id=site_id,
                state=pack.state,
                title=f"Regulator notice: {kind.replace('_', ' ')} ({pack.state})",
                detail=(
                    f"Notify {whom} within {params.hours:g} hours of discovery "
                    f"({rule.citation}). Discovered {site_time(discovered_at, timezone)}."
                ),
                due_at=due,
                source=f"incident:{record.id}:{rule.id}",
                context=context,
                now=now,
            )
        )
    if not tasks:
        tasks.append(
            cash_tasks.open_incident_notice(
                session=session,
                site_id=site_id,
                state=pack.state,
                title=f"Regulator notice: {kind.replace('_', ' ')} ({pack.state})",
                detail=(
                    f"No notice deadline for this incident type is known for {pack.state}: "
                    "check the rules and notify without delay."
                ),
                due_at=None,
                source=f"incident:{record.id}",
                context=context,
                now=now,
            )
        )
    service.ledger(
        session,
        site_id,
        "incident_reported",
        record.id,
        context,
        now,
        type=kind,
        tasks=str(len(tasks)),
    )
    return record, tasks


def tasks_of(session: Session, site_id: str, record_id: str) -> list[CashTask]:
    """Return the notice tasks an incident opened."""
    rows = session.execute(
        select(CashTask).where(
            CashTask.site_id == site_id, CashTask.source.startswith(f"incident:{record_id}")
        )
    ).scalars()
    return list(rows)


def mark_notified(
    *,
    session: Session,
    site_id: str,
    record_id: str,
    notified_at: datetime,
    reference: str,
    context: Context,
    now: datetime,
) -> ComplianceRecord:
    """Keep the filed notice on the incident and close its notice tasks."""
    record = service.get_record(session, site_id, record_id)
    if record.kind != "incident":
        raise InvalidInput("only incidents are notified")
    if record.detail.get("notified_at"):
        raise Conflict("the regulator was already notified of this incident")
    if notified_at > now + timedelta(minutes=5) or notified_at < record.at:
        raise InvalidInput("the notice time must be between the discovery and now")
    record.detail = {
        **record.detail,
        "notified_at": notified_at.isoformat(),
        "reference": reference,
    }
    for task in tasks_of(session, site_id, record_id):
        if task.status == "open":
            cash_tasks.complete(session=session, task=task, context=context, now=now)
    return record
