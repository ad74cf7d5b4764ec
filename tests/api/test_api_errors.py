"""Every error is a problem document, documented in OpenAPI; input is taken as written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.auth.permissions import Role

PROBLEM = "application/problem+json"


@pytest.fixture
def anonymous(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def test_wrong_method_keeps_its_allow_header(anonymous):
    response = anonymous.delete("/api/health")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "GET" in response.headers["allow"]
    assert response.json()["title"] == "Method Not Allowed"


def test_unknown_path_is_a_problem(anonymous):
    response = anonymous.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


def test_an_unexpected_failure_is_a_problem_that_reveals_nothing(app, anonymous):
    @app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    response = anonymous.get("/api/test-boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "secret" not in response.text


def test_openapi_documents_the_problem_answers_of_every_operation(anonymous):
    spec = anonymous.get("/openapi.json").json()
    assert {"title", "status", "detail"} <= set(
        spec["components"]["schemas"]["Problem"]["required"]
    )
    operations = [op for ops in spec["paths"].values() for op in ops.values()]
    assert len(operations) > 100
    for operation in operations:
        for status in ("401", "403", "404", "409", "422"):
            content = operation["responses"][status]["content"]
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_swagger_ui_is_not_served_from_a_cdn(anonymous):
    for path in ("/docs", "/redoc"):
        response = anonymous.get(path)
        assert "cdn" not in response.text.lower()


@pytest.mark.parametrize("level", [False, True, "3", 2.0])
def test_a_threat_level_is_an_integer_as_written(client_for, level):
    admin = client_for(Role.ADMIN)
    response = admin.put("/api/threat-level", json={"level": level})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert admin.put("/api/threat-level", json={"level": 0}).status_code == 200


@pytest.mark.parametrize("until", ["0.5", "0", "1700000000", "-1e3"])
def test_event_times_are_written_out_not_unix_seconds(client_for, until):
    admin = client_for(Role.ADMIN)
    response = admin.get("/api/events", params={"until": until})
    assert response.status_code == 422, response.text
    assert "ISO 8601" in response.json()["detail"]
    assert admin.get("/api/events", params={"until": "2026-03-07T15:00:00Z"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/events", "/api/visitors/log.csv"])
def test_a_time_without_its_zone_is_refused_not_a_crash(client_for, path):
    # Found by schemathesis: a zone-less time was compared with stored aware times (500).
    admin = client_for(Role.ADMIN)
    response = admin.get(path, params={"since": "1970-01-01T00:00:00"})
    assert response.status_code == 422, response.text
    assert "time zone" in response.json()["detail"]
    assert admin.get(path, params={"since": "1970-01-01T00:00:00Z"}).status_code == 200
