"""Request dependencies: the hub, the request's unit of work, and who is calling with what rights.

Every route declares exactly one guard: ``Depends(Require(Permission.X, site=...))``
(signed in and holding X where the request acts; see :mod:`bastion.api.scope`),
``Depends(Authenticated())`` (signed in, any role, nothing of a site) or
``Depends(Public())`` (deliberately open). :func:`route_guards` finds them so a test
can prove that no route is left unguarded or without a declared scope.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, TypeVar, cast

from fastapi import Depends, FastAPI, Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bastion.api.scope import (
    Global,
    Place,
    SiteSource,
    SiteSpec,
    ZoneSource,
    keep_sites,
    sources_of,
)
from bastion.auth import service
from bastion.auth.permissions import (
    ROLE_PERMISSIONS,
    Grant,
    Permission,
    Role,
    has_permission,
    may,
    sites_with,
)
from bastion.core.context import Context
from bastion.core.errors import Forbidden, NotFound, Unauthorized
from bastion.hub import Hub
from bastion.store.ledger import take_staged

COOKIE_NAME = "bastion_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PRINCIPAL_KEY = "bastion_principal"
T = TypeVar("T")
R = TypeVar("R")


def get_hub(request: Request) -> Hub:
    """Return the hub the app was created for."""
    return cast(Hub, request.app.state.hub)


async def run_unit_of_work(hub: Hub, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a worker thread inside one transaction; deliver its events after commit.

    The database work stays off the event loop, while the staged events are handed to
    the bus from the loop (``Hub.deliver`` only delivers where a loop is running).
    """

    def run() -> tuple[T, list[Any]]:
        with hub.db.unit_of_work() as session:
            result = work(session)
            events = take_staged(session)
        return result, events

    result, events = await run_in_threadpool(run)
    hub.deliver(events)
    return result


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield the request's session; commit after the route succeeds, roll back on error.

    Commit runs in a worker thread; the events staged in the session reach the bus
    only once the commit succeeded. Requests that may write (every method but GET,
    HEAD and OPTIONS) take the write lock up front, so no request fails because
    another one committed while it ran; reads never wait for writers.
    """
    hub = get_hub(request)
    session = hub.db.sessions() if request.method in SAFE_METHODS else hub.db.write_session()
    try:
        yield session
        await run_in_threadpool(session.commit)
    except BaseException:
        take_staged(session)
        session.rollback()
        raise
    finally:
        session.close()
    hub.deliver(take_staged(session))


# "function" scope: commit before the response is sent, so a failed commit is a 500.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an account signed in by cookie, or an API token."""

    user_id: int
    username: str
    grants: tuple[Grant, ...]
    method: Literal["session", "token"]
    csrf_token: str | None = None
    session_id: int | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """Return the ledger actor: ``user:<id>`` or ``token:<id>``."""
        if self.method == "token":
            return f"token:{self.token_id}"
        return f"user:{self.user_id}"

    @property
    def role_names(self) -> list[str]:
        """Return ``role`` or ``role@site`` for each grant, for display."""
        return [g.label() for g in self.grants]

    def context(self) -> Context:
        """Return a context whose actor is this principal."""
        return Context(actor=self.actor)

    def allows(
        self,
        permission: Permission,
        site_id: str | None = None,
        *,
        zone_ids: Iterable[str] | None = None,
        reading: bool = False,
    ) -> bool:
        """Return True when the principal holds ``permission`` at ``site_id`` (None: anywhere).

        At a site, a grant limited to zones counts only for ``reading`` or when it
        covers one of ``zone_ids``.
        """
        return has_permission(self.grants, permission, site_id, zone_ids=zone_ids, reading=reading)

    def may(self, permission: Permission, place: Place, *, reading: bool) -> bool:
        """Return True when the principal holds ``permission`` at ``place``."""
        if place.every:
            return any(
                g.site_id is None and permission in ROLE_PERMISSIONS[g.role] for g in self.grants
            )
        return may(self.grants, permission, place.site_id, zone_ids=place.zone_ids, reading=reading)

    def sees(self, place: Place) -> bool:
        """Return True when some grant (any role) lets the principal read at ``place``."""
        if place.every:
            return any(g.site_id is None for g in self.grants)
        return any(g.reaches(place.site_id, reading=True) for g in self.grants)

    def sites_with(self, permission: Permission) -> frozenset[str] | None:
        """Return the sites where ``permission`` is held; None means every site."""
        return sites_with(self.grants, permission)

    def visible(
        self,
        permission: Permission,
        rows: Iterable[R],
        *,
        site: Callable[[R], str | None] = lambda row: getattr(row, "site_id", None),
        site_less: bool = True,
    ) -> list[R]:
        """Return the rows of sites where ``permission`` is held (the one list filter).

        Rows of no single site are kept when ``site_less`` (read with the permission
        held anywhere); pass False for records only a grant for every site may see.
        """
        return keep_sites(self.sites_with(permission), rows, site=site, site_less=site_less)


