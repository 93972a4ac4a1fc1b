"""PDF: one page of text per PDF page, numbered from 1; pages without text are OCR'd.

The text comes from PDFium (pypdfium2): 13 times less CPU than pypdf on the R manuals,
with the same words in the same order (median word-sequence similarity 1.000, lowest
page 0.995; docs/benchmarks.md). On 2 cores that CPU is taken from the embedder.
pypdf still opens the file first (encryption, outline, title), and reads any page
PDFium cannot, or a PDF PDFium cannot open at all.

A damaged PDF is indexed as far as it reads, and says so (``warn_partly_read``): a
copy cut short (no ``%%EOF`` in its last kilobyte, where every PDF ends) shows only
its earlier revision or its first page, and a page neither engine can load is text
the person would otherwise never know is missing. A file pypdf cannot open at all
is read by PDFium alone, which rebuilds a broken cross-reference table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Heading, Page, PageBudget, quiet_logger, warn_partly_read
from ingest.loaders.ocr import ocr_blank_pages

__all__ = ["load_pdf"]


_EOF_WINDOW = 1024  # a PDF's %%EOF is within its last kilobyte (ISO 32000, 7.5.5)


@dataclass
class _Read:
    """The pages an engine produced (one per page of the file), and how many failed."""

    pages: list[Page]
    unreadable: int = 0

    @property
    def total(self) -> int:
        """Pages the file's page tree lists."""
        return len(self.pages)


def load_pdf(path: Path) -> list[Page]:
    """Load a PDF as one page of text per PDF page, numbered from 1."""
    with quiet_logger("pypdf"):
        try:
            reader = PdfReader(path)
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - PDFium may still read what is there
            return _recovered_by_pdfium(path, exc)
        _unlock_pdf(reader, path)
        read = _pdfium_pages(path, reader)
        if read is None or not read.pages:
            read = _pdf_pages(reader, path)
        _warn_if_damaged(path, read)
        pages = ocr_blank_pages(path, read.pages)
        return _with_outline(reader, pages)


def _recovered_by_pdfium(path: Path, error: Exception) -> list[Page]:
    """The pages PDFium reads from a file pypdf cannot open; ``error`` if it reads no text."""
    read = _pdfium_pages(path, None)
    if read is None or not any(page.text.strip() for page in read.pages):
        raise error
    _warn_if_damaged(path, read, opened=False)
    return ocr_blank_pages(path, read.pages)


def _warn_if_damaged(path: Path, read: _Read, opened: bool = True) -> None:
    """Warn about a file cut short, pages that could not be read, or a broken structure."""
    cut_short = _cut_short(path)
    if not (cut_short or read.unreadable or not opened):
        return
    readable = read.total - read.unreadable
    total = "?" if cut_short else f"{read.total:,}"
    why = " (the file is cut short)" if cut_short else ""
    if not opened and not cut_short:
        why = " (its structure is broken)"
    warn_partly_read(f"damaged PDF: {readable:,} of {total} pages could be read{why}")


def _cut_short(path: Path) -> bool:
    """Whether the file lacks the ``%%EOF`` that ends every complete PDF."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(size - _EOF_WINDOW, 0))
        return b"%%EOF" not in handle.read()


def _pdfium_pages(path: Path, reader: PdfReader | None) -> _Read | None:
    """Each page's text by PDFium, pypdf for a page it cannot read; None if it cannot open."""
    try:
        import pypdfium2  # PDFium: on use only
    except ImportError:
        return None
    encrypted = reader is not None and reader.is_encrypted
    try:
        document = pypdfium2.PdfDocument(str(path), password="" if encrypted else None)
    except Exception:  # noqa: BLE001 - pypdf reads what PDFium cannot open
        return None
    read = _Read([])
    budget = PageBudget(path)
    try:
        for index in range(len(document)):
            text = _page_text(document, reader, index)
            read.unreadable += text is None
            budget.add(text or "")
            read.pages.append(Page(text or "", index + 1))
    finally:
        document.close()
    return read


def _page_text(document: Any, reader: PdfReader | None, index: int) -> str | None:
    """A page's text by PDFium, else by pypdf; None if neither can read the page."""
    text = _pdfium_text(document, index)
    if text or reader is None:
        return text
    fallback = _pypdf_text(reader, index)
    if fallback is None:
        return text  # "" when PDFium loaded a page without text, None when neither could
    return fallback or ""


def _pdfium_text(document: Any, index: int) -> str | None:
    """A page's text by PDFium; None if the page cannot be loaded or read."""
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
        return None


def _joined_hyphens(text: str) -> str:
    """PDFium's text with each word hyphenated at a line end whole again.

    PDFium joins the two halves itself and marks the hyphen it dropped with U+0002
    ("exten" U+0002 "sion"); left in, that control character splits the word for BM25 and
    blurs it for the embedder.
    """
    return text.replace("\x02", "")


def _pypdf_text(reader: PdfReader, index: int) -> str | None:
    """A page's text by pypdf; None if the page cannot be read."""
    try:
        return reader.pages[index].extract_text() or ""
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - nothing readable on this page
        return None


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


def _pdf_pages(reader: PdfReader, path: Path) -> _Read:
    """Extract each page's text; a page whose extraction fails counts as unreadable.

    Pages and characters are counted as they come (``PageBudget``): a PDF whose pages
    all draw one huge content stream stops at the cap instead of exhausting memory.
    """
    read = _Read([])
    budget = PageBudget(path)
    for number, pdf_page in enumerate(reader.pages, start=1):
        try:
            text = pdf_page.extract_text() or ""
        except MemoryError:
            raise
        except Exception:  # one broken page should not cost the rest of the document
            read.unreadable += 1
            read.pages.append(Page("", number))
            continue
        budget.add(text)
        read.pages.append(Page(text, number))
    if read.unreadable and read.unreadable == read.total:
        raise DocumentLoadError(path, "not a valid PDF: text extraction failed on every page")
    return read


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
