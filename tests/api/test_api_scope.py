"""The scope sources of a guard: where they read the site, and what an absent one means."""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bastion.api.app import install_error_handlers
from bastion.api.deps import Principal, Require
from bastion.api.scope import (
    FromBody,
    FromPath,
    FromQuery,
    FromResource,
    Missing,
    Place,
    Resource,
    ZoneFromPath,
)
from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import Permission, Role

P = Permission.DOORS_CONTROL
RECORDS = {"r-a": Place("a"), "r-b": Place("b", frozenset({"vault"}))}
THING = Resource("thing", lambda session, hub, key: RECORDS.get(key))


class Body(BaseModel):
    """A strict body whose validation must come after the scope check."""

    site_id: str
    count: int


def _guard(**kwargs: Any) -> Any:
    return Annotated[Principal, Depends(Require(P, **kwargs))]


@pytest.fixture
def client(hub, make_account, database, clock) -> TestClient:
    """Return a client of a small app signed in as an operator of site ``a``."""
    app = FastAPI()
    app.state.hub = hub
    install_error_handlers(app)

    @app.post("/json")
    def json_body(body: Body, _: _guard(site=FromBody("site_id"))) -> dict[str, str]:
        return {"site": body.site_id}

    @app.post("/form")
    async def form_body(request: Request, _: _guard(site=FromBody("site_id"))) -> dict[str, str]:
        return {"site": str((await request.form())["site_id"])}

    @app.put("/yaml")
    def yaml_body(_: _guard(site=FromBody("site.id"))) -> dict[str, str]:
        return {}

    @app.post("/every")
    def every(_: _guard(site=FromQuery("site_id", missing=Missing.EVERY_SITE))) -> None:
        """Absent: every site."""

    @app.post("/only")
    def only(_: _guard(site=FromQuery("site_id", missing=Missing.ONLY_SITE))) -> None:
        """Absent: the only site."""

    @app.post("/required")
    def required(_: _guard(site=FromQuery("site_id"))) -> None:
        """Absent: say which."""

    @app.get("/any")
    def any_site(_: _guard(site=FromQuery("site_id", missing=Missing.ANY_SITE))) -> None:
        """Absent: the caller's sites."""

    @app.put("/things/{thing_id}")
    def put_thing(
        _: _guard(site=(FromResource("thing_id", THING, new_ok=True), FromBody("site_id"))),
    ) -> None:
        """Create or replace: a new record has no site yet; the body's site is checked."""

    @app.post("/things/{thing_id}")
    def act_on_thing(_: _guard(site=FromResource("thing_id", THING))) -> None:
        """Act on a record."""

    @app.post("/sites/{site_id}/zones/{zone_id}")
    def zone(_: _guard(site=FromPath("site_id"), zone=ZoneFromPath("zone_id"))) -> None:
        """Act in a zone."""

    account = make_account("op", Role.OPERATOR, site_id="a")
    with database.unit_of_work() as session:
        user = session.get(User, account.id)
        new = service.start_session(session=session, user=user, clock=clock, max_hours=12)
    browser = TestClient(app, base_url="https://testserver")
    browser.cookies.set("bastion_session", new.token)
    browser.headers["X-CSRF-Token"] = new.csrf_token
    return browser


def test_a_body_site_is_checked_before_the_body_is_validated(client):
    assert client.post("/json", json={"site_id": "b", "count": "many"}).status_code == 403
    assert client.post("/json", json={"site_id": "a", "count": "many"}).status_code == 422
    assert client.post("/json", json={"site_id": "a", "count": 2}).json() == {"site": "a"}
    not_json = client.post("/json", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    assert client.post("/json", json={"site_id": 7, "count": 2}).status_code == 422


def test_a_form_or_yaml_body_names_its_site_too(client):
    assert client.post("/form", data={"site_id": "b"}).status_code == 403
    assert client.post("/form", data={"site_id": "a"}).json() == {"site": "a"}
    yaml = {"content-type": "application/yaml"}
    assert client.put("/yaml", content="site:\n  id: b\n", headers=yaml).status_code == 403
    assert client.put("/yaml", content="site:\n  id: a\n", headers=yaml).status_code == 200


def test_what_an_absent_site_means(client, hub, dispensary):
    assert client.post("/required").json()["detail"] == "site_id: say which site"
    every = client.post("/every")
    assert every.status_code == 403 and every.json()["detail"].endswith("for every site")
    assert client.post("/every", params={"site_id": "a"}).status_code == 200
    assert client.get("/any").status_code == 200
    assert client.get("/any", params={"site_id": "b"}).status_code == 403
    assert client.post("/only").status_code == 404  # no site loaded
    hub.extras["sites"] = {"a": dispensary}
    assert client.post("/only").status_code == 200
    hub.extras["sites"] = {"b": dispensary}
    assert client.post("/only").status_code == 403
    hub.extras["sites"] = {"a": dispensary, "b": dispensary}
    assert client.post("/only").json()["detail"] == (
        "several sites are loaded; say which with site_id"
    )


def test_records_are_found_where_the_route_names_them(client):
    assert client.post("/things/r-a").status_code == 200
    hidden = client.post("/things/r-b")
    missing = client.post("/things/r-x")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == "no thing 'r-b'"
    # Create-or-replace: a new id checks only the body's site; an existing one both.
    assert client.put("/things/r-new", json={"site_id": "a"}).status_code == 200
    assert client.put("/things/r-new", json={"site_id": "b"}).status_code == 403
    assert client.put("/things/r-b", json={"site_id": "a"}).status_code == 404


def test_zone_sources_narrow_the_place(client):
    assert client.post("/sites/a/zones/vault").status_code == 200
    assert client.post("/sites/b/zones/vault").status_code == 403