def cookie_secure(hub: Hub) -> bool:
    """Return whether the session cookie is Secure: always, unless the settings turn it off.

    A loopback listener is no proof of plain HTTP (a TLS proxy usually sits in front), so
    only an explicit setting, as the plain-HTTP demo makes, drops the flag.
    """
    return hub.settings.cookie_secure is not False


def set_session_cookie(response: Response, *, hub: Hub, request: Request, token: str) -> None:
    """Set the HttpOnly, SameSite=Strict session cookie."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(hub),
        path="/",
    )


def clear_session_cookie(response: Response, *, hub: Hub, request: Request) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        COOKIE_NAME,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(hub),
        path="/",
    )


def client_address(request: Request) -> str:
    """Return the peer address for the ledger (never a header the client controls)."""
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("malformed Authorization header; use 'Bearer bst_…'")
    return value.strip()


def _principal_from_session(hub: Hub, token: str) -> Principal:
    with hub.db.unit_of_work() as session:
        record, user = service.resolve_session(
            session=session,
            token=token,
            clock=hub.clock,
            idle_minutes=hub.settings.session_idle_minutes,
        )
        return Principal(
            user_id=user.id,
            username=user.username,
            grants=service.grants_of(user),
            method="session",
            csrf_token=service.csrf_token_for(token),
            session_id=record.id,
        )


def _principal_from_token(hub: Hub, token: str) -> Principal:
    with hub.db.unit_of_work() as session:
        record, owner = service.resolve_api_token(session=session, token=token, clock=hub.clock)
        return Principal(
            user_id=owner.id,
            username=owner.username,
            grants=(Grant(Role(record.role), record.site_id),),
            method="token",
            token_id=record.id,
        )


def cached_principal(request: Request) -> Principal | None:
    """Return the principal this request was already authenticated as, if any."""
    cached = request.scope.get(_PRINCIPAL_KEY)
    return cached if isinstance(cached, Principal) else None


async def current_principal(request: Request) -> Principal:
    """Authenticate the request by bearer token or session cookie; raise Unauthorized."""
    cached = request.scope.get(_PRINCIPAL_KEY)
    if isinstance(cached, Principal):
        return cached
    hub = get_hub(request)
    bearer = _bearer(request)
    if bearer is not None:
        principal = await run_in_threadpool(_principal_from_token, hub, bearer)
    else:
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            raise Unauthorized(service.SESSION_INVALID)
        principal = await run_in_threadpool(_principal_from_session, hub, cookie)
    request.scope[_PRINCIPAL_KEY] = principal
    return principal


async def check_csrf(request: Request, principal: Principal) -> None:
    """Raise Forbidden when a cookie-authenticated unsafe request lacks the CSRF token."""
    if principal.method != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = principal.csrf_token or ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("missing or wrong CSRF token")


class Require:
    """Guard a route: signed in (401), holding ``permission`` where the request acts, CSRF.

    ``site`` declares where the request acts (a source of :mod:`bastion.api.scope`, or a
    tuple of them that must all pass) and ``zone`` which zones it touches. The checks,
    in order:

    1. not signed in: 401 (the console redirects to sign-in);
    2. the permission held nowhere: 403;
    3. a cookie session without its CSRF token on an unsafe method: 403;
    4. each source's place, checked with :meth:`Principal.may` (reads are ``GET`` and
       ``HEAD``). Refused: 404 when the place is a stored record the caller cannot
       see at all (indistinguishable from a record that does not exist), otherwise
       403 naming the permission and the place. Site ids named in a request are
       not secret (they are in the site files), so a named site answers 403.

    Records of no single site are read with the permission held at any site and
    changed only with a grant for every site; :mod:`bastion.api.resources` says, per
    kind of record, where its site comes from and which kinds are instead seen only
    with a grant for every site.
    """

    def __init__(
        self,
        permission: Permission | None,
        *,
        site: SiteSpec | None = None,
        zone: ZoneSource | None = None,
    ) -> None:
        self.permission = permission
        self.sources: tuple[SiteSource, ...] = sources_of(site)
        self.zone = zone

    def __repr__(self) -> str:
        where = ", ".join(repr(s) for s in self.sources) or "undeclared"
        zone = f", zone={self.zone!r}" if self.zone is not None else ""
        return f"Require({self.permission!s}, site={where}{zone})"

    async def __call__(self, request: Request) -> Principal:
        """Return the principal or raise Unauthorized / Forbidden / NotFound."""
        principal = await current_principal(request)
        if self.permission is not None and not principal.allows(self.permission):
            raise Forbidden(f"this needs the {self.permission.value} permission")
        await check_csrf(request, principal)
        if self.permission is not None:
            await self.check_places(request, principal, self.permission)
        return principal

    async def check_places(
        self, request: Request, principal: Principal, permission: Permission
    ) -> None:
        """Raise Forbidden or NotFound unless ``permission`` is held at every declared place."""
        hub = get_hub(request)
        reading = request.method in SAFE_METHODS
        for source in self.sources:
            place = await source.place(request, hub)
            if place is None:
                continue
            if self.zone is not None and place.site_id is not None and place.zone_ids is None:
                zones = await self.zone.zones(request, hub, place.site_id)
                place = replace(place, zone_ids=zones)
            if not principal.may(permission, place, reading=reading):
                if place.record is not None and not principal.sees(place):
                    raise NotFound(place.record)
                raise Forbidden(f"this needs the {permission.value} permission {place.describe()}")


class Authenticated(Require):
    """Guard a route that any signed-in account may use (its own profile, sign-out)."""

    def __init__(self) -> None:
        super().__init__(None, site=Global())

    def __repr__(self) -> str:
        return "Authenticated()"


class Public:
    """Mark a route as deliberately reachable without signing in."""

    def __repr__(self) -> str:
        return "Public()"

    async def __call__(self) -> None:
        """Do nothing: the marker is what matters."""


Guard = Require | Public


def iter_routes(app: FastAPI) -> Iterator[Any]:
    """Yield every route of ``app`` as served, including those of included routers.

    FastAPI 0.16x keeps included routers as branches of ``app.routes``; its route
    contexts expose the effective ``path``, ``methods``, ``dependant`` (with the
    include-level dependencies) and the ``original_route``.
    """
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:  # older FastAPI: included routes are copied into app.routes
        yield from app.routes
        return
    yield from iterate(app.routes)


def route_guards(route: Any) -> list[Guard]:
    """Return every Require/Authenticated/Public dependency of ``route``, depth first."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return []
    found: list[Guard] = []
    stack = list(dependant.dependencies)
    while stack:
        sub = stack.pop(0)
        if isinstance(sub.call, Require | Public):
            found.append(sub.call)
        stack.extend(sub.dependencies)
    return found


def route_permission(
    route: Any,
) -> Permission | Literal["public", "authenticated"] | None:
    """Return the permission ``route`` declares, "public", "authenticated", or None.

    None means the route declares no guard, or several different ones.
    """
    guards = route_guards(route)
    kinds = {
        "public"
        if isinstance(g, Public)
        else ("authenticated" if g.permission is None else g.permission)
        for g in guards
    }
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return cast(Permission | Literal["public", "authenticated"], kind)
