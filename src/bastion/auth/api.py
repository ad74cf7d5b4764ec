"""Sign-in, sign-out, accounts, role grants and API tokens over HTTP (thin views).

Accounts are not records of one site: an account belongs to the sites of its grants.
Site-scoped administrators list the accounts with a grant at their sites (and those
with none or with a grant for every site), and the service refuses to act on an
account, or to hand out a role or token, beyond what the caller holds at that scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from bastion.api.deps import (
    COOKIE_NAME,
    Authenticated,
    Principal,
    Public,
    Require,
    SessionDep,
    clear_session_cookie,
    client_address,
    get_hub,
    run_unit_of_work,
    set_session_cookie,
)
from bastion.api.resources import API_TOKEN
from bastion.api.scope import AnySite, FromBody, FromQuery, FromResource, Global, Missing
from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import Permission, Role
from bastion.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    GrantCreate,
    GrantRead,
    LoginRequest,
    LoginResponse,
    MeRead,
    TotpEnrolmentRead,
    UserCreate,
    UserRead,
)
from bastion.core.errors import Conflict
from bastion.hub import Hub

router = APIRouter(tags=["auth"])
HubDep = Annotated[Hub, Depends(get_hub)]


@router.post("/api/auth/login", dependencies=[Depends(Public())])
async def login(body: LoginRequest, request: Request, response: Response) -> LoginResponse:
    """Check password and TOTP, start a session and set its cookie."""
    hub = get_hub(request)
    source = client_address(request)

    def work(session: Session) -> tuple[UserRead, str, str] | None:
        try:
            user = service.authenticate(
                session=session,
                username=body.username,
                password=body.password,
                totp=body.totp,
                source=source,
                clock=hub.clock,
            )
        except service.LoginFailed:
            return None  # commit the recorded failure (and any lock-out) anyway
        new = service.start_session(
            session=session,
            user=user,
            clock=hub.clock,
            max_hours=hub.settings.session_max_hours,
            source=source,
        )
        return UserRead.of(user), new.token, new.csrf_token

    result = await run_unit_of_work(hub, work)
    if result is None:
        raise service.LoginFailed()
    user, token, csrf = result
    set_session_cookie(response, hub=hub, request=request, token=token)
    return LoginResponse(user=user, csrf_token=csrf)


@router.post("/api/auth/logout", status_code=204)
async def logout(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(Authenticated())],
) -> None:
    """End the caller's session and clear its cookie."""
    hub = get_hub(request)
    token = request.cookies.get(COOKIE_NAME)
    if principal.method == "session" and token:
        source = client_address(request)
        await run_unit_of_work(
            hub,
            lambda session: service.end_session(
                session=session, token=token, clock=hub.clock, source=source
            ),
        )
    clear_session_cookie(response, hub=hub, request=request)


@router.get("/api/auth/me")
def me(session: SessionDep, principal: Annotated[Principal, Depends(Authenticated())]) -> MeRead:
    """Return the caller's account and the roles in force for this request."""
    user = service.get_user(session=session, user_id=principal.user_id)
    return MeRead(
        user=UserRead.of(user),
        method=principal.method,
        roles=[GrantRead.of(g) for g in principal.grants],
        csrf_token=principal.csrf_token,
    )


AccountAdmin = Annotated[Principal, Depends(Require(Permission.USERS_MANAGE, site=Global()))]


def _account_sites(principal: Principal, user: User) -> bool:
    """Return True when the account has a grant the caller may read about (or none)."""
    sites = principal.sites_with(Permission.USERS_READ)
    grants = service.grants_of(user)
    return (
        sites is None or not grants or any(g.site_id is None or g.site_id in sites for g in grants)
    )


@router.get("/api/users")
def list_users(
    session: SessionDep,
    principal: Annotated[Principal, Depends(Require(Permission.USERS_READ, site=AnySite()))],
) -> list[UserRead]:
    """List the accounts of the caller's sites."""
    return [
        UserRead.of(u) for u in service.list_users(session=session) if _account_sites(principal, u)
    ]


