"""Read a PDF's text back (pypdfium2), so tests check what a person would see printed."""

from __future__ import annotations

import pypdfium2 as pdfium


def pdf_text(data: bytes) -> str:
    """Return the text of every page of ``data``, pages joined by newlines."""
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
