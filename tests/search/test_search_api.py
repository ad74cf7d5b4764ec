"""The search API, its exports and the console's Events and saved-report pages."""

from __future__ import annotations

from bastion.auth.permissions import Role
from tests.pdf_support import pdf_text

from .conftest import SITE, Day

SEARCH = f"/api/sites/{SITE}/events/search"


def test_operator_searches_their_site_with_filters(client_for, day: Day) -> None:
    client = client_for(Role.OPERATOR, site_id=SITE)
    response = client.get(SEARCH, params={"zone": "vault", "kind": "access"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(line["who"], line["outcome"]) for line in body["lines"]} == {
        ("Alice Moreno", "granted"),
        ("Bob Tran", "denied"),
    }
    assert body["page"] == 1 and body["has_more"] is False
    denied = client.get(SEARCH, params={"outcome": "denied"}).json()["lines"]
    assert [line["where"] for line in denied] == ["Vault door · Vault"]


def test_bad_filters_are_problems_not_errors(client_for, day: Day) -> None:
    client = client_for(Role.OPERATOR, site_id=SITE)
    for params, words in (
        ({"since": "yesterday"}, "is not a date and time"),
        ({"kind": "weather"}, "unknown kind of event"),
        ({"door": "../etc"}, "has no door"),
        ({"text": "x" * 500}, "at most 200 characters"),
    ):
        response = client.get(SEARCH, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"]
    assert client.get(SEARCH, params={"page": 0}).status_code == 422


def test_an_operator_of_another_site_cannot_search_this_one(client_for, day: Day) -> None:
    outsider = client_for(Role.OPERATOR, site_id="cultivation-north")
    assert outsider.get(SEARCH).status_code == 403
    assert outsider.get(f"/api/sites/{SITE}/events/export.csv").status_code == 403
    assert outsider.get(f"/console/events?site={SITE}").status_code == 403


def test_exports_as_csv_and_pdf(client_for, day: Day) -> None:
    client = client_for(Role.OPERATOR, site_id=SITE)
    csv = client.get(f"/api/sites/{SITE}/events/export.csv", params={"person": "bob"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    rows = csv.text.strip().splitlines()
    assert rows[0].startswith("Time,Event,What") and all("Bob Tran" in row for row in rows[1:])
    assert len(rows) == 1 + 3  # two decisions and the person record
    pdf = client.get(f"/api/sites/{SITE}/events/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    printed = pdf_text(pdf.content)  # Alice entered at 09:05 UTC: 03:05 in Chicago
    assert "2026-03-07 03:05:00 CST" in printed and "(America/Chicago time)" in printed
    assert "made 2026-03-07 09:00 CST" in printed
    assert client.get(f"/api/sites/{SITE}/events/export.xlsx").status_code == 404


def test_events_page_filters_and_keeps_what_was_typed(client_for, day: Day) -> None:
    client = client_for(Role.OPERATOR, site_id=SITE)
    page = client.get("/console/events", params={"person": "Bob", "kind": "access"})
    assert page.status_code == 200
    assert "Bob Tran" in page.text and "Alice Moreno" not in page.text.split("event-results")[1]
    assert 'value="Bob"' in page.text
    bad = client.get("/console/events", params={"since": "yesterday", "person": "Bob"})
    assert bad.status_code == 422
    assert "is not a date and time" in bad.text
    assert 'value="yesterday"' in bad.text and 'value="Bob"' in bad.text


def test_saved_report_answers_who_entered_the_vault(client_for, day: Day) -> None:
    client = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    page = client.get("/console/reports/vault-entries")
    assert page.status_code == 200
    groups = page.text.split('id="report-groups"')[1].split("</table>")[0]
    assert "Alice Moreno" in groups and "Bob Tran" not in groups
    denied = client.get("/console/reports/denied-by-door").text
    assert "Vault door" in denied.split('id="report-groups"')[1].split("</table>")[0]
    assert client.get("/console/reports/nothing-like-this").status_code == 404
    reports = client.get("/console/reports").text
    assert "/console/reports/doors-held-forced" in reports
