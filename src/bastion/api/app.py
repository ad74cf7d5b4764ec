"""FastAPI app factory: routers, problem+json errors, lifespan bound to the hub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastion import __version__
from bastion.api.guard import HttpGuard
from bastion.core.errors import BastionError, NotFound, StorageUnavailable, Unauthorized
from bastion.hub import Hub
from bastion.store.db import is_unreachable

_LOGGER = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """Return an RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api") and request.method in {"GET", "HEAD"}


def install_error_handlers(app: FastAPI) -> None:
    """Map Bastion errors and validation failures to problem+json (or a login redirect)."""

    @app.exception_handler(BastionError)
    async def _bastion_error(request: Request, exc: BastionError) -> Response:
        if isinstance(exc, Unauthorized) and _wants_page(request):
            back = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={back}", status_code=303)
        if isinstance(exc, NotFound) and _wants_page(request):
            # The console installs its own page (a front end may not import another).
            render = getattr(request.app.state, "not_found_page", None)
            shown = render(request, exc.message) if render is not None else None
            if isinstance(shown, Response):
                return shown
        if exc.status_code >= 500:
            _LOGGER.error("%s on %s %s: %s", exc.title, request.method, request.url.path, exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        response = problem(exc.status_code, exc.title, exc.message)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        if not is_unreachable(exc):
            raise exc
        return await _bastion_error(request, StorageUnavailable())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": "", "msg": "invalid request"}
        return problem(422, "Invalid input", f"{first['loc']}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = problem(exc.status_code, _phrase(exc.status_code), str(exc.detail))
        if exc.headers:  # 405 keeps its Allow header, 401 its challenge
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by the server; the client learns nothing internal.
        _LOGGER.error(
            "unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return problem(500, "Internal error", "The server failed; the error has been logged.")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def create_app(hub: Hub) -> FastAPI:
    """Build the API and console application for ``hub``."""
    from bastion.api import openapi, routers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime_stops = await routers.start_runtimes(hub)
        for start in hub.extras.get("on_start", []):
            await start()
        try:
            yield
        finally:
            for stop in reversed(hub.extras.get("on_stop", [])):
                await stop()
            for stop in reversed(runtime_stops):
                try:
                    await stop()
                except Exception:
                    _LOGGER.exception("stopping a domain runtime failed")

    app = FastAPI(
        title="Bastion",
        version=__version__,
        description="Security operations for high-risk, regulated facilities.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: off; the JSON stays
        redoc_url=None,
    )
    app.state.hub = hub
    app.add_middleware(HttpGuard)
    install_error_handlers(app)
    routers.include_all(app)
    openapi.install(app)
    return app
