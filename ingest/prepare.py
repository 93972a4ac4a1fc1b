"""Turning files into chunks ahead of the writer.

Files are parsed and chunked on a thread, a few ahead, while the previous batch is embedded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.chunking import Chunk, TokenChunker, chunk_id_for
from ingest.errors import DocumentLoadError
from ingest.loaders import Page, is_streamable, stream_file
from ingest.loaders.base import warnings_of
from ingest.plan import Candidate
from ingest.timer import StageTimer
from vectorstore.schema import ChunkMetadata, path_fields

__all__ = ["Loader", "Prepared", "Preparer", "chunk_metadata", "prefetch"]

Loader = Callable[[Path], list[Page]]


@dataclass
class Prepared:
    """A parsed and chunked file, or the reason it failed, or a file to stream.

    ``warnings`` say why a file that was indexed was read only in part.
    """

    candidate: Candidate
    pages: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    error: str | None = None
    streamed: bool = False  # too big to prepare whole: chunked while it is written
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The file's path relative to the documents folder."""
        return self.candidate.stat.path

    def chunk_id(self, chunk: Chunk) -> str:
        """The deterministic id of one of this file's chunks."""
        return chunk_id_for(self.path, self.candidate.content_hash, chunk.index)


class Preparer:
    """Loads and chunks candidates, within the size limits.

    Args:
        load: reads a whole file into pages (``IsolatedLoader`` or ``load_file``).
        chunker: splits pages into token-sized chunks.
        max_file_bytes: larger files fail with a reason instead of being read.
        stream_file_bytes: larger files are streamed by the writer (``pages``).
    """

    def __init__(
        self, load: Loader, chunker: TokenChunker, max_file_bytes: int, stream_file_bytes: int
    ) -> None:
        self.load = load
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.stream_file_bytes = stream_file_bytes

    def prepare(self, candidate: Candidate) -> Prepared:
        """Parse and chunk one file (or mark it to stream, or say why it failed)."""
        prepared = Prepared(candidate)
        size = candidate.stat.size
        if size > self.max_file_bytes:
            limit_mb = self.max_file_bytes / (1 << 20)
            prepared.error = f"file too large ({size / (1 << 20):.0f} MB > {limit_mb:.0f} MB)"
            return prepared
        if size > self.stream_file_bytes:
            prepared.streamed = True
            return prepared
        timer = StageTimer(prepared.stages)
        try:
            with timer("parse"):
                pages = self.load(candidate.stat.abs_path)
        except DocumentLoadError as exc:
            prepared.error = exc.reason
            return prepared
        except MemoryError:
            prepared.error = "out of memory while parsing"
            return prepared
        prepared.warnings = warnings_of(pages)
        with timer("chunk"):
            prepared.pages = len(pages)
            prepared.chunks = self.chunker.split(pages)
        if not prepared.chunks:
            prepared.error = "no extractable text"
        return prepared

    def prepare_all(self, candidates: Iterable[Candidate]) -> Iterator[Prepared]:
        """``prepare`` each candidate, in order."""
        for candidate in candidates:
            yield self.prepare(candidate)

    def stream_chunks(self, prepared: Prepared) -> Iterator[Chunk]:
        """A big file's chunks as it is read: plain text block by block, else loaded whole."""
        path = prepared.candidate.stat.abs_path
        if is_streamable(path):
            return self.chunker.iter_chunks(stream_file(path))
        pages = self.load(path)
        prepared.warnings = warnings_of(pages)
        return self.chunker.iter_chunks(iter(pages))


def chunk_metadata(prepared: Prepared, chunk: Chunk) -> ChunkMetadata:
    """The metadata stored with one chunk of a file."""
    meta = ChunkMetadata(
        **path_fields(prepared.path),
        hash=prepared.candidate.content_hash,
        chunk=chunk.index,
        start=chunk.start,
        end=chunk.end,
    )
    if chunk.page is not None:
        meta["page"] = chunk.page
    if chunk.heading:
        meta["heading"] = chunk.heading
    if chunk.title:
        meta["title"] = chunk.title
    return meta


_DONE = object()


def prefetch(items: Iterator[Prepared], depth: int = 4) -> Iterator[Prepared]:
    """Run a generator on a thread, a few items ahead of its consumer."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put(item)
            box.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            box.put(exc)

    worker = threading.Thread(target=produce, name="ingest-parse", daemon=True)
    worker.start()
    try:
        while (item := box.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
