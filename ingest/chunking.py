"""Token-sized chunks, measured with the embedding model's own tokenizer.

all-MiniLM-L6-v2 silently truncates at 256 word pieces: a chunk sized in
characters can lose its tail to truncation, so sizes here are in the tokens of
that very tokenizer.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.loaders import Heading, Page

__all__ = ["CHUNKER_VERSION", "Chunk", "Section", "TokenChunker", "chunk_id_for", "sections"]

# Bump when the splitting rules change: indexes built before are then re-chunked.
# 2: chunks stop at section headings and carry the heading trail above them.
# 3: words PDFium hyphenated at a line end are whole (no U+0002 inside them).
CHUNKER_VERSION = "3"

HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Chunk:
    """A passage ready to embed.

    ``start`` and ``end`` are character offsets in its page's text; for a streamed text
    file, whose pages are its segments, in the whole text.
    """

    text: str
    page: int | None
    index: int
    start: int
    end: int
    heading: str = ""
    title: str = ""


@dataclass(frozen=True)
class Section:
    """A stretch of one page under one heading trail: ``text[start:end]`` of the page."""

    start: int
    end: int
    heading: str


# A section of a heading line alone (perhaps with a page number) joins the next one.
_HEADING_ONLY_CHARS = 160
_PAGE_NUMBER = re.compile(r"[0-9ivxlc]+", re.IGNORECASE)


def sections(page: Page, trail: list[Heading]) -> tuple[list[Section], list[Heading]]:
    """Cut a page at the headings that start on it.

    ``trail`` is the heading trail in force at the top of the page (the page before's
    last); returned updated, for the next page. Text above the page's first heading
    continues the section of the page before.
    """
    cuts: list[tuple[int, str]] = [(0, _trail_text(trail))]
    searched_from = 0
    for heading in page.headings:
        position = _find_heading(page.text, heading.title, searched_from)
        trail = [h for h in trail if h.level < heading.level] + [heading]
        if position is None:  # not in the text: it holds from where the last one was
            cuts[-1] = (cuts[-1][0], _trail_text(trail))
            continue
        searched_from = position + len(heading.title)
        if position <= cuts[-1][0] or _heading_only(page.text, cuts[-1][0], position):
            cuts[-1] = (cuts[-1][0], _trail_text(trail))
        else:
            cuts.append((position, _trail_text(trail)))
    bounds = [c[0] for c in cuts[1:]] + [len(page.text)]
    return [Section(c[0], end, c[1]) for c, end in zip(cuts, bounds, strict=True)], trail


def _shortened(trail: str, limit: int) -> str:
    """The trail within ``limit`` characters: its outer headings go first, then words."""
    parts = trail.split(HEADING_SEPARATOR) if trail else []
    while parts and len(HEADING_SEPARATOR.join(parts)) > limit:
        if len(parts) == 1:
            words = parts[0][:limit].rsplit(" ", 1)[0] if limit else ""
            return words
        parts = parts[1:]
    return HEADING_SEPARATOR.join(parts)


def _trail_text(trail: list[Heading]) -> str:
    return HEADING_SEPARATOR.join(h.title for h in trail)


def _heading_only(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is too short to stand alone: a heading, a page number."""
    piece = text[start:end].strip()
    if len(piece) > _HEADING_ONLY_CHARS:
        return False
    lines = [line for line in piece.splitlines() if line.strip()]
    return sum(1 for line in lines if not _PAGE_NUMBER.fullmatch(line.strip())) <= 1


def _find_heading(text: str, title: str, start: int) -> int | None:
    """Where a heading's line starts in the page text, at or after ``start``.

    A line that is the title (with a section number or Markdown hashes before it) is
    preferred to the title in running text, where an outline title like "NextMethod"
    also occurs.
    """
    words = title.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    line = re.compile(
        rf"^[ \t#]*(?:[0-9A-Z]{{1,3}}(?:\.[0-9]+)*\.?[ \t]+)?{body}[ \t#]*$",
        re.MULTILINE | re.IGNORECASE,
    )
    match = line.search(text, start) or re.compile(body, re.IGNORECASE).search(text, start)
    return match.start() if match else None


_MODEL_TOKENS = 254  # all-MiniLM-L6-v2's 256 word pieces, less [CLS] and [SEP]


def chunk_id_for(path: str, content_hash: str, index: int) -> str:
    """Deterministic id of a file's n-th chunk: same file, same content, same id."""
    key = f"{path}\x00{content_hash}\x00{index}".encode()
    return hashlib.sha256(key).hexdigest()[:40]


class TokenChunker:
    """Recursive splitting (paragraphs, lines, sentences, words) to a token budget.

    The tokenizer is read from ``tokenizer.json`` on first use only, so a sync
    with nothing to parse never loads it.
    """

    def __init__(self, tokenizer_file: Path, chunk_tokens: int, overlap_tokens: int) -> None:
        self.tokenizer_file = tokenizer_file
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        # The heading trail is embedded before the chunk: both must fit the model's
        # 256 word pieces (about 4 characters a piece in English headings).
        self.context_chars = 4 * max(0, min(32, _MODEL_TOKENS - chunk_tokens))
        self._splitter: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text``, without the [CLS] and [SEP] markers."""
        self._ensure_loaded()
        return self._length(text)

    def _ensure_loaded(self) -> None:
        with self._lock:
            if self._splitter is not None:
                return
            from langchain_text_splitters import RecursiveCharacterTextSplitter  # on first use only
            from tokenizers import Tokenizer  # as above

            self._tokenizer = Tokenizer.from_file(str(self.tokenizer_file))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
            self._splitter = RecursiveCharacterTextSplitter(
                chunk_size=self.chunk_tokens,
                chunk_overlap=self.overlap_tokens,
                # The splitter measures each piece twice (splitting, then merging):
                # remembering the last few thousand lengths halves the tokenizer calls.
                length_function=functools.lru_cache(maxsize=4096)(self._length),
                separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
                keep_separator="end",
                add_start_index=True,
            )

    def _length(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def split(self, pages: Iterable[Page]) -> list[Chunk]:
        """Split each page on its own, so every chunk keeps its page number."""
        return list(self.iter_chunks(pages))

    def iter_chunks(self, pages: Iterable[Page]) -> Iterator[Chunk]:
        """``split`` one page at a time: pages may come from a stream.

        A page is cut at its headings first, so no chunk runs across one, and each chunk
        carries the trail of headings it sits under.
        """
        self._ensure_loaded()
        index = 0
        trail: list[Heading] = []
        for page in pages:
            parts, trail = sections(page, trail)
            for part in parts:
                for chunk in self._section_chunks(page, part, index):
                    yield chunk
                    index += 1

    def _section_chunks(self, page: Page, part: Section, first: int) -> Iterator[Chunk]:
        text = page.text[part.start : part.end]
        heading = _shortened(part.heading, self.context_chars)
        for n, doc in enumerate(self._splitter.create_documents([text])):
            start = int(doc.metadata.get("start_index", -1))
            if start < 0:  # text not found verbatim; fall back to a search
                start = max(text.find(doc.page_content), 0)
            start += page.offset + part.start
            yield Chunk(
                text=doc.page_content,
                page=page.page,
                index=first + n,
                start=start,
                end=start + len(doc.page_content),
                heading=heading,
                title=page.title,
            )
