"""The HTTP guard every request passes: body-size limits and security headers.

It sits in front of routing and parsing, so a body over its route's limit is refused
(413) from its declared length without being read, or as soon as the bytes received
pass the limit; and a body larger than a sign-in form is read only from a caller who is
already authenticated (an anonymous 100 MB upload costs nothing). Every response, console
page or API answer, carries the security headers, including the 500 of a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.errors import BastionError, StorageUnavailable
from bastion.store.db import is_unreachable

KIB = 1024
MIB = 1024 * KIB

# Bodies up to this size are read before authentication (sign-in forms, small JSON);
# larger ones only once the caller's session or token is known good.
ANONYMOUS_BODY = 64 * KIB

# Content-Security-Policy: scripts only from this server's files (no inline script, no
# eval, no CDN); styles may be inline (charts and meters are drawn with style attributes).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


@dataclass(frozen=True)
class BodyLimit:
    """Routes (method and path pattern) whose bodies may be up to ``limit`` bytes."""

    methods: frozenset[str]
    path: re.Pattern[str]
    limit: int
    what: str


def _rule(methods: str, path: str, limit: int, what: str) -> BodyLimit:
    return BodyLimit(frozenset(methods.split()), re.compile(path), limit, what)


# First match wins; the default applies to everything else.
LIMITS: tuple[BodyLimit, ...] = (
    _rule("POST", r"^/api/auth/", 16 * KIB, "a sign-in request"),
    _rule("PUT", r"^/api/sites/?$", 512 * KIB, "a site model"),
    _rule("POST", r"^/api/sites/[^/]+/cash/pos/(import|transactions)$", 64 * MIB, "a POS export"),
    _rule("POST", r"^/console/people/[^/]+/photo$", 6 * MIB, "a photo upload"),
)
DEFAULT_LIMIT = 1 * MIB


def limit_for(method: str, path: str) -> tuple[int, str]:
    """Return the body limit (bytes) of ``method path`` and what such a body is."""
    for rule in LIMITS:
        if method in rule.methods and rule.path.search(path):
            return rule.limit, rule.what
    return DEFAULT_LIMIT, "a request body"


def _size(limit: int) -> str:
    return f"{limit // MIB} MB" if limit >= MIB else f"{limit // KIB} KB"


class BodyTooLarge(HTTPException):
    """The body passed its route's limit while being read (413)."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(413, f"{what} may be at most {_size(limit)}; this one is larger")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class HttpGuard:
    """ASGI middleware: security headers on every response; body limits per route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Guard one request (HTTP only; the SSE stream and lifespan pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        limit, what = limit_for(scope["method"], scope["path"])
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, what)
            return message

        try:
            refused = await self._refusal(scope)
            if refused is not None:
                await refused(scope, receive, send_with_headers)
                return
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge as exc:
            if started:
                raise
            await _problem(413, "Content Too Large", str(exc.detail))(
                scope, receive, send_with_headers
            )
        except Exception:
            if not started:  # the server's own 500 would lack the headers (it logs the error)
                await _problem(
                    500, "Internal error", "The server failed; the error has been logged."
                )(scope, receive, send_with_headers)
            raise

    async def _refusal(self, scope: Scope) -> JSONResponse | None:
        """Return the answer for a body refused before reading it, or None to go on."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None
        request = Request(scope)
        declared = request.headers.get("content-length")
        limit, what = limit_for(scope["method"], scope["path"])
        length: int | None = None
        if declared is not None:
            if not declared.isdigit() or len(declared) > 18:
                return _problem(400, "Bad Request", "the Content-Length header is not a number")
            length = int(declared)
            if length > limit:
                return _problem(413, "Content Too Large", BodyTooLarge(limit, what).detail)
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if (length is not None and length > ANONYMOUS_BODY) or (chunked and limit > ANONYMOUS_BODY):
            return await self._unauthenticated(request)
        return None

    async def _unauthenticated(self, request: Request) -> JSONResponse | None:
        """Authenticate the caller now (the routes reuse it); None when signed in."""
        from bastion.api.deps import current_principal

        try:
            await current_principal(request)
        except BastionError as exc:
            response = _problem(exc.status_code, exc.title, exc.message)
            if exc.status_code == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        except DBAPIError as exc:
            if not is_unreachable(exc):
                raise
            down = StorageUnavailable()
            return _problem(down.status_code, down.title, down.message)
        return None
