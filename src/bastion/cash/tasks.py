"""Compliance tasks the cash domain opens: regulator notices of theft, and Form 8300.

A theft of money opens a notice task whose deadline comes from the site's state (or the
site's own setting); a customer's cash above the federal line within 24 hours opens a
Form 8300 task due 15 days after the payment. Tasks are idempotent per cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash.models import CashTask
from bastion.cash.movements import dollars
from bastion.cash.settings import CashSettings, state_of, theft_notice
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, NotFound
from bastion.core.events import EVENT_CASH_TASK, CashTaskPayload, make_event
from bastion.core.sitetime import site_time
from bastion.site.schemas import Site
from bastion.store.ledger import stage

TaskKind = Literal["regulator_notice", "form_8300"]
FORM_8300_DAYS = 15


def _find(session: Session, site_id: str, kind: str, source: str) -> CashTask | None:
    return session.execute(
        select(CashTask).where(
            CashTask.site_id == site_id, CashTask.kind == kind, CashTask.source == source
        )
    ).scalar_one_or_none()


def _open(
    session: Session,
    *,
    site_id: str,
    kind: TaskKind,
    title: str,
    detail: str,
    state: str | None,
    due_at: datetime | None,
    source: str,
    context: Context,
    now: datetime,
) -> CashTask:
    task = CashTask(
        id=new_id(),
        site_id=site_id,
        kind=kind,
        title=title[:200],
        detail=detail,
        state=state,
        due_at=due_at,
        status="open",
        source=source[:80],
        created_at=now,
    )
    session.add(task)
    stage(
        session,
        make_event(
            EVENT_CASH_TASK,
            CashTaskPayload(task_id=task.id, kind=kind, action="opened", due_at=due_at),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    return task


def open_regulator_notice(
    *,
    session: Session,
    site: Site | None,
    site_id: str,
    settings: CashSettings,
    source: str,
    what: str,
    discovered_at: datetime,
    context: Context,
    now: datetime,
) -> CashTask:
    """Open (once per cause) the task to notify the regulator of a theft of money."""
    existing = _find(session, site_id, "regulator_notice", source)
    if existing is not None:
        return existing
    deadline, whom = theft_notice(site, settings)
    state = state_of(site, settings)
    if deadline is None:
        when = (
            f"No deadline is known for {state or 'this site'}: set the site's theft notice "
            "deadline in the cash settings, and notify without delay."
        )
    else:
        hours = int(deadline.total_seconds() // 3600)
        when = f"Notify {whom} within {hours} hours of discovery."
    discovered = site_time(discovered_at, site.site.timezone if site is not None else None)
    detail = f"Theft of money: {what}. Discovered {discovered}. {when}"
    return _open(
        session,
        site_id=site_id,
        kind="regulator_notice",
        title=f"Regulator notice: theft of money{f' ({state})' if state else ''}",
        detail=detail,
        state=state,
        due_at=discovered_at + deadline if deadline is not None else None,
        source=source,
        context=context,
        now=now,
    )


def open_form_8300(
    *,
    session: Session,
    site: Site,
    rows: Sequence[Sequence[Any]],
    customers: Sequence[str | None],
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> int:
    """Open a Form 8300 task for each customer whose 24 h cash first passed the line.

    ``rows`` are stored transaction rows (see :mod:`bastion.cash.pos`) at the crossing.
    """
    opened = 0
    zone = ZoneInfo(site.site.timezone)
    for row, customer in zip(rows, customers, strict=True):
        key, at_ms, pos_id = row[12], int(row[6]), row[1]
        if key is None:
            continue
        when = datetime.fromtimestamp(at_ms / 1000, UTC)
        source = f"8300:{key:015x}:{when.astimezone(zone).date().isoformat()}"
        if _find(session, site.site.id, "form_8300", source) is not None:
            continue
        detail = (
            f"Customer {customer or f'#{key:015x}'} paid more than {dollars(settings.form_8300_cents)} in "
            f"cash within 24 hours (the line was passed by transaction {pos_id} at "
            f"{site_time(when, zone)}). File IRS/FinCEN "
            f"Form 8300 within {FORM_8300_DAYS} days of the payment (26 U.S.C. §6050I; "
            "31 CFR 1010.330)."
        )
        _open(
            session,
            site_id=site.site.id,
            kind="form_8300",
            title="Form 8300: cash over $10,000 from one customer",
            detail=detail,
            state=None,
            due_at=when + timedelta(days=FORM_8300_DAYS),
            source=source,
            context=context,
            now=now,
        )
        opened += 1
    return opened


def list_tasks(
    *, session: Session, site_id: str, open_only: bool = False, limit: int = 200
) -> list[CashTask]:
    """Return a site's tasks, open ones with the nearest deadline first."""
    stmt = select(CashTask).where(CashTask.site_id == site_id)
    if open_only:
        stmt = stmt.where(CashTask.status == "open")
    rows = list(session.execute(stmt.limit(limit)).scalars())
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda t: (t.status != "open", t.due_at or far, t.created_at))


def get_task(*, session: Session, task_id: str) -> CashTask:
    """Return a task or raise NotFound."""
    task = session.get(CashTask, task_id)
    if task is None:
        raise NotFound(f"no cash task {task_id!r}")
    return task


def complete(*, session: Session, task: CashTask, context: Context, now: datetime) -> CashTask:
    """Mark a task done (the notice was sent, the form was filed)."""
    if task.status == "done":
        raise Conflict("the task is already done")
    task.status, task.done_at, task.done_by = "done", now, context.actor
    stage(
        session,
        make_event(
            EVENT_CASH_TASK,
            CashTaskPayload(task_id=task.id, kind=task.kind, action="done", due_at=task.due_at),
            context=context,
            time=now,
            site=task.site_id,
        ),
    )
    return task


def open_incident_notice(
    *,
    session: Session,
    site_id: str,
    state: str | None,
    title: str,
    detail: str,
    due_at: datetime | None,
    source: str,
    context: Context,
    now: datetime,
) -> CashTask:
    """Open (once per cause) a regulator-notice task for an incident another domain records.

    The compliance domain reports thefts of product, losses and failures through here, so
    every regulator notice, with its deadline, lives in one list.
    """
    existing = _find(session, site_id, "regulator_notice", source)
    if existing is not None:
        return existing
    return _open(
        session,
        site_id=site_id,
        kind="regulator_notice",
        title=title,
        detail=detail,
        state=state,
        due_at=due_at,
        source=source,
        context=context,
        now=now,
    )
