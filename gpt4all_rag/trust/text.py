"""Sentences and words, shared by evidence selection, grounding, the loop guard and highlighting.

Document text arrives as a PDF extractor left it: words hyphenated at line ends,
sentences broken across lines, code lines and bullets mixed with prose, page
headers. :func:`split_sentences` turns that into sentences a person can read on
their own; :func:`content_terms` turns text into the stemmed words two texts
can share. R identifiers such as ``install.packages`` or ``R_HOME`` stay whole:
they are what a question about a manual is usually about.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from gpt4all_rag.trust.citations import CITATION, LEADING_CITATIONS

__all__ = [
    "STOP_WORDS",
    "content_terms",
    "normalise",
    "sentence_spans",
    "split_sentences",
    "stem",
    "strip_markers",
    "typed_sentences",
    "word_count",
    "words",
]

# fmt: off
STOP_WORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either",
    "etc", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here",
    "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "may", "me", "might", "more", "most", "must", "my", "myself", "no", "nor",
    "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
    "ourselves", "out", "over", "own", "same", "shall", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "upon", "us", "very",
    "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "whom",
    "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours",
    "yourself", "yourselves", "use", "used", "using",
})
# fmt: on

# A word, or an identifier whose parts are joined by . : $ @ (install.packages, base::c, x$y).
WORD = re.compile(r"\w+(?:(?:::|[.:$@])\w+)*")
_IDENTIFIER_JOINERS = re.compile(r"::|[.:$@_]")
_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "\xad": ""})
# A word broken at a line end: "instal-\nlation" -> "installation", "R-\nexts" -> "R-exts".
_HYPHENATED = re.compile(r"(\w+)-\n[ \t]*(\w+)")
_BULLET = re.compile(r"^\s*(?:[•◦▪‣∗*·–—-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_HEADING = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)+|Appendix [A-Z]|Chapter \d+)\s+\S")
# fmt: off
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "vs", "cf", "fig", "figs", "sec", "no", "nos", "dr", "mr", "mrs", "ms",
    "prof", "st", "approx", "al", "ch", "eq", "vol", "p", "pp", "resp", "ca", "viz",
})
# fmt: on
_SENTENCE_END = re.compile(r"([.!?]+)([\"')\]]*)(\s+)(?=[\"'(\[]?[A-Z0-9`\"'(\[])")
_CODE_HINTS = re.compile(
    r"(<-|->|==|!=|\{\s*$|^\s*\}|;\s*$|^\s*[>+$#%@]\s?|\w\(.*\)\s*$|\\$|\$\("
    r"|^\s*[\w.$()]+\s*[:+?]?=\s*\S)"
)
# A running page header or footer of a PDF: "Chapter 1: Creating R packages 6".
_RUNNING_HEADER = re.compile(r"^(?:Chapter \d+|Appendix [A-Z]):.*\s\d+$|^\d+$")
# A URL broken at a line end ("https://CRAN.\nR-project.org/...") is joined without a space.
_BROKEN_URL = re.compile(r"(?:https?://|www\.)\S*[./\-_=?&]$")


@functools.cache
def _stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), as the keyword index uses."""
    import Stemmer  # PyStemmer: on first use only

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """The Snowball stem of one lower-case word; identifiers are kept whole."""
    if _IDENTIFIER_JOINERS.search(word) or not word.isalpha():
        return word
    return str(_stemmer().stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words and identifiers, citation markers left out."""
    return [m.group(0).lower() for m in WORD.finditer(strip_markers(text))]


def word_count(text: str) -> int:
    """How many words and identifiers the text has (markers not counted)."""
    return len(words(text))


def content_terms(text: str) -> set[str]:
    """The stemmed words that carry meaning: stop words and one-letter words left out.

    Identifiers (``install.packages``) also contribute their parts, so that a
    question about "packages" meets a sentence that only writes the identifier.
    """
    terms: set[str] = set()
    for word in words(text):
        parts = (
            [word, *_IDENTIFIER_JOINERS.split(word)] if _IDENTIFIER_JOINERS.search(word) else [word]
        )
        for part in parts:
            if len(part) > 1 and part not in STOP_WORDS:
                terms.add(stem(part))
    return terms


def strip_markers(text: str) -> str:
    """The text without ``[n]`` citation markers."""
    return CITATION.sub("", text)


def normalise(text: str) -> str:
    """Lower-case words joined by single spaces.

    Two sentences that differ only in case, punctuation, spacing or citation
    markers normalise to the same string.
    """
    return " ".join(words(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of document or answer text, in order.

    Line breaks inside a sentence are joined, words hyphenated at a line end are
    mended, and each bullet item and each code line is a sentence of its own.
    Headings ("6.1 Installing packages") are left out. Citation markers that
    follow a full stop ("It does. [1] Next") stay with the sentence before them.
    """
    return [sentence for sentence, kind in typed_sentences(text) if kind != "heading"]


def typed_sentences(text: str) -> list[tuple[str, str]]:
    """Sentences of document text with their kind: ``prose``, ``code`` or ``heading``.

    The evidence needs what :func:`split_sentences` drops or blurs: the heading a
    sentence follows (a FAQ's question) and the code line a sentence introduces.
    Running page headers are left out.
    """
    sentences: list[tuple[str, str]] = []
    for block, kind in _blocks(_clean(text)):
        if kind == "heading":
            sentences.append((block, kind))
            continue
        for sentence in _split_prose(block):
            texts = [s for s, k in sentences if k != "heading"]
            before = len(texts)
            _append(texts, sentence)
            if before and texts[before - 1] != _last_text(sentences):
                last = max(i for i, (_, k) in enumerate(sentences) if k != "heading")
                sentences[last] = (texts[before - 1], sentences[last][1])
            if len(texts) > before:
                sentences.append((texts[-1], kind))
    return sentences


def _last_text(sentences: list[tuple[str, str]]) -> str:
    """The last sentence that is not a heading (markers attach to it)."""
    return next((s for s, k in reversed(sentences) if k != "heading"), "")


def _clean(text: str) -> str:
    text = text.translate(_LIGATURES).replace("\r\n", "\n").replace("\r", "\n")
    return _HYPHENATED.sub(lambda m: _mend(m, text), text)


def _mend(match: re.Match[str], text: str) -> str:
    """Join a word broken at a line end, keeping the hyphen of a real compound.

    TeX hyphenates lower-case words between syllables, so a lower-case break is
    joined unless the text writes the compound with its hyphen elsewhere
    ("command-line"); a break next to a capital or digit keeps the hyphen ("R-exts").
    """
    head, tail = match.group(1), match.group(2)
    hyphenated = f"{head}-{tail}"
    syllables = head[-1].islower() and tail[0].islower()
    if syllables and hyphenated not in text:
        return head + tail
    return hyphenated


def _blocks(text: str) -> Iterable[tuple[str, str]]:
    """Paragraphs, bullet items, code lines and headings, each with its kind.

    Prose lines are joined by spaces; running headers are left out: they say nothing.
    """
    prose: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        kind = _line_kind(stripped, prose)
        if kind != "prose" and prose:
            yield " ".join(prose), "prose"
            prose = []
        if kind in ("code", "heading"):
            if kind == "code" or not _RUNNING_HEADER.match(stripped):
                yield stripped, kind
        elif kind == "bullet":
            prose = [_BULLET.sub("", stripped)]
        elif stripped and prose and _BROKEN_URL.search(prose[-1]):
            prose[-1] += stripped
        elif stripped:
            prose.append(stripped)
    if prose:
        yield " ".join(prose), "prose"


def _line_kind(line: str, prose: list[str]) -> str:
    """``blank``, ``bullet``, ``code``, ``heading`` or ``prose`` for one stripped line."""
    if not line:
        return "blank"
    if _RUNNING_HEADER.match(line):
        return "heading"
    if _BULLET.match(line) and not re.match(r"^\d+\.\d", line):
        return "bullet"
    if _is_heading(line, prose):
        return "heading"
    if _CODE_HINTS.search(line) and not _looks_like_prose(line):
        return "code"
    return "prose"


def _is_heading(line: str, prose: list[str]) -> bool:
    """Whether a line is a heading ("6.1 Installing packages", "Operating Conditions").

    A heading is short, has no final punctuation, is numbered or in Title Case,
    and does not continue a sentence.
    """
    if line.endswith((".", ",", ";", ":", "!", "?")) or len(line.split()) > 10:
        return False
    if bool(prose) and not prose[-1].endswith((".", "!", "?", ":")):
        return False
    if _HEADING.match(line):
        return True
    long_words = [w for w in line.split() if len(w) >= 4]
    return bool(long_words) and len(line.split()) <= 6 and all(w[0].isupper() for w in long_words)


def _looks_like_prose(line: str) -> bool:
    """Mostly plain words, with a sentence's punctuation, for lines that merely mention code."""
    tokens = line.split()
    plain = sum(1 for t in tokens if re.fullmatch(r"[A-Za-z][a-z]*[,.;:]?", t))
    return len(tokens) >= 6 and plain / len(tokens) >= 0.6


def _split_prose(block: str) -> list[str]:
    """Split a paragraph at full stops followed by a capital, digit or opening mark."""
    block = re.sub(r"\s+", " ", block).strip()
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(block):
        if _is_abbreviation(block, match.start()):
            continue
        pieces.append(block[start : match.end(2)])
        start = match.end()
    pieces.append(block[start:])
    return [p.strip() for p in pieces if p.strip()]


def _is_abbreviation(block: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation such as "e.g." or "Fig."."""
    if block[dot] != ".":
        return False
    before = re.search(r"([\w.]+)$", block[:dot])
    return before is not None and before.group(1).lower().rstrip(".") in _ABBREVIATIONS


def _append(sentences: list[str], sentence: str) -> None:
    """Add a sentence, giving leading citation markers to the sentence before it."""
    markers = LEADING_CITATIONS.match(sentence)
    if markers and sentences:
        sentences[-1] = f"{sentences[-1]} {markers.group(0).strip()}"
        sentence = sentence[markers.end() :].strip()
    if sentence:
        sentences.append(sentence)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of an answer starts and ends in it, so it can be rebuilt.

    Unlike :func:`split_sentences` (for documents), a line break always ends a
    sentence here (a model writes one paragraph or list item per line) and the
    text is not changed: ``text[start:end]`` is the sentence as written, bullet
    and indentation left outside. Markers after a full stop belong to the
    sentence before them.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        start = offset + (bullet.end() if bullet else len(line) - len(line.lstrip()))
        for match in _SENTENCE_END.finditer(line):
            if not _is_abbreviation(line, match.start()):
                _add_span(spans, text, start, offset + match.end(2))
                start = offset + match.end()
        _add_span(spans, text, start, offset + len(line.rstrip()))
        offset += len(line) + 1
    return spans


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    """Add a non-empty span; leading markers go to the span before (on the same line)."""
    markers = LEADING_CITATIONS.match(text, start, end)
    if markers and spans and "\n" not in text[spans[-1][1] : start]:
        spans[-1] = (spans[-1][0], markers.end())
        start = markers.end()
    while start < end and text[start].isspace():
        start += 1
    if start < end:
        spans.append((start, end))
