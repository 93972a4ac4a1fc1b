"""Token-sized chunks, measured with the embedding model's own tokenizer.

all-MiniLM-L6-v2 silently truncates at 256 word pieces: a chunk sized in
characters can lose its tail to truncation, so sizes here are in the tokens of
that very tokenizer.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.loaders import Page

__all__ = ["CHUNKER_VERSION", "Chunk", "TokenChunker", "chunk_id_for"]

# Bump when the splitting rules change: indexes built before are then re-chunked.
CHUNKER_VERSION = "1"


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
            from langchain_text_splitters import RecursiveCharacterTextSplitter
            from tokenizers import Tokenizer

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
        """``split`` one page at a time: pages may come from a stream."""
        self._ensure_loaded()
        index = 0
        for page in pages:
            for doc in self._splitter.create_documents([page.text]):
                start = int(doc.metadata.get("start_index", -1))
                if start < 0:  # text not found verbatim; fall back to a search
                    start = max(page.text.find(doc.page_content), 0)
                start += page.offset
                yield Chunk(
                    text=doc.page_content,
                    page=page.page,
                    index=index,
                    start=start,
                    end=start + len(doc.page_content),
                )
                index += 1
