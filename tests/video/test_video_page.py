"""The console's video page: who sees it, what it shows, and the enrolment form's refusals."""

from __future__ import annotations

import pytest

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.people import employees
from bastion.site import service as site_service
from bastion.video import service
from bastion.video.schemas import CameraWrite, RuleWrite

CTX = Context(actor="test")
SITE = "dispensary-main"


@pytest.fixture
def stored(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        service.put_camera(
            session=session,
            site=dispensary,
            camera_id="cam-vault-1",
            data=CameraWrite(source="rtsp://10.0.0.9/sub"),
            context=CTX,
            now=clock.now(),
        )
        service.add_rule(
            session=session,
            site=dispensary,
            camera_id="cam-vault-1",
            data=RuleWrite(
                name="Loitering at the vault door",
                kind="loitering",
                points=[(0.1, 0.1), (0.6, 0.1), (0.6, 0.9)],
                seconds=15,
                zone_id="vault",
            ),
            context=CTX,
            now=clock.now(),
        )
        person = employees.hire(
            session=session, name="Dana Whitfield", site_id=SITE, context=CTX, now=clock.now()
        )
    return person.id


def test_the_page_shows_cameras_zones_and_the_enrolment_form_only_to_enrollers(stored, client_for):
    operator = client_for(Role.OPERATOR, site_id=SITE)
    page = operator.get("/console/video")
    assert page.status_code == 200
    assert "Vault entrance" in page.text and "Loitering at the vault door" in page.text
    assert "<polygon" in page.text and "enrol-form" not in page.text
    hr = client_for(Role.HR, site_id=SITE)
    assert hr.get("/console/video").status_code == 403
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    assert "Dana Whitfield" in manager.get("/console/video").text


def test_a_refused_enrolment_keeps_what_was_typed_and_says_why(stored, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    form = {
        "csrf_token": manager.headers["X-CSRF-Token"],
        "site": SITE,
        "person_id": stored,
        "kind": "fingerprint",
        "reference": "reader-user-77",
        "consent_text": "Vault access only, deleted on leaving",
        "retain_days": "90",
    }
    refused = manager.post("/console/video/biometrics", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "consent" in refused.text
    assert "Vault access only, deleted on leaving" in refused.text
    assert 'value="fingerprint" selected' in refused.text
    assert "reader-user-77" not in refused.text  # the reference itself is never echoed
    bad_days = manager.post(
        "/console/video/biometrics", data={**form, "consent": "on", "retain_days": "a year"}
    )
    assert bad_days.status_code == 422 and "whole number" in bad_days.text
    done = manager.post(
        "/console/video/biometrics", data={**form, "consent": "on"}, follow_redirects=False
    )
    assert done.status_code == 303
    page = manager.get(done.headers["location"])
    assert "Enrolled." in page.text and "Dana Whitfield" in page.text
