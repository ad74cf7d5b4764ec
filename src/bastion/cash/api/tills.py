"""Cash routes for containers, tills, counts and settings (a cashier: only their own till)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bastion.api.deps import SessionDep
from bastion.auth.permissions import Permission
from bastion.cash import (
    counts,
    movements,
    pos,
    tills,
    views,
)
from bastion.cash import settings as cash_settings
from bastion.cash.api.common import (
    PREFIX,
    Handler,
    HubDep,
    Manager,
    Reader,
    container_of,
    may_count,
    own_till,
    settings_of,
    site_of,
)
from bastion.cash.runtime import clips_for
from bastion.cash.schemas import (
    CashierCodeWrite,
    ContainerCreate,
    ContainerRead,
    ContainerUpdate,
    CountCreate,
    CountRead,
    CountSubmit,
    CountSubmitted,
    DropCreate,
    FundingCreate,
    MovementRead,
    MyTill,
    PayoutCreate,
    SettingsWrite,
    TillOpen,
    TillOpened,
    TransferCreate,
)
from bastion.core.errors import InvalidInput, NotFound

router = APIRouter(prefix=PREFIX, tags=["cash"])


@router.get("/containers", response_model=list[ContainerRead])
def list_containers(site_id: str, session: SessionDep, principal: Reader) -> list[ContainerRead]:
    """List tills, safes, the vault and bags with live balances (hidden while counted)."""
    site = site_of(session, site_id)
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
    site_of(session, site_id)
    rows = movements.movements_of(
        session=session, site_id=site_id, container_id=container_id, limit=limit
    )
    return views.movement_list(session, rows)


@router.get("/settings")
def get_settings(site_id: str, session: SessionDep, principal: Reader) -> dict[str, object]:
    """Return the site's effective cash settings and which ones differ from the defaults."""
    site_of(session, site_id)
    current = settings_of(session, site_id)
    return {
        "settings": current.model_dump(mode="json"),
        "changed": sorted(current.model_dump(exclude_defaults=True)),
    }


@router.get("/my-till", response_model=list[MyTill])
def my_till(site_id: str, session: SessionDep, hub: HubDep, principal: Handler) -> list[MyTill]:
    """Return the caller's own open till(s): drop warning and activity, never the balance."""
    site = site_of(session, site_id)
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
    register = container_of(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    if data.safe_id:
        safe = container_of(session, site_id, data.safe_id)
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
        settings=settings_of(session, site_id),
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
    register = container_of(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    tills.payout(
        session=session,
        register=register,
        amount_cents=data.amount_cents,
        reason=data.reason,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    return Response(status_code=204)


@router.post("/tills/{register_id}/close", response_model=CountRead)
def close_till(
    site_id: str, register_id: str, session: SessionDep, hub: HubDep, principal: Handler
) -> CountRead:
    """Stop a till and start its blind closing count (a cashier: only their own)."""
    register = container_of(session, site_id, register_id)
    own_till(session, principal, register, Permission.CASH_MANAGE)
    count = tills.start_close(
        session=session,
        register=register,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.count_read(session, count)


@router.get("/counts", response_model=list[CountRead])
def list_counts(
    site_id: str, session: SessionDep, principal: Handler, open_only: bool = True
) -> list[CountRead]:
    """List counts (a cashier sees only their own till's); open ones are the counts to do."""
    site_of(session, site_id)
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
    container = container_of(session, site_id, data.container_id)
    may_count(session, principal, container)
    till = tills.open_session(session=session, register_id=container.id)
    count = counts.start(
        session=session,
        container=container,
        kind=data.kind,
        settings=settings_of(session, site_id),
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
    site = site_of(session, site_id)
    may_count(session, principal, container_of(session, site_id, count.container_id))
    result = counts.submit(
        session=session,
        site=site,
        count=count,
        user_id=principal.user_id,
        amount_cents=data.amount_cents,
        denominations=data.denominations,
        settings=settings_of(session, site_id),
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


@router.post("/containers", response_model=ContainerRead, status_code=201)
def create_container(
    site_id: str, data: ContainerCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> ContainerRead:
    """Add a register (with its zone, camera and POS terminal), a drop safe or the vault."""
    site = site_of(session, site_id)
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
    site = site_of(session, site_id)
    row = movements.update_container(
        session=session,
        site=site,
        container=container_of(session, site_id, container_id),
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
    site_of(session, site_id)
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
    site_of(session, site_id)
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
    register = container_of(session, site_id, register_id)
    source = container_of(session, site_id, data.source_id)
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
        settings=settings_of(session, site_id),
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
    source = container_of(session, site_id, data.source_id)
    target = container_of(session, site_id, data.target_id)
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
    target = container_of(session, site_id, data.container_id)
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
