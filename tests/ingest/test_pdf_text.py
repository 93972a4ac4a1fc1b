"""The PDF text engine: PDFium's words are pypdf's words; pypdf reads what PDFium cannot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from ingest.loaders import load_file
from ingest.loaders import pdf as pdf_loader
from tests.helpers.data import DOCS


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_pdfium_gives_the_same_words_as_pypdf_page_by_page():
    pages = load_file(DOCS / "manual.pdf")
    reference = [p.extract_text() for p in PdfReader(DOCS / "manual.pdf").pages]
    assert [p.page for p in pages] == [1, 2, 3]
    assert [words(p.text) for p in pages] == [words(t) for t in reference]
    assert all("\r" not in p.text for p in pages)  # PDFium's CRLF line ends are cleaned


def test_a_pdf_pdfium_cannot_open_is_read_by_pypdf(monkeypatch: pytest.MonkeyPatch):
    import pypdfium2

    def refuse(*args: object, **kwargs: object) -> None:
        raise pypdfium2.PdfiumError("cannot open")

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    pages = pdf_loader.load_pdf(DOCS / "manual.pdf")
    assert "451 kelvin" in pages[1].text


def test_a_page_pdfium_cannot_read_falls_back_to_pypdf(monkeypatch: pytest.MonkeyPatch):
    real = pdf_loader._pdfium_text
    monkeypatch.setattr(pdf_loader, "_pdfium_text", lambda doc, i: "" if i == 1 else real(doc, i))
    pages = pdf_loader.load_pdf(Path(DOCS / "manual.pdf"))
    assert "451 kelvin" in pages[1].text and "Zorblax Reactor Manual" in pages[0].text


def test_a_word_hyphenated_at_a_line_end_is_whole_again(tmp_path: Path) -> None:
    """PDFium marks the hyphen it dropped with U+0002; the page text has the word whole."""
    from tests.helpers.pdf_bytes import CATALOG, FONT, PAGE, pdf, stream

    filler = b"".join(
        b" 0 -14 Td (Line %d of a page long enough not to be OCR'd.) Tj" % n for n in range(6)
    )
    lines = b"BT /F1 12 Tf 72 720 Td (Packages may use an exten-) Tj 0 -14 Td (sion in C.) Tj"
    lines += filler + b" ET"
    path = tmp_path / "hyphen.pdf"
    kids = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    path.write_bytes(pdf([CATALOG, kids, PAGE % b"", stream(lines), FONT]))
    [page] = load_file(path)
    assert "extension in C." in page.text and "\x02" not in page.text
