"""Office documents: Word (docx) and PowerPoint (pptx)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docx
import pptx
from docx.table import Table
from docx.text.paragraph import Paragraph
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from ingest.loaders.archive import check_zip
from ingest.loaders.base import Heading, Page, PageBudget
from ingest.loaders.tables import docx_table_text

__all__ = ["load_docx", "load_pptx"]


def load_docx(path: Path) -> list[Page]:
    """Load a Word document's paragraphs and tables, in document order, as one page."""
    check_zip(path)
    document = docx.Document(str(path))
    lines: list[str] = []
    budget, tables = PageBudget(path), 0
    headings: list[Heading] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            tables += 1
            caption = f"{path.name}, table {tables}"
            table_text = docx_table_text(block, caption, budget)
            lines += ["", table_text, ""] if lines else [table_text, ""]
        else:
            lines.append(block.text)
            level = _heading_level(block)
            if level and block.text.strip():
                headings.append(Heading(level, " ".join(block.text.split())))
    title = " ".join((document.core_properties.title or "").split())[:200]
    return [Page("\n".join(lines), None, headings=tuple(headings), title=title)]


def _heading_level(paragraph: Paragraph) -> int:
    """1 to 9 for Word's "Heading N" styles (and "Title", as 1); 0 for body text."""
    try:
        name = paragraph.style.name if paragraph.style is not None else ""
    except (KeyError, ValueError):  # a style id the document does not define
        return 0
    name = name or ""
    if name == "Title":
        return 1
    suffix = name.removeprefix("Heading ")
    return int(suffix) if suffix != name and suffix.isdigit() else 0


def load_pptx(path: Path) -> list[Page]:
    """Load a PowerPoint deck as one page per slide, numbered from 1."""
    check_zip(path)
    presentation = pptx.Presentation(str(path))
    budget = PageBudget(path)
    pages = []
    for number, slide in enumerate(presentation.slides, start=1):
        text = "\n".join(line for shape in slide.shapes for line in _shape_lines(shape))
        budget.add(text)
        pages.append(Page(text, number))
    return pages


def _shape_lines(shape: BaseShape) -> Iterator[str]:
    """Yield the text of a slide shape: its text frame, table rows, or grouped shapes."""
    if isinstance(shape, GroupShape):
        for member in shape.shapes:
            yield from _shape_lines(member)
    elif shape.has_text_frame:
        yield shape.text_frame.text  # type: ignore[attr-defined]
    elif shape.has_table:
        for row in shape.table.rows:  # type: ignore[attr-defined]
            yield " | ".join(cell.text for cell in row.cells)
