"""PDF: one page of text per PDF page, numbered from 1; pages without text are OCR'd."""

from __future__ import annotations

from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Page, PageBudget, quiet_logger
from ingest.loaders.ocr import ocr_blank_pages

__all__ = ["load_pdf"]


def load_pdf(path: Path) -> list[Page]:
    """Load a PDF as one page of text per PDF page, numbered from 1."""
    with quiet_logger("pypdf"):
        reader = PdfReader(path)
        _unlock_pdf(reader, path)
        return ocr_blank_pages(path, _pdf_pages(reader, path))


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
