"""The Reports page describes what the console offers now, with links each role may follow."""

from __future__ import annotations

import re

from bastion.auth.permissions import Role

PLAN_TALK = re.compile(r"issue [0-9]+|session [0-9]|arrives? with|until then|coming soon", re.I)


def test_reports_page_lists_the_records_that_exist_and_no_plans(client_for, site_hub):
    manager = client_for(Role.SECURITY_MANAGER).get("/console/reports")
    assert manager.status_code == 200
    assert not PLAN_TALK.search(manager.text)
    records = manager.text.split('id="records"', 1)[1].split("</section>", 1)[0]
    assert 'href="/console/visitors/log.csv?days=90"' in records
    assert 'href="/console/people#access-review"' in records
    assert "bastion ledger verify" in records
    # Every link on the card leads somewhere that answers.
    client = client_for(Role.SECURITY_MANAGER)
    for href in re.findall(r'href="([^"]+)"', records):
        assert client.get(href).status_code == 200, href

    compliance = client_for(Role.COMPLIANCE_OFFICER).get("/console/reports").text
    card = compliance.split('id="records"', 1)[1].split("</section>", 1)[0]
    assert "visitors/log.csv" not in card  # the role cannot export the visitor log
    assert 'href="/console/people#access-review"' in card
