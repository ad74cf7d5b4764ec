"""The OpenAPI document: every operation lists its error answers as problem+json.

Errors come from handlers shared by all routes (``bastion.api.app``), so they are
documented here once, for every operation present and future, rather than per route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Status → what it means for any operation.
ERRORS: dict[int, str] = {
    400: "The request is malformed.",
    401: "Not signed in, or the session or token is no longer valid.",
    403: "Signed in, but not allowed here (permission, site or zone).",
    404: "No such resource, or not visible to the caller.",
    409: "The request conflicts with the current state.",
    413: "The request body is larger than this operation accepts.",
    422: "The input is invalid; `errors` lists each field.",
    503: "Storage is unreachable; nothing was changed.",
}


class FieldError(BaseModel):
    """One invalid input."""

    loc: str = Field(description="Where: body.field, query.name, …")
    msg: str = Field(description="What is wrong, in words.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="Invalid inputs (422).")


def _error_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


def document(app: FastAPI) -> dict[str, Any]:
    """Return the app's OpenAPI document with the problem answers added (cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Problem"].pop("$defs", {}))
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[str(status)] = _error_response(description)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    """Serve ``document(app)`` at the app's OpenAPI URL."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
