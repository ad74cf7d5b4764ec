"""The mock-audit report is rendered and read back: PDF text, page count, first-page image."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
from typer.testing import CliRunner

from bastion.cli.main import app

from .conftest import EXAMPLES


def _pages(pdf: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def test_the_audit_pdf_reads_like_an_inspection(tmp_path: Path) -> None:
    out, html = tmp_path / "audit.pdf", tmp_path / "audit.html"
    result = CliRunner().invoke(
        app,
        [
            "compliance",
            "audit",
            str(EXAMPLES / "dispensary.yaml"),
            "--state",
            "IL",
            "--out",
            str(out),
            "--html",
            str(html),
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    pages = _pages(out)
    first = pages[0]
    assert "Mock audit" in first and "Greenleaf Dispensary" in first
    assert "Score 89%" in first  # 8 pass, 1 fail (the dock roll-up door)
    assert "IL-ALM-001" in first  # the failure is on the summary page
    # When it was checked is in the site's time (Chicago), the zone named, not UTC.
    assert re.search(r"Checked \d{4}-\d\d-\d\d \d\d:\d\d C[SD]T\.", first), first
    body = "\n".join(pages[1:])
    for section in ("Physical security and locks", "Alarm", "Video surveillance", "Records"):
        assert section in body
    assert "68 IAC 1291.300(b)(11)" in body  # citations travel with each item
    assert "NOT TESTABLE" in body and "Camera evidence" in body
    text = html.read_text()
    assert "IL-ALM-001" in text and '<img src="data:image/png;base64,' in text


def test_first_page_renders_to_an_image(tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    CliRunner().invoke(
        app,
        [
            "compliance",
            "audit",
            str(EXAMPLES / "cultivation.yaml"),
            "--state",
            "CO",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path),
        ],
    )
    doc = pdfium.PdfDocument(str(out))
    try:
        image = doc[0].render(scale=1).to_pil()
    finally:
        doc.close()
    assert image.size[0] > 500 and image.getextrema() != ((255, 255), (255, 255), (255, 255))
