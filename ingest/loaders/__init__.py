"""One loader per file type, chosen by extension from ``LOADERS``; each returns plain-text pages.

``load_file`` is the only entry point callers need: it picks the loader, cleans the text
and turns every failure into ``DocumentLoadError`` so one bad file never stops an ingest.
The readers live one module per format family (``pdf``, ``office``, ``ebook``, ``html``,
``mail``, ``text``, ``structured``, ``tables``, and ``ocr`` for scans and images); this
module holds the table that maps extensions to them. ``isolated`` runs a load in a worker
process with a memory limit and a timeout.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

from ingest.errors import DocumentLoadError, UnsupportedFileType
from ingest.loaders.base import (
    IMAGE_EXTENSIONS,
    Heading,
    LoadLimits,
    Page,
    PageBudget,
    Pages,
    check_regular_nonempty,
    clean_pages,
    collecting_warnings,
    limits_in_force,
    load_errors_as,
    no_text_reason,
)
from ingest.loaders.html import html_to_text, load_html
from ingest.loaders.mail import load_eml
from ingest.loaders.structured import load_json
from ingest.loaders.text import TEXT_EXTENSIONS, decode_text, load_text, stream_text

__all__ = [
    "LOADERS",
    "TEXT_EXTENSIONS",
    "Heading",
    "LoadLimits",
    "Loader",
    "Page",
    "Pages",
    "decode_text",
    "html_to_text",
    "is_streamable",
    "load_file",
    "stream_file",
    "supported_extensions",
]

Loader = Callable[[Path], list[Page]]


class _Deferred:
    """A loader whose module is imported on its first file.

    pypdf, python-docx, python-pptx, ebooklib, openpyxl and Pillow take about a second
    to import together: a command that parses no such file (``status``, ``search``)
    never pays it.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self.__name__ = name

    def __call__(self, path: Path) -> list[Page]:
        loader: Loader = getattr(importlib.import_module(self.module), self.name)
        return loader(path)


LOADERS: dict[str, Loader] = {
    **dict.fromkeys(TEXT_EXTENSIONS, load_text),
    ".pdf": _Deferred("ingest.loaders.pdf", "load_pdf"),
    ".html": load_html,
    ".htm": load_html,
    ".csv": _Deferred("ingest.loaders.tables", "load_csv"),
    ".tsv": _Deferred("ingest.loaders.tables", "load_tsv"),
    ".docx": _Deferred("ingest.loaders.office", "load_docx"),
    ".xlsx": _Deferred("ingest.loaders.tables", "load_xlsx"),
    ".pptx": _Deferred("ingest.loaders.office", "load_pptx"),
    ".epub": _Deferred("ingest.loaders.ebook", "load_epub"),
    ".eml": load_eml,
    ".json": load_json,
    **dict.fromkeys(IMAGE_EXTENSIONS, _Deferred("ingest.loaders.ocr", "load_image")),
}


def supported_extensions() -> frozenset[str]:
    """Return the lower-case extensions, with the dot, that ``load_file`` can read."""
    return frozenset(LOADERS)


def is_streamable(path: Path) -> bool:
    """Whether ``stream_file`` reads ``path`` block by block (plain text) or whole."""
    return LOADERS.get(Path(path).suffix.lower()) is load_text


def load_file(path: Path, limits: LoadLimits | None = None) -> Pages:
    """Read one file into pages of text, dropping pages that have none.

    Args:
        path: The file; its lower-cased extension picks the loader.
        limits: pages, characters and unzipped bytes the file may reach (defaults:
            ``LoadLimits()``).

    Returns:
        The non-empty pages, in document order, with the warnings of a file read only
        in part (``Pages.warnings``: a damaged PDF, OCR stopped at its per-file limit).

    Raises:
        UnsupportedFileType: No loader handles the extension.
        DocumentLoadError: The file is empty, unreadable, malformed, over a limit or
            has no text.
    """
    path = Path(path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFileType(path)
    limits = limits or LoadLimits()
    with load_errors_as(path), limits_in_force(limits), collecting_warnings() as warnings:
        check_regular_nonempty(path)
        pages = clean_pages(loader(path))
    if loader is not load_text:  # a text file has no more characters than bytes
        budget = PageBudget(path, limits)
        for page in pages:
            budget.add(page.text)
    if not pages:
        raise DocumentLoadError(path, no_text_reason(path))
    return Pages(pages, warnings)


def stream_file(path: Path, limits: LoadLimits | None = None) -> Iterator[Page]:
    """Like ``load_file``, page by page; a plain-text file is never read whole.

    A text file comes in segments of about a megabyte, cut at paragraph breaks, so a
    file of any size costs the memory of one segment. Other formats are loaded whole
    and then handed out page by page (their parsers need the whole file).

    Raises:
        UnsupportedFileType: No loader handles the extension.
        DocumentLoadError: As ``load_file``, possibly after some pages were handed out.
    """
    path = Path(path)
    if not is_streamable(path):
        yield from load_file(path, limits)
        return
    with load_errors_as(path):
        check_regular_nonempty(path)
        produced = False
        for page in stream_text(path):
            produced = True
            yield page
    if not produced:
        raise DocumentLoadError(path, no_text_reason(path))