@router.post("/api/users", status_code=201)
def create_user(
    body: UserCreate,
    session: SessionDep,
    hub: HubDep,
    principal: AccountAdmin,
) -> UserRead:
    """Create an account with its roles."""
    user = service.create_user(
        session=session,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        grants=[g.grant() for g in body.roles],
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return UserRead.of(user)


@router.post("/api/users/{user_id}/disable")
def disable_user(
    user_id: int,
    session: SessionDep,
    hub: HubDep,
    principal: AccountAdmin,
) -> UserRead:
    """Disable an account, ending its sessions and tokens."""
    if user_id == principal.user_id:
        raise Conflict("you cannot disable your own account")
    user = service.get_user(session=session, user_id=user_id)
    service.disable_user(
        session=session,
        user=user,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return UserRead.of(user)


@router.post("/api/users/{user_id}/roles", status_code=201)
def grant_role(
    user_id: int,
    body: GrantCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.USERS_MANAGE, site=FromBody("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
) -> UserRead:
    """Grant a role at one site (or some of its zones) or every site."""
    user = service.get_user(session=session, user_id=user_id)
    service.grant_role(
        session=session,
        user=user,
        role=body.role,
        site_id=body.site_id,
        zone_ids=body.zone_ids,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return UserRead.of(user)


@router.delete("/api/users/{user_id}/roles/{role}")
def revoke_role(
    user_id: int,
    role: Role,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.USERS_MANAGE, site=FromQuery("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
    site_id: str | None = None,
) -> UserRead:
    """Take a role away (at ``site_id``, or the all-sites grant when omitted)."""
    user = service.get_user(session=session, user_id=user_id)
    service.revoke_role(
        session=session,
        user=user,
        role=role,
        site_id=site_id,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return UserRead.of(user)


@router.post("/api/users/{user_id}/totp/reset")
def reset_totp(
    user_id: int,
    session: SessionDep,
    hub: HubDep,
    principal: AccountAdmin,
) -> TotpEnrolmentRead:
    """Issue a new authenticator secret for a lost device; shown once."""
    user = service.get_user(session=session, user_id=user_id)
    enrolment = service.reset_totp(
        session=session,
        user=user,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return TotpEnrolmentRead(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.get("/api/tokens")
def list_tokens(
    session: SessionDep,
    principal: Annotated[Principal, Depends(Require(Permission.TOKENS_MANAGE, site=AnySite()))],
) -> list[ApiTokenRead]:
    """List the API tokens of the caller's sites (never their secrets), newest first."""
    tokens = service.list_api_tokens(session=session)
    return [ApiTokenRead.of(t) for t in principal.visible(Permission.TOKENS_MANAGE, tokens)]


@router.post("/api/tokens", status_code=201)
def create_token(
    body: ApiTokenCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(
            Require(Permission.TOKENS_MANAGE, site=FromBody("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
) -> ApiTokenCreated:
    """Mint an API token owned by the caller; the plaintext is returned once."""
    owner = service.get_user(session=session, user_id=principal.user_id)
    new = service.create_api_token(
        session=session,
        owner=owner,
        name=body.name,
        role=body.role,
        site_id=body.site_id,
        expires_at=body.expires_at,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return ApiTokenCreated(token=new.token, record=ApiTokenRead.of(new.record))


@router.delete("/api/tokens/{token_id}")
def revoke_token(
    token_id: int,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[
        Principal,
        Depends(Require(Permission.TOKENS_MANAGE, site=FromResource("token_id", API_TOKEN))),
    ],
) -> ApiTokenRead:
    """Revoke an API token."""
    record = service.revoke_api_token(
        session=session,
        token_id=token_id,
        clock=hub.clock,
        context=principal.context(),
        authority=principal.grants,
    )
    return ApiTokenRead.of(record)
