"""The ``[n]`` markers a model cites its sources with, written once, with their variants.

The model cites passages as ``[1]``, ``[1, 2]`` or ``[1; 3]``. :data:`CITATION` is
that marker, and every reader of it uses it: the cited list of an answer, the
grounding check, the server's footnotes, :func:`~gpt4all_rag.trust.text.strip_markers`.
The patterns after it differ from it on purpose, each for one reader, and sit here so
that they are read (and changed) together; they share :data:`CITATION_NUMBERS`.
"""

from __future__ import annotations

import re

__all__ = [
    "CITATION",
    "CITATION_NUMBERS",
    "CITATION_OR_PAGES",
    "LEADING_CITATIONS",
    "ONE_NUMBER_CITATION",
    "OPEN_CITATION",
    "OPEN_CITATION_TAIL",
    "PAGE_CITATION",
    "marker_numbers",
]

CITATION_NUMBERS = r"\d+(?:\s*[,;]\s*\d+)*"
"""The numbers inside a marker: ``1``, ``1, 2``, ``1; 3`` (a pattern to build on)."""

CITATION = re.compile(rf"\[({CITATION_NUMBERS})\]")
"""A marker, its numbers in group 1."""


def marker_numbers(marker: re.Match[str]) -> list[int]:
    """The numbers of one :data:`CITATION` match, as written: ``[1, 3]`` -> ``[1, 3]``."""
    return [int(part) for part in re.split(r"[,;]", marker.group(1))]


# --- the variants, each for one reader ------------------------------------------------

LEADING_CITATIONS = re.compile(rf"(?:\s*\[{CITATION_NUMBERS}\])+[.!?]?")
"""Markers (and a stop after them) at the start of a sentence: they close the one before."""

OPEN_CITATION = r"\[[\d\s,;]*\Z"
"""A marker still arriving at the end of a stream, ``[1, `` (the loop guard; a pattern)."""

OPEN_CITATION_TAIL = re.compile(r"\[[\d\s,;]{0,30}\Z")
"""The same, 30 characters at most (the server's footnotes cut a stream before it)."""

ONE_NUMBER_CITATION = r"\[\d+\]"
"""A marker of one number: in a follow-up's rewrite, a sign the model answered (a pattern)."""

CITATION_OR_PAGES = re.compile(rf"\[(?:{CITATION_NUMBERS}|pp?\. [\d–, -]+)\](?![(\[:])")
"""``[2]``, ``[1, 3]``, or a summary's ``[p. 3]``, ``[pp. 3–5]``, with no link after it (export)."""

PAGE_CITATION = re.compile(
    r"\s?[\[(]\s*(?:pp?\.|pages?)\s*(\d+(?:\s*(?:[-–,;]|and)\s*\d+)*)\s*[\])]", re.IGNORECASE
)
"""A page citation as a model writes it, its pages in group 1 (the summaries).

``[p. 3]``, ``(p. 3)``, ``[pp. 3-5]``, ``[p. 3, 5]``, ``(page 3)``, ``[pages 3 and 4]``,
with the space before it.
"""
