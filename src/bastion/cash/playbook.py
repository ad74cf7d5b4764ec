"""The robbery playbook's after-incident count: a real dual blind count of every container.

When a real (not drill) playbook run with a ``cash_count`` step starts, every register,
safe and the vault gets a dual spot count tied to the run; when the last of them is
agreed, the step completes with the result, and a loss opens the regulator notice for
the theft of money.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.automation.playbooks import service as playbooks
from bastion.cash import counts, movements, tasks
from bastion.cash.models import CashCount
from bastion.cash.movements import dollars
from bastion.cash.settings import CashSettings
from bastion.core.context import Context
from bastion.core.errors import Conflict
from bastion.site.schemas import Site

STEP_KIND = "cash_count"


def start_counts(
    *,
    session: Session,
    site: Site,
    run_id: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> list[CashCount]:
    """Start the dual counts a run's pending ``cash_count`` steps call for."""
    run = playbooks.get_run(session=session, run_id=run_id)
    if run.drill or run.site_id not in (None, site.site.id):
        return []
    started: list[CashCount] = []
    for step in run.steps:
        if step.kind != STEP_KIND or step.status != "pending":
            continue
        containers = movements.list_containers(
            session=session, site_id=site.site.id, kinds=("register", "drop_safe", "vault")
        )
        for container in containers:
            if counts.open_count(session=session, container_id=container.id) is not None:
                continue
            started.append(
                counts.start(
                    session=session,
                    container=container,
                    kind="spot",
                    settings=settings,
                    context=context,
                    now=now,
                    playbook_run_id=run.id,
                    playbook_step_id=step.step_id,
                    dual=True,
                )
            )
    return started


def count_done(
    *,
    session: Session,
    site: Site | None,
    count: CashCount,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> bool:
    """Complete the playbook step once every count of it is agreed; return True when it did."""
    if count.playbook_run_id is None or count.playbook_step_id is None:
        return False
    siblings = list(
        session.execute(
            select(CashCount).where(
                CashCount.playbook_run_id == count.playbook_run_id,
                CashCount.playbook_step_id == count.playbook_step_id,
            )
        ).scalars()
    )
    if any(c.status == "open" for c in siblings):
        return False
    variance = sum(c.variance_cents or 0 for c in siblings if c.status == "completed")
    detail = f"dual blind count of {len(siblings)} containers: variance {dollars(variance)}"
    run = playbooks.get_run(session=session, run_id=count.playbook_run_id)
    # The run may be closed (or the step skipped) before the counts are agreed.
    with contextlib.suppress(Conflict):
        playbooks.complete_step(
            session=session,
            run=run,
            step_id=count.playbook_step_id,
            status="done",
            context=context,
            now=now,
            detail=detail,
        )
    if variance < 0:
        tasks.open_regulator_notice(
            session=session,
            site=site,
            site_id=count.site_id,
            settings=settings,
            source=f"robbery:{count.playbook_run_id}",
            what=f"{dollars(-variance)} taken (dual count after playbook run {run.id})",
            discovered_at=now,
            context=context,
            now=now,
        )
    return True
