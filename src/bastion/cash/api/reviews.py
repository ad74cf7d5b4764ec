"""Cash routes for POS exceptions, count variances, compliance tasks, POS data and the daily report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bastion.api.deps import SessionDep
from bastion.cash import (
    counts,
    exceptions,
    pos,
    report,
    tasks,
    views,
)
from bastion.cash.api.common import (
    PREFIX,
    Compliance,
    HubDep,
    Manager,
    Reader,
    settings_of,
    site_of,
)
from bastion.cash.runtime import clips_for
from bastion.cash.schemas import (
    DayReport,
    ExceptionRead,
    ExceptionReview,
    RateRead,
    RejectionRead,
    ReviewAction,
    ReviewRead,
    ScanRequest,
    ScanResult,
    TaskRead,
    TransactionRead,
)
from bastion.core.errors import InvalidInput, NotFound

router = APIRouter(prefix=PREFIX, tags=["cash"])


@router.get("/exceptions", response_model=list[ExceptionRead])
def list_exceptions(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    status: Literal["open", "explained", "theft", "training", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ExceptionRead]:
    """List POS exceptions to review, with their clip or bookmark."""
    site = site_of(session, site_id)
    rows = exceptions.list_items(
        session=session, site_id=site_id, status=None if status == "all" else status, limit=limit
    )
    return views.exception_list(session, site, rows)


@router.get("/exceptions/rates", response_model=list[RateRead])
def exception_rates(
    site_id: str,
    session: SessionDep,
    hub: HubDep,
    principal: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[RateRead]:
    """Return each cashier's exception rate over the last ``days`` days (outliers flagged)."""
    site_of(session, site_id)
    now = hub.clock.now()
    rows = exceptions.rates(
        session=session, site_id=site_id, since=now - timedelta(days=days), until=now
    )
    names = views.person_names(session, (r.person_id for r in rows))
    return [
        RateRead(
            cashier=r.cashier,
            name=names.get(r.person_id or ""),
            transactions=r.transactions,
            exceptions=r.exceptions,
            rate=round(r.rate, 4),
            stands_out=r.stands_out,
            by_rule=r.by_rule,
        )
        for r in rows
    ]


@router.get("/reviews", response_model=list[ReviewRead])
def list_reviews(
    site_id: str, session: SessionDep, principal: Reader, open_only: bool = True
) -> list[ReviewRead]:
    """List count variances on the escalation ladder."""
    site_of(session, site_id)
    rows = counts.list_reviews(session=session, site_id=site_id, open_only=open_only)
    return views.review_list(session, rows, site_of(session, site_id))


@router.get("/tasks", response_model=list[TaskRead])
def list_tasks(
    site_id: str, session: SessionDep, principal: Reader, open_only: bool = False
) -> list[TaskRead]:
    """List regulator-notice and Form 8300 tasks, nearest deadline first."""
    site_of(session, site_id)
    return [
        views.task_read(t)
        for t in tasks.list_tasks(session=session, site_id=site_id, open_only=open_only)
    ]


@router.get("/pos/rejections", response_model=list[RejectionRead])
def list_rejections(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RejectionRead]:
    """List POS records that were refused, with the reason (kept for review)."""
    site_of(session, site_id)
    return [
        RejectionRead(
            id=r.id, at=r.at, source=r.source, line=r.line, pos_id=r.pos_id, reason=r.reason
        )
        for r in pos.list_rejections(session=session, site_id=site_id, limit=limit)
    ]


@router.get("/pos/transactions", response_model=list[TransactionRead])
def list_transactions(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    register_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TransactionRead]:
    """List the latest POS transactions (one register's when asked)."""
    site_of(session, site_id)
    rows = pos.recent_transactions(
        session=session, site_id=site_id, register_id=register_id, limit=limit
    )
    return views.transaction_list(rows)


