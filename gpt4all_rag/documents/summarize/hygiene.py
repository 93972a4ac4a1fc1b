"""What a summary must not hold: HTML tags, index rows, and a thing compared with itself.

The bundled small model opens with ``<p>``, copies table-of-contents rows with their
dot leaders ("1.1 Imports . . . . 3") and writes "the differences between read.table
and read.table". Index rows are left out of what it reads (:func:`readable_chunks`)
and of what it writes (:func:`without_index_rows`); tags are stripped as the text
streams (:func:`without_tags`); a comparison of a thing with itself is flagged
(:func:`compares_with_itself`). Index rows are recognised by the evidence's own rule
(``trust.quotable.is_index_row``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from gpt4all_rag.documents.summarize.document import DocumentChunk
from gpt4all_rag.trust.quotable import is_index_row
from gpt4all_rag.trust.text import normalise, word_count

__all__ = [
    "LISTED_TWICE",
    "SAME_BOTH_SIDES",
    "compares_with_itself",
    "lists_an_item_twice",
    "readable_chunks",
    "rejoined_lines",
    "strip_tags",
    "tidy_model_text",
    "without_index_rows",
    "without_repeated_lines",
    "without_tags",
]

SAME_BOTH_SIDES = "compares a thing with itself"
"""The reason a sentence that names the same thing on both sides of a comparison is flagged."""
LISTED_TWICE = "lists the same item twice"
"""The reason a sentence whose list names one item twice is flagged."""

# A chunk left with fewer words than this once its index rows are out ("Concept index A B
# C") is left out of the summary.
_MIN_CHUNK_WORDS = 12
# What separates a list's items: a comma (", and"), or "and" / "or".
_LIST_SEPARATOR = re.compile(r",\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+")
_ITEM_WORDS = 3
# A list item's number or bullet ("3. ", "- ").
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
# A line break inside a sentence: no end punctuation before it, a lower-case word after.
_BROKEN_LINE = re.compile(r"(?<=[\w,;)])[ \t]*\n[ \t]*(?=[a-z])")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
# The HTML a small model writes around its text; block tags become line breaks.
_BLOCK = "p|br|div|li|ul|ol|h[1-6]|tr|table|thead|tbody|hr|blockquote|section|article|pre"
_INLINE = "span|b|i|u|em|strong|a|code|td|th|sup|sub|small|html|body|head|title|font"
_TAG = re.compile(rf"</?(?:(?P<block>{_BLOCK})|{_INLINE})\b[^<>\n]{{0,80}}?/?>", re.IGNORECASE)
# A start of a tag that the next token may finish ("<", "</p", "<span cl").
_OPEN_TAG = re.compile(r"<(?:/?(?:[A-Za-z][^<>\n]{0,80})?)?")
_BETWEEN = r"(?:between|compar(?:e|es|ed|ing)|comparison of|differences? (?:of|in))"
_SIDES = r"(?:and|with|to|vs\.?|versus)"
_THING = r"[`'\"‘“]?(?P<x>[\w.$:@()-]+(?:\s+[\w.$:@()-]+){0,3}?)[`'\"’”]?"
_END = r"[`'\"‘“]?(?P=x)(?![\w.$:@(-])"
_SAME = (
    re.compile(rf"\b{_BETWEEN}\s+(?:the\s+)?{_THING}\s+{_SIDES}\s+(?:the\s+)?{_END}", re.I),
    re.compile(rf"(?<![\w.$:@-]){_THING}\s+(?:vs\.?|versus)\s+{_END}", re.I),
)


def _tag(match: re.Match[str]) -> str:
    return "\n" if match.group("block") else ""


def strip_tags(text: str) -> str:
    """``text`` without HTML tags: block tags become line breaks, inline ones go."""
    return _TAG.sub(_tag, text)


def without_tags(tokens: Iterable[str]) -> Iterator[str]:
    """The streamed tokens with HTML tags stripped, however the stream splits a tag.

    A ``<`` that may open a tag is held back until the tag closes (then it is
    stripped) or can no longer be one (then it is let through). The line break a
    block tag leaves before any text (``<p>The…``) is dropped.
    """
    held, started = "", False
    for token in tokens:
        held += token
        start = held.rfind("<")
        keep = ""
        if start >= 0 and _OPEN_TAG.fullmatch(held[start:]):
            held, keep = held[:start], held[start:]
        clean = strip_tags(held) if started else strip_tags(held).lstrip()
        if clean:
            started = True
            yield clean
        held = keep
    if held:
        yield held


def without_index_rows(text: str) -> str:
    """The model's text without the table-of-contents or index rows it copied."""
    lines = text.split("\n")
    kept = [line for line in lines if not is_index_row(line)]
    return "\n".join(kept).strip() if len(kept) < len(lines) else text


def without_repeated_lines(text: str) -> str:
    """The text with each line once, blank lines apart; numbering and bullets are ignored.

    A list the model loops on ("3. Data types", "4. Data types", …) keeps its first line.
    """
    seen: set[str] = set()
    kept = []
    for line in text.split("\n"):
        key = normalise(_NUMBERING.sub("", line))
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return "\n".join(kept)


def rejoined_lines(text: str) -> str:
    """Sentences the model broke across lines, as a PDF's lines are, joined again.

    A line that ends mid-sentence and a next line that begins in lower case are one
    sentence: checked apart, each half would be judged alone. Runs of blank lines
    become one.
    """
    text = _BROKEN_LINE.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text)


def tidy_model_text(text: str) -> str:
    """What the model wrote, without tags, index rows or repeated lines, sentences whole."""
    tidied = without_repeated_lines(without_index_rows(strip_tags(text).strip()))
    return rejoined_lines(tidied).strip()


def readable_chunks(chunks: Sequence[DocumentChunk]) -> tuple[DocumentChunk, ...]:
    """The chunks without their index rows; a chunk that was little else is left out.

    The model copies dot leaders it reads, and a table of contents says nothing a
    summary should. A document that is nothing but an index keeps its chunks.
    """
    kept = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        prose = [line for line in lines if not is_index_row(line)]
        if len(prose) == len(lines):
            kept.append(chunk)
        elif word_count(" ".join(prose)) >= _MIN_CHUNK_WORDS:
            kept.append(replace(chunk, text="\n".join(prose)))
    return tuple(kept) or tuple(chunks)


def lists_an_item_twice(sentence: str) -> bool:
    """Whether a list in the sentence names one item twice ("integer, logical, integer").

    A list's items are its short comma-separated parts; the first is the last word
    of the part that leads into it ("including text, ..."); a longer part after it
    ("as well as other types") is no item.
    """
    for clause in re.split(r"[;:]", sentence):
        parts = [p.strip(" .") for p in _LIST_SEPARATOR.split(clause)]
        if len(parts) < 3 or not parts[0]:
            continue
        items = [parts[0].split()[-1], *(p for p in parts[1:] if len(p.split()) <= _ITEM_WORDS)]
        keys = [normalise(item) for item in items if normalise(item)]
        if len(keys) != len(set(keys)):
            return True
    return False


def compares_with_itself(sentence: str) -> bool:
    """Whether a sentence names the same thing on both sides of a comparison.

    "The main differences between read.table and read.table are:" is fluent and empty.
    """
    return any(pattern.search(sentence) for pattern in _SAME)
