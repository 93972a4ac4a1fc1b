"""The answer as inert Markdown, with its sources as footnotes: ``[1]`` becomes ``[^1]``.

A chat front end (Open WebUI, an editor) shows only the message content, so the
sources travel in it: each cited passage as a footnote definition (file and
page), then the claims no source supports, flagged as the CLI and the app flag
them. The structured sources travel beside the content in the ``sources`` field.
When a conversation comes back as history, :func:`strip_footnotes` takes this
block off again, so the follow-up rewrite reads the answer as the model wrote it.

The model's text is untrusted: a document can make the model write an image whose
address carries the question, and a front end that renders Markdown fetches it.
So the content is the inert Markdown the app shows (:func:`inert_answer`, through
``safe_markdown``). A stream cannot be parsed whole while it arrives, so there every
piece is escaped character by character (:class:`InertStream`, through
``escape_text``), and only whole words, so that a web address is always seen whole:
pieces that are inert one by one are then inert joined, whatever the split.
"""

from __future__ import annotations

import re
from typing import Any

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.markdown import code_span, escape_text, is_inert, safe_markdown
from gpt4all_rag.trust.citations import CITATION, OPEN_CITATION_TAIL

__all__ = [
    "UNSUPPORTED_NOTE",
    "InertStream",
    "footnote_block",
    "footnote_markers",
    "inert_answer",
    "inert_text",
    "sources_json",
    "strip_footnotes",
]

UNSUPPORTED_NOTE = "Not found in your sources:"
"""The start of the line that flags a claim no source supports."""

_MARKER_WINDOW = 64  # a longer marker split by a cut is shown as written (escaped)
_DEFINITION = re.compile(r"^\[\^\d+\]:")
_FOOTNOTE_REFERENCE = re.compile(r"\[\^(\d+)\]")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
# Private-use characters around a citation's number while safe_markdown reads the text.
_CITE_START, _CITE_END = "\ue010", "\ue011"
_CITE = re.compile(f"{_CITE_START}(\\d+){_CITE_END}")


def _cited(match: re.Match[str], count: int) -> list[int] | None:
    """The numbers of a ``[n, m]`` marker, or None if one is not a source of these ``count``."""
    numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1).strip())]
    return numbers if all(1 <= n <= count for n in numbers) else None


def footnote_markers(text: str, count: int) -> str:
    """``text`` with each ``[n]`` (1 <= n <= count) written as the footnote ``[^n]``.

    A bracket holding any number out of range is left as written: it is not a
    citation of these sources. The text is not made inert: see :func:`inert_text`.
    """

    def rewrite(match: re.Match[str]) -> str:
        numbers = _cited(match, count)
        return match.group(0) if numbers is None else "".join(f"[^{n}]" for n in numbers)

    return CITATION.sub(rewrite, text)


def inert_text(text: str, count: int) -> str:
    """``text`` shown exactly as written (all punctuation escaped), citations as footnotes.

    Fails closed: if the result would still render anything live, every word is
    sent as code instead.
    """
    shown = _escaped_with_footnotes(text, count)
    return shown if is_inert(shown) else words_as_code(text)


def words_as_code(text: str) -> str:
    """Each word of ``text`` as a code span: the last resort, inert in any renderer."""
    return re.sub(r"\S+", lambda word: code_span(word.group(0)), text)


def _escaped_with_footnotes(text: str, count: int) -> str:
    parts: list[str] = []
    last = 0
    for match in CITATION.finditer(text):
        numbers = _cited(match, count)
        parts.append(escape_text(text[last : match.start()]))
        if numbers is None:
            parts.append(escape_text(match.group(0)))
        else:
            parts.append("".join(f"[^{n}]" for n in numbers))
        last = match.end()
    parts.append(escape_text(text[last:]))
    return "".join(parts)


def inert_answer(text: str, count: int) -> str:
    """The model's text as the app shows it (``safe_markdown``), citations as footnotes.

    The citations go through ``safe_markdown`` as private-use marks and become
    footnotes after it. The result is checked once more (fail closed): if anything
    would still render as an image, a link, HTML or a bare address, the text is
    sent as :func:`inert_text` instead.
    """

    def mark(match: re.Match[str]) -> str:
        numbers = _cited(match, count)
        if numbers is None:
            return match.group(0)
        return "".join(f"{_CITE_START}{n}{_CITE_END}" for n in numbers)

    plain = text.replace(_CITE_START, "").replace(_CITE_END, "")
    shown = _CITE.sub(r"[^\1]", safe_markdown(CITATION.sub(mark, plain)))
    return shown if is_inert(shown) else inert_text(plain, count)


