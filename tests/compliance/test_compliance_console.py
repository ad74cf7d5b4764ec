"""The compliance console page: score per area, forms that keep what was typed, site scope."""

from __future__ import annotations

import pytest

from bastion.auth.permissions import Role
from bastion.compliance import service
from bastion.core.context import Context
from bastion.site import service as site_service
from bastion.site.loader import load_site_file

from .conftest import EXAMPLES

SITE = "dispensary-main"
OTHER = "cultivation-main"


@pytest.fixture
def loaded(site_hub, dispensary, clock):
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    site_hub.extras["sites"][OTHER] = cultivation
    with site_hub.unit_of_work() as session:
        for site in (dispensary, cultivation):
            site_service.import_site(
                session=session, site=site, context=Context(actor="test"), now=clock.now()
            )
        service.set_settings(
            session=session,
            site_id=SITE,
            state="WA",
            license="retail",
            profile={},
            context=Context(actor="test"),
            now=clock.now(),
        )
    return site_hub


def _form(client, path: str, **fields: str):
    data = {"csrf_token": client.headers["X-CSRF-Token"], "site": SITE, **fields}
    return client.post(path, data=data, follow_redirects=False)


def test_the_officer_sees_areas_checks_and_attests(loaded, client_for):
    officer = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)
    page = officer.get(f"/console/compliance?site={SITE}")
    assert page.status_code == 200
    assert "Video surveillance" in page.text and "WA-BDG-001" in page.text
    checked = _form(officer, "/console/compliance/check")
    assert checked.status_code == 303
    bad = _form(
        officer,
        "/console/compliance/attest",
        rule="WA-BDG-001",
        by="Dana Lee",
        date="yesterday",
        document="badges.pdf",
    )
    assert bad.status_code == 422
    assert "is not a date" in bad.text and 'value="Dana Lee"' in bad.text
    good = _form(
        officer,
        "/console/compliance/attest",
        rule="WA-BDG-001",
        by="Dana Lee",
        date="2026-03-01",
        document="badges.pdf",
    )
    assert good.status_code == 303
    _form(officer, "/console/compliance/check")
    page = officer.get(f"/console/compliance?site={SITE}&done=attested")
    assert "Attestation kept" in page.text
    assert "WA-BDG-001 — " not in page.text  # no longer offered for attestation


def test_an_officer_elsewhere_cannot_use_this_sites_page(loaded, client_for):
    other = client_for(Role.COMPLIANCE_OFFICER, site_id=OTHER)
    assert other.get(f"/console/compliance?site={SITE}").status_code == 403
    assert _form(other, "/console/compliance/check").status_code == 403
