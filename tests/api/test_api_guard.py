"""Body limits before parsing (and before authentication for large bodies); security headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.api.guard import ANONYMOUS_BODY, DEFAULT_LIMIT, limit_for
from bastion.auth.permissions import Role

PROBLEM = "application/problem+json"


@pytest.fixture
def anonymous(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def _chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_limits_are_small_for_sign_in_and_large_for_imports():
    sign_in, _ = limit_for("POST", "/api/auth/login")
    site, _ = limit_for("PUT", "/api/sites")
    pos, _ = limit_for("POST", "/api/sites/dispensary-main/cash/pos/import")
    assert sign_in < ANONYMOUS_BODY < site < pos
    assert limit_for("POST", "/api/rules")[0] == DEFAULT_LIMIT


def test_an_oversized_sign_in_is_refused_unread(anonymous):
    big = b'{"username": "' + b"a" * (100 * 1024) + b'", "password": "x"}'
    response = anonymous.post(
        "/api/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "16 KB" in response.json()["detail"]


def test_an_oversized_streamed_body_is_cut_off(anonymous):
    big = b"[" + b"0," * (600 * 1024) + b"0]"
    response = anonymous.post(
        "/api/auth/login", content=_chunks(big), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_large_body_from_a_stranger_is_not_read(anonymous):
    body = b"site: {}\n" + b"#" * (200 * 1024)
    response = anonymous.put(
        "/api/sites", content=body, headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    chunked = anonymous.put(
        "/api/sites", content=_chunks(body), headers={"content-type": "application/yaml"}
    )
    assert chunked.status_code == 401


def test_a_large_body_from_a_signed_in_admin_is_read(client_for):
    admin = client_for(Role.ADMIN)
    body = b"site: {id: x}\n" + b"#" * (200 * 1024) + b"\n"
    response = admin.put("/api/sites", content=body, headers={"content-type": "application/yaml"})
    assert response.status_code == 422, response.text  # read, then judged: an invalid site


def test_a_json_array_over_the_default_limit_is_refused(client_for):
    admin = client_for(Role.ADMIN)
    big = b"[" + b"1," * (DEFAULT_LIMIT // 2) + b"1]"
    response = admin.post("/api/rules", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_nonsense_content_length_is_a_bad_request(anonymous):
    response = anonymous.post("/api/auth/login", content=b"{}", headers={"content-length": "12x"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/login", "/api/health", "/api/nothing", "/console"])
def test_every_answer_carries_the_security_headers(anonymous, path):
    response = anonymous.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_a_failure_answer_carries_the_security_headers_too(app, anonymous):
    @app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    response = anonymous.get("/api/test-boom")
    assert response.status_code == 500
    assert response.headers["x-frame-options"] == "DENY"


def test_console_pages_have_no_inline_script(client_for):
    from bastion.web.templating import WEB_DIR

    inline = []
    for template in (WEB_DIR / "templates").glob("*.html"):
        text = template.read_text()
        for marker in ("<script>", "onclick=", "onchange=", "onsubmit=", "onload=", "javascript:"):
            if marker in text:
                inline.append(f"{template.name}: {marker}")
    assert inline == []
    page = client_for(Role.OPERATOR).get("/console")
    assert page.status_code == 200
    assert "<script>" not in page.text and "cdn" not in page.text.lower()


def test_a_site_nested_a_thousand_deep_is_a_problem_not_a_crash(client_for):
    admin = client_for(Role.ADMIN)
    deep = "site:\n  id: x\n  name: " + "[" * 1000 + "]" * 1000 + "\n"
    response = admin.put("/api/sites", content=deep, headers={"content-type": "application/yaml"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "nested more than 64 levels deep" in response.json()["detail"]


def test_a_pos_batch_nested_past_the_parser_is_a_problem(client_for):
    admin = client_for(Role.ADMIN)
    deep = b"[" * 50_000 + b"]" * 50_000
    response = admin.post(
        "/api/sites/dispensary-main/cash/pos/transactions",
        content=deep,
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