class InertStream:
    """:func:`inert_text` over a token stream: each piece inert, and inert when joined.

    The last word of what has arrived is held back until white space ends it, so
    ``escape_text`` always sees a web address whole (and shows it as code), however
    the model's tokens split it; so is the unfinished end of a marker (``[``,
    ``[1``), until the next piece shows whether it closes. Trailing white space is
    held too: the streamed text adds up to the stripped answer.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._held = ""
        self._word = 0  # where, in what is held, the last word and the space before it start
        self._started = False

    def feed(self, piece: str) -> str:
        """The text that can be shown now: whole words, escaped, markers as footnotes.

        Only the new piece is searched for white space, so a long run without any
        (the model's or an attacker's) costs time in proportion to its length.
        """
        if not self._started:
            piece = piece.lstrip()
            self._started = bool(piece)
        text = self._held + piece
        word = _last_word(text, len(self._held), self._word)
        cut = _cut(text, word)
        self._held, self._word = text[cut:], word - cut
        return inert_text(text[:cut], self.count)

    def flush(self) -> str:
        """What is still held back, at the end of the stream (trailing space dropped)."""
        text, self._held, self._word = self._held.rstrip(), "", 0
        return inert_text(text, self.count)


def footnote_block(answer: Answer) -> str:
    """The definitions of the cited sources, then the unsupported claims; "" when none.

    Starts with a blank line, so it can be appended to the answer as it is. The
    word "From" keeps a definition from being read as a link reference definition
    (``[^2]: notes.md``) by a renderer without footnotes.
    """
    lines = [f"[^{s.number}]: From {inert_text(_flat(_place(s)), 0)}" for s in answer.cited_sources]
    notes = [
        f"{UNSUPPORTED_NOTE} {inert_text(_flat(_unmarked(s.text)), 0)}" for s in answer.unsupported
    ]
    blocks = ["\n".join(lines), "\n\n".join(notes)]
    text = "\n\n".join(b for b in blocks if b)
    return f"\n\n{text}" if text else ""


def _unmarked(sentence: str) -> str:
    """A sentence without its ``[n]`` markers (the flag is about the claim, not the citation)."""
    return re.sub(r"\s+([.!?;:,])", r"\1", CITATION.sub("", sentence)).strip()


def _place(source: Source) -> str:
    """``file, page n`` (or the file alone for unpaged formats); never empty.

    ``[^1]: From`` alone would be a link reference definition again.
    """
    file = source.file.strip() or "a file without a name"
    return f"{file}, page {source.page}" if source.page is not None else file


def _flat(text: str) -> str:
    """Text on one line (a file name may hold a line break)."""
    return " ".join(text.split())


def strip_footnotes(text: str) -> str:
    r"""An answer as the model wrote it: the footnote block removed, ``[^n]`` back to ``[n]``.

    The escapes :func:`inert_answer` added come off too, so the follow-up rewrite
    reads ``451 kelvin.``, not ``451 kelvin\.``.
    """
    kept = [
        line
        for line in text.splitlines()
        if not (_DEFINITION.match(line) or line.startswith(UNSUPPORTED_NOTE))
    ]
    unescaped = _ESCAPED.sub(r"\1", "\n".join(kept))
    return _FOOTNOTE_REFERENCE.sub(r"[\1]", unescaped).strip()


def sources_json(answer: Answer) -> list[dict[str, Any]]:
    """Every retrieved source, numbered as in the answer, and whether the answer cites it."""
    return [
        {"number": s.number, **s.to_json(), "cited": s.number in answer.cited}
        for s in answer.sources
    ]


def _last_word(text: str, searched: int, known: int) -> int:
    """Where the last word of ``text`` and the white space before it start.

    ``text[:searched]`` was searched before, with the answer ``known``: unless the
    rest holds white space, that answer stands.
    """
    end = len(text)
    while end > searched and not text[end - 1].isspace():
        end -= 1
    if end == searched:
        return known
    start = end - 1  # text[start] is the last white space: back to the start of its run
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return start


def _cut(text: str, word: int) -> int:
    """Where the text that is known whole ends: before the last word or an open marker.

    A marker may hold white space (``[1, 2]``): a cut inside one moves to its start.
    """
    cut = word
    open_marker = OPEN_CITATION_TAIL.search(text, max(0, len(text) - 32))
    if open_marker:
        cut = min(cut, open_marker.start())
    start = max(0, cut - _MARKER_WINDOW)
    for marker in CITATION.finditer(text, start, cut + _MARKER_WINDOW):
        if marker.start() < cut < marker.end():
            return marker.start()
    return cut