@router.get("/report", response_model=None)
def day_report(
    site_id: str,
    session: SessionDep,
    hub: HubDep,
    principal: Reader,
    day: date | None = None,
    format: Literal["json", "csv", "pdf", "png"] = "json",
) -> Response | DayReport:
    """Return the daily reconciliation (site-local day; default today) as JSON, CSV or PDF."""
    site = site_of(session, site_id)
    when = day or hub.clock.now().astimezone(ZoneInfo(site.site.timezone)).date()
    data = report.build(session=session, site=site, day=when)
    name = f"cash-{site_id}-{when.isoformat()}"
    if format == "csv":
        return Response(
            report.to_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        return Response(
            report.to_pdf(data, made=hub.clock.now()),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    if format == "png":
        return Response(report.chart_png(data), media_type="image/png")
    return DayReport(
        site_id=site_id,
        day=when,
        registers=data.registers,
        totals=data.totals,
        counts=data.counts,
        exceptions_by_rule=data.exceptions_by_rule,
        variance_by_employee=data.variance_by_employee,
        deposits=data.deposits,
    )


@router.post("/exceptions/{item_id}/review", response_model=ExceptionRead)
def review_exception(
    site_id: str,
    item_id: str,
    data: ExceptionReview,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> ExceptionRead:
    """Close a POS exception as explained, theft (opens the regulator notice) or training."""
    item = exceptions.get_item(session=session, item_id=item_id)
    if item.site_id != site_id:
        raise NotFound(f"no POS exception {item_id!r} at site {site_id}")
    site = site_of(session, site_id)
    exceptions.review(
        session=session,
        site=site,
        item=item,
        outcome=data.outcome,
        note=data.note,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.exception_list(session, site, [item])[0]


@router.post("/exceptions/scan", response_model=ScanResult)
def scan_exceptions(
    site_id: str, data: ScanRequest, session: SessionDep, hub: HubDep, principal: Manager
) -> ScanResult:
    """Judge stored transactions again over a window; only new items are stored."""
    site = site_of(session, site_id)
    if data.until <= data.since or data.until - data.since > timedelta(days=400):
        raise InvalidInput("the window must be positive and at most 400 days")
    flags, created = exceptions.scan(
        session=session,
        site=site,
        settings=settings_of(session, site_id),
        since=data.since,
        until=data.until,
        now=hub.clock.now(),
        clips=clips_for(hub, site_id),
    )
    return ScanResult(
        flagged={k: int(v.shape[0]) for k, v in flags.by_rule.items()}, created=created
    )


@router.post("/reviews/{review_id}", response_model=ReviewRead)
def act_on_review(
    site_id: str,
    review_id: str,
    data: ReviewAction,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> ReviewRead:
    """Escalate a variance now, or close it (theft opens the regulator notice)."""
    review = counts.get_review(session=session, review_id=review_id)
    if review.site_id != site_id:
        raise NotFound(f"no variance review {review_id!r} at site {site_id}")
    site = site_of(session, site_id)
    settings = settings_of(session, site_id)
    if data.action == "escalate":
        counts.escalate(
            session=session,
            site=site,
            review=review,
            settings=settings,
            context=principal.context(),
            now=hub.clock.now(),
        )
    else:
        if data.outcome is None:
            raise InvalidInput("give the outcome: explained, counting_error or theft")
        counts.close_review(
            session=session,
            site=site,
            review=review,
            outcome=data.outcome,
            note=data.note,
            settings=settings,
            context=principal.context(),
            now=hub.clock.now(),
        )
    return views.review_list(session, [review], site)[0]


@router.post("/tasks/{task_id}/done", response_model=TaskRead)
def complete_task(
    site_id: str, task_id: str, session: SessionDep, hub: HubDep, principal: Compliance
) -> TaskRead:
    """Mark a regulator notice or Form 8300 task done."""
    task = tasks.get_task(session=session, task_id=task_id)
    if task.site_id != site_id:
        raise NotFound(f"no cash task {task_id!r} at site {site_id}")
    tasks.complete(session=session, task=task, context=principal.context(), now=hub.clock.now())
    return views.task_read(task)
