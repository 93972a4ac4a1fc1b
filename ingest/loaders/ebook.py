"""EPUB e-books: the chapters in reading order, as one page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ebooklib
from ebooklib import epub

from ingest.loaders.archive import check_zip
from ingest.loaders.base import Page
from ingest.loaders.html import html_to_text
from ingest.loaders.text import decode_text

__all__ = ["load_epub"]


def load_epub(path: Path) -> list[Page]:
    """Load an EPUB's chapters, in reading order, as one page."""
    check_zip(path)
    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    chapters = [
        html_to_text(decode_text(item.get_content(), path)) for item in _epub_chapters(book)
    ]
    return [Page("\n\n".join(chapter for chapter in chapters if chapter), None)]


def _epub_chapters(book: epub.EpubBook) -> list[Any]:
    """Return the book's documents in spine (reading) order, or all of them without a spine.

    The navigation document (the table of contents) is left out: it only repeats titles.
    """
    items = [book.get_item_with_id(idref) for idref, _linear in book.spine]
    if not any(items):
        items = list(book.get_items_of_type(ebooklib.ITEM_DOCUMENT))
    return [
        item
        for item in items
        if item and item.get_type() == ebooklib.ITEM_DOCUMENT and not isinstance(item, epub.EpubNav)
    ]
