"""Sources as Markdown footnotes: ``[1]`` becomes ``[^1]``, defined under the answer.

A chat front end (Open WebUI, an editor) shows only the message content, so the
sources travel in it: each cited passage as a footnote definition (file and
page), then the claims no source supports, flagged as the CLI and the app flag
them. The structured sources travel beside the content in the ``sources`` field.
When a conversation comes back as history, :func:`strip_footnotes` takes this
block off again, so the follow-up rewrite reads the answer as the model wrote it.
"""

from __future__ import annotations

import re
from typing import Any

from gpt4all_rag.answer import Answer, Source

__all__ = [
    "UNSUPPORTED_NOTE",
    "MarkerRewriter",
    "footnote_block",
    "footnote_markers",
    "sources_json",
    "strip_footnotes",
]

UNSUPPORTED_NOTE = "Not found in your sources:"
"""The start of the line that flags a claim no source supports."""

# The citation forms the flow parses ([1], [1, 2], [1; 2]), as gpt4all_rag.prompts does.
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# What may still become a marker when the next token arrives: "[", "[1", "[1, ".
_OPEN_MARKER = re.compile(r"\[[\d\s,;]*$")
_DEFINITION = re.compile(r"^\[\^\d+\]:")
_FOOTNOTE_REFERENCE = re.compile(r"\[\^(\d+)\]")
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>!#|])")


def footnote_markers(text: str, count: int) -> str:
    """``text`` with each ``[n]`` (1 <= n <= count) written as the footnote ``[^n]``.

    A bracket holding any number out of range is left as written: it is not a
    citation of these sources.
    """

    def rewrite(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1).strip())]
        if not all(1 <= n <= count for n in numbers):
            return match.group(0)
        return "".join(f"[^{n}]" for n in numbers)

    return _MARKER.sub(rewrite, text)


class MarkerRewriter:
    """:func:`footnote_markers` over a token stream, where a marker may span tokens.

    The unfinished end of a marker (``[``, ``[1``) is held back until the next
    piece shows whether it closes, and so is trailing white space: the streamed
    text then adds up to the stripped answer, as the non-streamed content has it.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._held = ""
        self._started = False

    def feed(self, piece: str) -> str:
        """The text that can be shown now, markers rewritten."""
        text = self._held + piece
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        open_marker = _OPEN_MARKER.search(text)
        cut = open_marker.start() if open_marker else len(text.rstrip())
        self._held = text[cut:]
        return footnote_markers(text[:cut], self.count)

    def flush(self) -> str:
        """What is still held back, at the end of the stream (trailing space dropped)."""
        text, self._held = self._held.rstrip(), ""
        return footnote_markers(text, self.count)


def footnote_block(answer: Answer) -> str:
    """The definitions of the cited sources, then the unsupported claims; "" when none.

    Starts with a blank line, so it can be appended to the answer as it is.
    """
    lines = [f"[^{s.number}]: {_escape(_place(s))}" for s in answer.cited_sources]
    notes = [f"{UNSUPPORTED_NOTE} {_escape(_unmarked(s.text))}" for s in answer.unsupported]
    blocks = ["\n".join(lines), "\n\n".join(notes)]
    text = "\n\n".join(b for b in blocks if b)
    return f"\n\n{text}" if text else ""


def _unmarked(sentence: str) -> str:
    """A sentence without its ``[n]`` markers (the flag is about the claim, not the citation)."""
    return re.sub(r"\s+([.!?;:,])", r"\1", _MARKER.sub("", sentence)).strip()


def _place(source: Source) -> str:
    """``file, page n`` (or the file alone for unpaged formats)."""
    return f"{source.file}, page {source.page}" if source.page is not None else source.file


def _escape(text: str) -> str:
    """Text shown as written in Markdown: no link, image, emphasis or HTML from a file name."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(text.split()))


def strip_footnotes(text: str) -> str:
    """An answer as the model wrote it: the footnote block removed, ``[^n]`` back to ``[n]``."""
    kept = [
        line
        for line in text.splitlines()
        if not (_DEFINITION.match(line) or line.startswith(UNSUPPORTED_NOTE))
    ]
    return _FOOTNOTE_REFERENCE.sub(r"[\1]", "\n".join(kept)).strip()


def sources_json(answer: Answer) -> list[dict[str, Any]]:
    """Every retrieved source, numbered as in the answer, and whether the answer cites it."""
    return [
        {"number": s.number, **s.to_json(), "cited": s.number in answer.cited}
        for s in answer.sources
    ]
