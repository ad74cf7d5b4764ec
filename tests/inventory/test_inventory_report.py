"""The reconciliation report as PDF (charts and tables) and CSV: names, site time, scope."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.inventory import counts, movements
from tests.inventory.conftest import SITE, TAGS, new_package

BASE = f"/api/sites/{SITE}/inventory"


def pdf_text(data: bytes) -> str:
    """Return the text of every page of a PDF, line breaks and runs of spaces as one space."""
    doc = pdfium.PdfDocument(data)
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    return " ".join(text.split())


@pytest.fixture
def counted(shop, site_hub, clock):
    """A count that finds a package 2 g short, and two adjustments by Alice's account."""
    now = clock.now()
    pid = new_package(site_hub, shop, TAGS[0], "20", location=shop.backroom, now=now)
    with site_hub.unit_of_work() as session:
        pkg = session.get(movements.InvPackage, pid)
        for reason, note in (("Drying", None), ("Entry Error", "typed 20 for 2.0")):
            movements.adjust(
                session=session,
                site=shop.site,
                package=pkg,
                delta=Decimal("-0.5"),
                unit="g",
                reason=reason,
                note=note,
                actor=movements.Actor(Context(actor=f"user:{shop.alice_user}"), shop.alice_user),
                now=now,
            )
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session,
            site=shop.site,
            counters=[shop.alice_user],
            context=Context(actor="t"),
            now=now + timedelta(minutes=5),
            size=1,
        )
        counts.enter(
            session=session,
            count=count,
            user_id=shop.alice_user,
            tag=TAGS[0],
            counted=Decimal(17),
            context=Context(actor="t"),
            now=now + timedelta(minutes=10),
        )
        counts.complete(
            session=session,
            count=count,
            witness_user_id=shop.bob_user,
            context=Context(actor="t"),
            now=now + timedelta(minutes=20),
        )
    return pid


def test_the_pdf_report_names_places_people_and_the_time_zone(
    shop, counted, client_for, site_hub, clock
):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    manager.post(f"{BASE}/reconcile")
    r = manager.get(f"{BASE}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = pdf_text(r.content)
    assert f"Inventory reconciliation — {shop.site.site.name}" in text
    assert shop.site.site.timezone in text  # the zone is named beside the time
    for heading in ("Variance by location", "Variance by week", "Adjustments by user"):
        assert heading in text
    assert "Back room" in text and "-$20.00" in text  # 2 g short of a $10/g item
    assert "alice Drying 1" in text and "alice Entry Error 1" in text
    assert "user:" not in text  # people are named, never numbered
    assert "Physical vs system" in text
    doc = pdfium.PdfDocument(r.content)
    try:
        images = [o for o in doc[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    finally:
        doc.close()
    assert images, "the charts are missing from the first page"


def test_the_csv_report_has_names_and_the_zone(shop, counted, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    text = manager.get(f"{BASE}/report.csv").text
    assert shop.site.site.timezone in text.splitlines()[0]
    assert "alice,Drying,1" in text and "user:" not in text


def test_an_empty_period_still_gives_a_readable_pdf(shop, client_for):
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    text = pdf_text(manager.get(f"{BASE}/report.pdf").content)
    assert "Nothing in this period." in text and "0 open findings" in text


def test_the_pdf_is_refused_to_another_sites_manager_and_to_anonymous(shop, client_for, app):
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="cultivation-main")
    assert elsewhere.get(f"{BASE}/report.pdf").status_code in (403, 404)
    with TestClient(app, base_url="https://testserver") as anonymous:
        assert anonymous.get(f"{BASE}/report.pdf").status_code == 401


def test_the_console_report_page_is_for_this_sites_readers_only(shop, counted, client_for):
    here = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    page = here.get(f"/console/inventory/report?site={SITE}")
    assert page.status_code == 200, page.text
    assert "data:image/png;base64," in page.text and "-$20.00" in page.text
    assert shop.site.site.timezone in page.text and "user:" not in page.text
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="cultivation-main")
    assert elsewhere.get(f"/console/inventory/report?site={SITE}").status_code == 403
