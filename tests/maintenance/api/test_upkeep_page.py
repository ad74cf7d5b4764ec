"""The upkeep console page: health board, coverage timeline, views, walk tests, work orders."""

from __future__ import annotations

import cv2

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.maintenance import checks, planning
from bastion.maintenance.settings import SETTINGS_KEY, SiteUpkeep
from tests.maintenance import frames as footage
from tests.maintenance.standin import frigate

__all__ = ["frigate"]
SITE = "dispensary-main"


def _form(client, path, **fields):
    return client.post(
        path,
        data={"csrf_token": client.headers["X-CSRF-Token"], "site": SITE, **fields},
        follow_redirects=False,
    )


def test_the_page_shows_every_section_and_its_forms_work(site_hub, client_for, frigate, clock):
    frigate.gap = (clock.now().timestamp() - 3000, clock.now().timestamp() - 2400)
    site_hub.extras[SETTINGS_KEY] = {SITE: SiteUpkeep(frigate_url=frigate.url)}
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    with site_hub.unit_of_work() as session:
        planning.ensure_default_schedules(
            session=session,
            site=site_hub.extras["sites"][SITE],
            context=Context(actor="t"),
            now=clock.now(),
        )
        planning.open_due(session=session, now=clock.now(), context=Context(actor="t"))
    page = manager.get(f"/console/upkeep?site={SITE}")
    assert page.status_code == 200
    for anchor in (
        'id="health-board"',
        'id="coverage"',
        'id="walk-tests"',
        'id="schedules"',
        'id="hardening-score"',
    ):
        assert anchor in page.text
    assert "Vault Camera" in page.text or "cam-vault-1" in page.text
    assert 'href="/console/upkeep" aria-current="page"' in page.text

    checked = _form(manager, "/console/upkeep/recordings", hours="1")
    assert checked.status_code == 303
    page = manager.get(checked.headers["location"])
    assert "Recordings checked." in page.text and 'class="gap"' in page.text

    bad = _form(manager, "/console/upkeep/walk-tests", zone="vault", minutes="soon")
    assert bad.status_code == 422 and "not a number of minutes" in bad.text
    assert 'value="soon"' in bad.text  # what was typed is kept
    started = _form(manager, "/console/upkeep/walk-tests", zone="vault", minutes="15")
    assert started.status_code == 303
    page = manager.get(started.headers["location"])
    assert "sensors are on hold" in page.text and 'data-state="running"' in page.text

    order = next(
        o
        for o in manager.get(f"/api/sites/{SITE}/upkeep/work-orders?state=open").json()
        if o["task"] == "ups_test"
    )
    half = _form(
        manager,
        f"/console/upkeep/work-orders/{order['id']}/complete",
        done="Run the UPS self-test",
        note="42 min",
    )
    assert half.status_code == 422 and "not yet done: Record runtime" in half.text
    assert 'value="42 min"' in half.text
    full = manager.post(
        f"/console/upkeep/work-orders/{order['id']}/complete",
        data={
            "csrf_token": manager.headers["X-CSRF-Token"],
            "site": SITE,
            "done": ["Run the UPS self-test", "Record runtime on battery"],
        },
        follow_redirects=False,
    )
    assert full.status_code == 303


def test_failed_view_checks_show_both_images(site_hub, client_for, clock):
    site = site_hub.extras["sites"][SITE]
    _, ref = cv2.imencode(".jpg", footage.frames()[0])
    _, snap = cv2.imencode(".jpg", footage.covered(footage.frames()[1]))
    checks.approve_reference(
        data_dir=site_hub.settings.data_dir, site=site, camera_id="cam-cash", image=ref.tobytes()
    )
    with site_hub.unit_of_work() as session:
        row = checks.run_view_check(
            session=session,
            site=site,
            camera_id="cam-cash",
            snapshot=snap.tobytes(),
            problem=None,
            data_dir=site_hub.settings.data_dir,
            context=Context(actor="t"),
            now=clock.now(),
        )
        check_id = row.id
    operator = client_for(Role.OPERATOR, site_id=SITE)
    page = operator.get("/console/upkeep")
    assert page.status_code == 200
    assert f"/upkeep/views/{check_id}/snapshot.jpg" in page.text
    assert f"/upkeep/views/{check_id}/reference.jpg" in page.text
    assert "Start walk test" not in page.text  # an operator only reads
    refused = _form(operator, "/console/upkeep/walk-tests", zone="vault", minutes="15")
    assert refused.status_code == 403
