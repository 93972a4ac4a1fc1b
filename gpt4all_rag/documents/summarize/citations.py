"""Page citations in a summary: read as a model writes them, kept to the pages that exist.

A small model invents page numbers, so a citation of a page the step did not read
is removed, and the pages kept are written the one way a reader expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gpt4all_rag.trust.citations import PAGE_CITATION

__all__ = ["format_pages", "page_citations", "validate_page_citations"]

_PAGE_PART = re.compile(r"(\d+)(?:\s*[-–]\s*(\d+))?")


def format_pages(pages: Iterable[int]) -> str:
    """Pages as a reader writes them: ``p. 3``, ``pp. 3–5, 8`` (empty for no pages)."""
    ordered = sorted(set(pages))
    if not ordered:
        return ""
    runs: list[list[int]] = []
    for page in ordered:
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
    return f"p. {text}" if len(ordered) == 1 else f"pp. {text}"


def _marker_pages(numbers: str) -> list[int]:
    pages: list[int] = []
    for match in _PAGE_PART.finditer(numbers):
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last - first > 1000:  # "pp. 1-99999" is no citation
            last = first
        pages.extend(range(first, last + 1))
    return pages


def page_citations(text: str) -> list[int]:
    """Every page that ``text`` cites as ``[p. N]``, ``(p. N)``, ``[pp. N–M]``…, sorted."""
    cited: set[int] = set()
    for match in PAGE_CITATION.finditer(text):
        cited.update(_marker_pages(match.group(1)))
    return sorted(cited)


def validate_page_citations(text: str, pages: Iterable[int]) -> str:
    """``text`` with each page citation kept to the ``pages`` that exist, written ``[p. N]``.

    A citation of no existing page is removed with the space before it, so a
    reader never follows a page number the model made up.
    """
    allowed = set(pages)

    def fix(match: re.Match[str]) -> str:
        kept = [p for p in _marker_pages(match.group(1)) if p in allowed]
        return f" [{format_pages(kept)}]" if kept else ""

    return PAGE_CITATION.sub(fix, text)
