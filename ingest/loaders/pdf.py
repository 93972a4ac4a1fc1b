"""PDF: one page of text per PDF page, numbered from 1; pages without text are OCR'd.

The text comes from PDFium (pypdfium2): 13 times less CPU than pypdf on the R manuals,
with the same words in the same order (median word-sequence similarity 1.000, lowest
page 0.995; docs/benchmarks.md). On 2 cores that CPU is taken from the embedder.
pypdf still opens the file first (encryption, outline, title), and reads any page
PDFium cannot, or a PDF PDFium cannot open at all.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Heading, Page, PageBudget, quiet_logger
from ingest.loaders.ocr import ocr_blank_pages

__all__ = ["load_pdf"]


def load_pdf(path: Path) -> list[Page]:
    """Load a PDF as one page of text per PDF page, numbered from 1."""
    with quiet_logger("pypdf"):
        reader = PdfReader(path)
        _unlock_pdf(reader, path)
        pages = _pdfium_pages(path, reader) or _pdf_pages(reader, path)
        pages = ocr_blank_pages(path, pages)
        return _with_outline(reader, pages)


def _pdfium_pages(path: Path, reader: PdfReader) -> list[Page] | None:
    """Each page's text by PDFium, pypdf for a page it cannot read; None if it cannot open."""
    try:
        import pypdfium2
    except ImportError:
        return None
    try:
        document = pypdfium2.PdfDocument(str(path), password="" if reader.is_encrypted else None)
    except Exception:  # noqa: BLE001 - pypdf reads what PDFium cannot open
        return None
    pages: list[Page] = []
    budget = PageBudget(path)
    try:
        for index in range(len(document)):
            text = _pdfium_text(document, index) or _pypdf_text(reader, index)
            budget.add(text)
            pages.append(Page(text, index + 1))
    finally:
        document.close()
    return pages


def _pdfium_text(document: Any, index: int) -> str:
    try:
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                return _joined_hyphens(str(textpage.get_text_bounded()))
            finally:
                textpage.close()
        finally:
            page.close()
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - one broken page should not cost the rest
        return ""


def _joined_hyphens(text: str) -> str:
    """PDFium's text with each word hyphenated at a line end whole again.

    PDFium joins the two halves itself and marks the hyphen it dropped with U+0002
    ("exten" U+0002 "sion"); left in, that control character splits the word for BM25 and
    blurs it for the embedder.
    """
    return text.replace("\x02", "")


def _pypdf_text(reader: PdfReader, index: int) -> str:
    try:
        return reader.pages[index].extract_text() or ""
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - nothing readable on this page
        return ""


def _unlock_pdf(reader: PdfReader, path: Path) -> None:
    """Open an encrypted PDF with the empty user password, common for "protected" files."""
    if not reader.is_encrypted:
        return
    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise DocumentLoadError(path, "encrypted PDF (needs the cryptography package)") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise DocumentLoadError(path, "encrypted PDF (password required)")


def _pdf_pages(reader: PdfReader, path: Path) -> list[Page]:
    """Extract each page's text, skipping pages whose extraction fails.

    Pages and characters are counted as they come (``PageBudget``): a PDF whose pages
    all draw one huge content stream stops at the cap instead of exhausting memory.
    """
    pages: list[Page] = []
    budget = PageBudget(path)
    failures = 0
    for number, pdf_page in enumerate(reader.pages, start=1):
        try:
            text = pdf_page.extract_text() or ""
        except MemoryError:
            raise
        except Exception:  # one broken page should not cost the rest of the document
            failures += 1
            continue
        budget.add(text)
        pages.append(Page(text, number))
    if failures and not pages:
        raise DocumentLoadError(path, "not a valid PDF: text extraction failed on every page")
    return pages


_MAX_OUTLINE_ENTRIES = 5000  # a hostile outline may be huge or cyclic


def _with_outline(reader: PdfReader, pages: list[Page]) -> list[Page]:
    """The pages with the headings of the PDF's outline (bookmarks) and its title.

    A broken outline or title costs only the headings, never the text.
    """
    headings = _outline_by_page(reader)
    title = _pdf_title(reader)
    if not headings and not title:
        return pages
    return [
        replace(page, headings=tuple(headings.get(page.page or 0, ())), title=title)
        for page in pages
    ]


def _outline_by_page(reader: PdfReader) -> dict[int, list[Heading]]:
    """Outline entries by 1-based page, in outline order (which is reading order)."""
    by_page: dict[int, list[Heading]] = {}
    try:
        stack: list[tuple[Any, int]] = [(item, 1) for item in reversed(reader.outline)]
        seen = 0
        while stack and seen < _MAX_OUTLINE_ENTRIES:
            item, level = stack.pop()
            seen += 1
            if isinstance(item, list):
                stack.extend((child, level + 1) for child in reversed(item))
                continue
            number = reader.get_destination_page_number(item)
            title = " ".join(str(item.title or "").split())
            if number is not None and number >= 0 and title:
                by_page.setdefault(number + 1, []).append(Heading(level, title))
    except Exception:  # noqa: BLE001 - the outline is optional; the text matters
        return {}
    return by_page


def _pdf_title(reader: PdfReader) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a broken info dictionary is only a missing title
        return ""
    return " ".join(str(title or "").split())[:200]
