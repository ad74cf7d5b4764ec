"""Cash routes under ``/api/sites/{site_id}/cash`` (thin; logic in the cash services).

Reading needs ``cash:read``; a cashier (``cash:handle``) reaches only their own till and
its counts, which the services check; counting other containers needs ``cash:count``;
configuration, tills, deposits and reviews need ``cash:manage``; the pickup schedule
and carriers need ``cash:pickups``; closing a compliance task needs
``compliance:manage``. A refusal that must be kept (a wrong code word at the pickup
door, a reused seal) commits and answers 409 with the alarm it raised.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.auth.permissions import Permission
from bastion.cash import (
    counts,
    exceptions,
    movements,
    pickups,
    pos,
    report,
    tasks,
    tills,
    views,
)
from bastion.cash import settings as cash_settings
from bastion.cash.models import CashContainer, Pickup
from bastion.cash.runtime import clips_for
from bastion.cash.schemas import (
    BankConfirmationCreate,
    CarrierCreate,
    CarrierRead,
    CashierCodeWrite,
    ContainerCreate,
    ContainerRead,
    ContainerUpdate,
    CountCreate,
    CountRead,
    CountSubmit,
    CountSubmitted,
    DayReport,
    DepositCreate,
    DropCreate,
    ExceptionRead,
    ExceptionReview,
    FundingCreate,
    HandOver,
    MovementRead,
    MyTill,
    PayoutCreate,
    PickupCancel,
    PickupCreate,
    PickupRead,
    PickupVerify,
    RateRead,
    RejectionRead,
    ReviewAction,
    ReviewRead,
    ScanRequest,
    ScanResult,
    SettingsWrite,
    TaskRead,
    TillOpen,
    TillOpened,
    TransactionRead,
    TransferCreate,
)
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.site.schemas import Site

PREFIX = "/api/sites/{site_id}/cash"
router = APIRouter(prefix=PREFIX, tags=["cash"])
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.CASH_READ, site_param="site_id"))]
Handler = Annotated[Principal, Depends(Require(Permission.CASH_HANDLE, site_param="site_id"))]
Manager = Annotated[Principal, Depends(Require(Permission.CASH_MANAGE, site_param="site_id"))]
Planner = Annotated[Principal, Depends(Require(Permission.CASH_PICKUPS, site_param="site_id"))]
Compliance = Annotated[
    Principal, Depends(Require(Permission.COMPLIANCE_MANAGE, site_param="site_id"))
]
PROBLEM = "application/problem+json"


def _site(session: Session, site_id: str) -> Site:
    return site_service.get_site(session=session, site_id=site_id)


def _container(session: Session, site_id: str, container_id: str) -> CashContainer:
    row = movements.get_container(session=session, container_id=container_id)
    if row.site_id != site_id:
        raise NotFound(f"no cash container {container_id!r} at site {site_id}")
    return row


def _settings(session: Session, site_id: str) -> cash_settings.CashSettings:
    return cash_settings.load(session=session, site_id=site_id)


def refused(reason: str, alarm_id: str) -> JSONResponse:
    """Return the 409 of a refusal that was recorded (and alarmed), not rolled back."""
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": reason,
        "alarm_id": alarm_id,
        "refused": True,
    }
    return JSONResponse(body, status_code=409, media_type=PROBLEM)


def own_till(
    session: Session, principal: Principal, register: CashContainer, stronger: Permission
) -> None:
    """Allow a cashier to act on their own open till only (unless they hold ``stronger``)."""
    if principal.allows(stronger, register.site_id):
        return
    person = counts.person_of_user(session, principal.user_id)
    till = tills.open_session(session=session, register_id=register.id)
    if person is None or till is None or till.person_id != person:
        raise Forbidden("you can act only on your own till")


# --- reading ---------------------------------------------------------------------------------


@router.get("/containers", response_model=list[ContainerRead])
def list_containers(site_id: str, session: SessionDep, principal: Reader) -> list[ContainerRead]:
    """List tills, safes, the vault and bags with live balances (hidden while counted)."""
    site = _site(session, site_id)
    rows = movements.list_containers(
        session=session,
        site_id=site_id,
        statuses=("active", "prepared", "in_transit", "discrepancy"),
    )
    return views.containers(session, site, rows)


@router.get("/movements", response_model=list[MovementRead])
def list_movements(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    container_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MovementRead]:
    """List movements, newest first (one container's when asked)."""
    _site(session, site_id)
    rows = movements.movements_of(
        session=session, site_id=site_id, container_id=container_id, limit=limit
    )
    return views.movement_list(session, rows)


@router.get("/settings")
def get_settings(site_id: str, session: SessionDep, principal: Reader) -> dict[str, object]:
    """Return the site's effective cash settings and which ones differ from the defaults."""
    _site(session, site_id)
    current = _settings(session, site_id)
    return {
        "settings": current.model_dump(mode="json"),
        "changed": sorted(current.model_dump(exclude_defaults=True)),
    }


@router.get("/exceptions", response_model=list[ExceptionRead])
def list_exceptions(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    status: Literal["open", "explained", "theft", "training", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ExceptionRead]:
    """List POS exceptions to review, with their clip or bookmark."""
    site = _site(session, site_id)
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
    _site(session, site_id)
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
    _site(session, site_id)
    rows = counts.list_reviews(session=session, site_id=site_id, open_only=open_only)
    return views.review_list(session, rows, _site(session, site_id))


@router.get("/tasks", response_model=list[TaskRead])
def list_tasks(
    site_id: str, session: SessionDep, principal: Reader, open_only: bool = False
) -> list[TaskRead]:
    """List regulator-notice and Form 8300 tasks, nearest deadline first."""
    _site(session, site_id)
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
    _site(session, site_id)
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
    _site(session, site_id)
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
    site = _site(session, site_id)
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
            report.to_pdf(data),
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


# --- the cashier's own till ------------------------------------------------------------------


@router.get("/my-till", response_model=list[MyTill])
def my_till(site_id: str, session: SessionDep, hub: HubDep, principal: Handler) -> list[MyTill]:
    """Return the caller's own open till(s): drop warning and activity, never the balance."""
    site = _site(session, site_id)
    person = counts.person_of_user(session, principal.user_id)
    return views.my_tills(session, site, person, hub.clock.now())


@router.post("/tills/{register_id}/drops", status_code=204)
def drop(
    site_id: str,
    register_id: str,
    data: DropCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> Response:
    """Drop cash from a till into the drop safe (a cashier: only from their own till)."""
    register = _container(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    if data.safe_id:
        safe = _container(session, site_id, data.safe_id)
    else:
        found = movements.list_containers(session=session, site_id=site_id, kinds=("drop_safe",))
        if not found:
            raise NotFound("the site has no drop safe")
        safe = found[0]
    tills.drop(
        session=session,
        register=register,
        safe=safe,
        amount_cents=data.amount_cents,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
        witness=data.witness,
    )
    return Response(status_code=204)


@router.post("/tills/{register_id}/payouts", status_code=204)
def payout(
    site_id: str,
    register_id: str,
    data: PayoutCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> Response:
    """Pay cash out of a till (a cashier: only their own)."""
    register = _container(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    tills.payout(
        session=session,
        register=register,
        amount_cents=data.amount_cents,
        reason=data.reason,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.post("/tills/{register_id}/close", response_model=CountRead)
def close_till(
    site_id: str, register_id: str, session: SessionDep, hub: HubDep, principal: Handler
) -> CountRead:
    """Stop a till and start its blind closing count (a cashier: only their own)."""
    register = _container(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    count = tills.start_close(
        session=session,
        register=register,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.count_read(session, count)


# --- counts ----------------------------------------------------------------------------------


def _may_count(session: Session, principal: Principal, container: CashContainer) -> None:
    if principal.allows(Permission.CASH_COUNT, container.site_id):
        return
    if container.kind == "register":
        own_till(session, principal, container, Permission.CASH_COUNT)
        return
    raise Forbidden("counting this container needs the cash:count permission")


@router.get("/counts", response_model=list[CountRead])
def list_counts(
    site_id: str, session: SessionDep, principal: Handler, open_only: bool = True
) -> list[CountRead]:
    """List counts (a cashier sees only their own till's); open ones are the counts to do."""
    _site(session, site_id)
    rows = counts.list_counts(session=session, site_id=site_id, open_only=open_only)
    if not principal.allows(Permission.CASH_COUNT, site_id):
        person = counts.person_of_user(session, principal.user_id)
        mine = {
            t.register_id
            for t in (tills.sessions_of_person(session=session, person_id=person) if person else [])
        }
        rows = [r for r in rows if r.container_id in mine]
    return [views.count_read(session, r) for r in rows]


@router.post("/counts", response_model=CountRead, status_code=201)
def start_count(
    site_id: str, data: CountCreate, session: SessionDep, hub: HubDep, principal: Handler
) -> CountRead:
    """Start a blind count of a container."""
    container = _container(session, site_id, data.container_id)
    _may_count(session, principal, container)
    till = tills.open_session(session=session, register_id=container.id)
    count = counts.start(
        session=session,
        container=container,
        kind=data.kind,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
        session_id=till.id if till is not None and data.kind == "opening" else None,
    )
    session.flush()
    return views.count_read(session, count)


@router.post("/counts/{count_id}/submissions", response_model=CountSubmitted)
def submit_count(
    site_id: str,
    count_id: str,
    data: CountSubmit,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> CountSubmitted:
    """Submit your blind count; the result is shown only once the count is complete."""
    count = counts.get_count(session=session, count_id=count_id)
    if count.site_id != site_id:
        raise NotFound(f"no cash count {count_id!r} at site {site_id}")
    site = _site(session, site_id)
    _may_count(session, principal, _container(session, site_id, count.container_id))
    result = counts.submit(
        session=session,
        site=site,
        count=count,
        user_id=principal.user_id,
        amount_cents=data.amount_cents,
        denominations=data.denominations,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
        clips=clips_for(hub, site_id),
    )
    session.flush()
    return CountSubmitted(
        status=result.status,
        message=result.message,
        count=views.count_read(session, count),
    )


# --- managing --------------------------------------------------------------------------------


@router.post("/containers", response_model=ContainerRead, status_code=201)
def create_container(
    site_id: str, data: ContainerCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> ContainerRead:
    """Add a register (with its zone, camera and POS terminal), a drop safe or the vault."""
    site = _site(session, site_id)
    row = movements.create_container(
        session=session,
        site=site,
        kind=data.kind,
        name=data.name,
        zone_id=data.zone_id,
        camera_id=data.camera_id,
        terminal=data.terminal,
        limit_cents=data.limit_cents,
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.containers(session, site, [row], hide=set())[0]


@router.patch("/containers/{container_id}", response_model=ContainerRead)
def update_container(
    site_id: str,
    container_id: str,
    data: ContainerUpdate,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> ContainerRead:
    """Rename a container, change a register's camera or limit, or retire an empty one."""
    site = _site(session, site_id)
    row = movements.update_container(
        session=session,
        site=site,
        container=_container(session, site_id, container_id),
        name=data.name,
        camera_id=data.camera_id,
        limit_cents=data.limit_cents,
        retire=data.retire,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.containers(session, site, [row])[0]


@router.put("/settings")
def put_settings(
    site_id: str, data: SettingsWrite, session: SessionDep, hub: HubDep, principal: Manager
) -> dict[str, object]:
    """Change cash settings (null restores a default); returns the effective settings."""
    _site(session, site_id)
    current = cash_settings.update(
        session=session,
        site_id=site_id,
        changes=data.changes,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return {"settings": current.model_dump(mode="json")}


@router.post("/cashiers", status_code=204)
def map_cashier(
    site_id: str, data: CashierCodeWrite, session: SessionDep, hub: HubDep, principal: Manager
) -> Response:
    """Say which person a POS cashier code belongs to."""
    _site(session, site_id)
    pos.set_cashier_code(
        session=session,
        site_id=site_id,
        code=data.code,
        person_id=data.person_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.post("/tills/{register_id}/open", response_model=TillOpened, status_code=201)
def open_till(
    site_id: str,
    register_id: str,
    data: TillOpen,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> TillOpened:
    """Give a cashier a register with a float; the blind opening count starts at once."""
    register = _container(session, site_id, register_id)
    source = _container(session, site_id, data.source_id)
    now = hub.clock.now()
    till = tills.open_till(
        session=session,
        register=register,
        source=source,
        person_id=data.person_id,
        float_cents=data.float_cents,
        context=principal.context(),
        now=now,
    )
    count = counts.start(
        session=session,
        container=register,
        kind="opening",
        settings=_settings(session, site_id),
        context=principal.context(),
        now=now,
        session_id=till.id,
    )
    return TillOpened(session_id=till.id, count_id=count.id)


@router.post("/transfers", status_code=204)
def transfer(
    site_id: str, data: TransferCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> Response:
    """Move counted cash between the safes and the vault."""
    source = _container(session, site_id, data.source_id)
    target = _container(session, site_id, data.target_id)
    if {source.kind, target.kind} - {"drop_safe", "vault"}:
        raise InvalidInput("transfers go between the drop safe and the vault")
    movements.transfer(
        session=session,
        site_id=site_id,
        kind="vault_transfer",
        source=source,
        target=target,
        amount_cents=data.amount_cents,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.post("/funding", status_code=204)
def funding(
    site_id: str, data: FundingCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> Response:
    """Record cash brought in (a change order) into a safe or the vault."""
    target = _container(session, site_id, data.container_id)
    if target.kind not in ("drop_safe", "vault"):
        raise InvalidInput("change orders go into the drop safe or the vault")
    movements.post(
        session=session,
        site_id=site_id,
        kind="funding",
        amount_cents=movements.check_amount(data.amount_cents),
        container_id=target.id,
        legs=[(target.id, data.amount_cents)],
        context=principal.context(),
        now=hub.clock.now(),
        reference={"reference": data.reference} if data.reference else None,
    )
    return Response(status_code=204)


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
    site = _site(session, site_id)
    exceptions.review(
        session=session,
        site=site,
        item=item,
        outcome=data.outcome,
        note=data.note,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.exception_list(session, site, [item])[0]


@router.post("/exceptions/scan", response_model=ScanResult)
def scan_exceptions(
    site_id: str, data: ScanRequest, session: SessionDep, hub: HubDep, principal: Manager
) -> ScanResult:
    """Judge stored transactions again over a window; only new items are stored."""
    site = _site(session, site_id)
    if data.until <= data.since or data.until - data.since > timedelta(days=400):
        raise InvalidInput("the window must be positive and at most 400 days")
    flags, created = exceptions.scan(
        session=session,
        site=site,
        settings=_settings(session, site_id),
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
    site = _site(session, site_id)
    settings = _settings(session, site_id)
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


@router.post("/deposits", response_model=ContainerRead, status_code=201)
def prepare_deposit(
    site_id: str, data: DepositCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> ContainerRead | JSONResponse:
    """Seal cash from the vault into a deposit bag (a reused seal is refused and alarmed)."""
    site = _site(session, site_id)
    result = pickups.prepare_deposit(
        session=session,
        site=site,
        amount_cents=data.amount_cents,
        bag_number=data.bag_number,
        seal_number=data.seal_number,
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    session.flush()
    return views.containers(session, site, [result], hide=set())[0]


@router.post("/deposits/{bag_id}/confirmation", response_model=ContainerRead)
def confirm_deposit(
    site_id: str,
    bag_id: str,
    data: BankConfirmationCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> ContainerRead:
    """Record the bank's figure for a bag; a difference raises an alarm."""
    site = _site(session, site_id)
    bag = _container(session, site_id, bag_id)
    pickups.confirm(
        session=session,
        site=site,
        bag=bag,
        amount_cents=data.amount_cents,
        reference=data.reference,
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.containers(session, site, [bag], hide=set())[0]


# --- pickups (planners only) -----------------------------------------------------------------


@router.get("/carriers", response_model=list[CarrierRead])
def list_carriers(site_id: str, session: SessionDep, principal: Planner) -> list[CarrierRead]:
    """List the carrier companies."""
    _site(session, site_id)
    return [
        CarrierRead(id=c.id, company=c.company)
        for c in pickups.list_carriers(session=session, site_id=site_id)
    ]


@router.post("/carriers", response_model=CarrierRead, status_code=201)
def add_carrier(
    site_id: str, data: CarrierCreate, session: SessionDep, hub: HubDep, principal: Planner
) -> CarrierRead:
    """Register a carrier company and its code word (stored as a keyed hash only)."""
    _site(session, site_id)
    carrier = pickups.add_carrier(
        session=session,
        site_id=site_id,
        company=data.company,
        code_word=data.code_word,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return CarrierRead(id=carrier.id, company=carrier.company)


@router.get("/pickups", response_model=list[PickupRead])
def list_pickups(site_id: str, session: SessionDep, principal: Planner) -> list[PickupRead]:
    """List pickups with their times and unused one-time codes (planners only)."""
    _site(session, site_id)
    return views.pickup_list(session, pickups.list_pickups(session=session, site_id=site_id))


@router.post("/pickups", response_model=PickupRead, status_code=201)
def plan_pickup(
    site_id: str, data: PickupCreate, session: SessionDep, hub: HubDep, principal: Planner
) -> PickupRead:
    """Plan the next pickup at an unpredictable allowed time (``urgent``: the earliest)."""
    site = _site(session, site_id)
    carrier = pickups.get_carrier(session=session, carrier_id=data.carrier_id)
    planned = pickups.plan(
        session=session,
        site=site,
        carrier=carrier,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
        urgent=data.urgent,
        rng=random.SystemRandom(),
    )
    session.flush()
    return views.pickup_list(session, [planned.pickup])[0]


def _pickup(session: Session, site_id: str, pickup_id: str) -> Pickup:
    row = pickups.get_pickup(session=session, pickup_id=pickup_id)
    if row.site_id != site_id:
        raise NotFound(f"no pickup {pickup_id!r} at site {site_id}")
    return row


@router.post("/pickups/{pickup_id}/verify", response_model=PickupRead)
def verify_carrier(
    site_id: str,
    pickup_id: str,
    data: PickupVerify,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead | JSONResponse:
    """Check the guard at the door; a failure is kept, alarmed and answered 409."""
    site = _site(session, site_id)
    pickup = _pickup(session, site_id, pickup_id)
    result = pickups.verify(
        session=session,
        site=site,
        pickup=pickup,
        company=data.company,
        guard_name=data.guard_name,
        one_time_code=data.one_time_code,
        code_word=data.code_word,
        id_number=data.id_number,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    return views.pickup_list(session, [pickup])[0]


@router.post("/pickups/{pickup_id}/hand-over", response_model=PickupRead)
def hand_over(
    site_id: str,
    pickup_id: str,
    data: HandOver,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead | JSONResponse:
    """Hand the sealed bags to the verified carrier (a wrong seal is refused and alarmed)."""
    site = _site(session, site_id)
    pickup = _pickup(session, site_id, pickup_id)
    result = pickups.hand_over(
        session=session,
        site=site,
        pickup=pickup,
        seals=data.seals,
        settings=_settings(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    session.flush()
    return views.pickup_list(session, [pickup])[0]


@router.post("/pickups/{pickup_id}/cancel", response_model=PickupRead)
def cancel_pickup(
    site_id: str,
    pickup_id: str,
    data: PickupCancel,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead:
    """Cancel a scheduled pickup."""
    _site(session, site_id)
    pickup = _pickup(session, site_id, pickup_id)
    if pickup.status != "scheduled":
        raise Conflict(f"the pickup is {pickup.status}")
    pickups.cancel(
        session=session,
        pickup=pickup,
        reason=data.reason,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.pickup_list(session, [pickup])[0]
