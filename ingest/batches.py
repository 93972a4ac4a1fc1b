"""Writing the files a sync parses: embedded and stored in batches, or streamed if big.

Slicing bounds memory: only ``flush_chunks`` chunks and vectors exist at a time, and
every slice's ids are marked dirty before it is written (``ingest.writer``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from ingest.chunking import Chunk
from ingest.errors import DocumentLoadError
from ingest.manifest import FailureRecord, FileRecord, Manifest
from ingest.plan import Candidate
from ingest.prepare import Prepared, Preparer, chunk_metadata, prefetch
from ingest.report import ProgressCallback, ProgressEvent, SyncReport
from ingest.scan import FileStat
from ingest.timer import StageTimer
from ingest.writer import ChunkWriter
from vectorstore.schema import ChunkRecord, indexed_text

__all__ = ["Embedder", "FileBatches", "record_failure"]


class Embedder(Protocol):
    """Anything with LangChain's ``embed_documents``."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""


class FileBatches:
    """Writes the files that need parsing: batched, or streamed slice by slice if big."""

    def __init__(
        self,
        preparer: Preparer,
        embedder: Embedder,
        flush_chunks: int,
        writer: ChunkWriter,
        report: SyncReport,
        timer: StageTimer,
    ) -> None:
        self.preparer = preparer
        self.embedder = embedder
        self.flush = flush_chunks
        self.writer = writer
        self.report = report
        self.timer = timer

    def fail(self, prepared: Prepared, reason: str, report: SyncReport) -> None:
        """Record a file that could not be indexed; the next sync skips it until it changes."""
        record_failure(self.writer.manifest, prepared.candidate.stat, reason, report)

    def run(self, candidates: list[Candidate], progress: ProgressCallback | None) -> None:
        """Parse (one ahead), embed and store ``candidates``; a bad file is recorded failed."""
        batch: list[Prepared] = []
        tell = _BytesProgress(progress, self.report, len(candidates))
        tell.start(candidates)
        for prepared in prefetch(self.preparer.prepare_all(candidates)):
            tell.prepared(prepared)
            for stage, seconds in prepared.stages.items():
                self.report.stages[stage] += seconds
            if prepared.error is not None:
                self.fail(prepared, prepared.error, self.report)
                tell.written([prepared])
            elif prepared.streamed:
                self._write_batch(batch, tell)
                batch = []
                self._write_streamed(prepared, tell.slice_written)
                tell.streamed(prepared)
            else:
                batch.append(prepared)
            if sum(len(p.chunks) for p in batch) >= self.flush:
                self._write_batch(batch, tell)
                batch = []
            tell.event()
        self._write_batch(batch, tell)

    def _write_batch(self, batch: list[Prepared], tell: _BytesProgress) -> None:
        """Embed and store a batch in slices, then commit its files.

        Slicing bounds memory for one huge file: only ``flush_chunks`` vectors
        exist at a time, and every slice's ids are marked dirty before the write.
        Each slice is told to the progress display as its share of the batch's bytes,
        so that the ETA moves within a 3,000-page manual too.
        """
        if not batch:
            return
        pairs = [(p, c) for p in batch for c in p.chunks]
        for start in range(0, len(pairs), self.flush):
            self._write_slice(pairs[start : start + self.flush])
            tell.share_written(batch, min(start + self.flush, len(pairs)), len(pairs))
        for prepared in batch:
            self._commit(prepared, [prepared.chunk_id(c) for c in prepared.chunks])
        self.writer.repair()
        tell.written(batch)

    def _write_streamed(self, prepared: Prepared, tell: Callable[[int], None]) -> None:
        """Chunk, embed and write a big file slice by slice, then commit it as a whole.

        Only one slice of chunks and vectors exists at a time. If the file turns out to
        be bad part-way, the slices already written are removed (they are marked dirty).
        ``tell(chunks)`` hears of each slice written (the file's chunks so far), for a
        progress display.
        """
        pairs: list[tuple[Prepared, Chunk]] = []
        ids: list[str] = []
        pages: set[int | None] = set()
        try:
            with self.timer("chunk"):
                for chunk in self.preparer.stream_chunks(prepared):
                    pairs.append((prepared, chunk))
                    ids.append(prepared.chunk_id(chunk))
                    pages.add(chunk.page)
                    if len(pairs) >= self.flush:
                        self._write_slice(pairs)
                        pairs = []
                        tell(len(ids))
                self._write_slice(pairs)
        except (DocumentLoadError, MemoryError) as exc:
            reason = exc.reason if isinstance(exc, DocumentLoadError) else "out of memory"
            self.fail(prepared, reason, self.report)
            self.writer.repair()
            return
        if not ids:
            self.fail(prepared, "no extractable text", self.report)
            return
        prepared.pages = len(pages)
        self._commit(prepared, ids)
        self.writer.repair()

    def _write_slice(self, pairs: Sequence[tuple[Prepared, Chunk]]) -> None:
        if not pairs:
            return
        metadatas = [chunk_metadata(p, c) for p, c in pairs]
        texts = [indexed_text(c.text, m) for (_, c), m in zip(pairs, metadatas, strict=True)]
        with self.timer("embed"):
            vectors = self.embedder.embed_documents(texts)
        self.writer.write(
            [
                ChunkRecord(p.chunk_id(c), c.text, meta, vector)
                for (p, c), meta, vector in zip(pairs, metadatas, vectors, strict=True)
            ]
        )

    def _commit(self, prepared: Prepared, ids: list[str]) -> None:
        candidate = prepared.candidate
        stat = candidate.stat
        (self.report.updated if candidate.replaces else self.report.added).append(stat.path)
        record = _file_record(stat, candidate.content_hash, prepared.pages, len(ids))
        self.writer.commit(replace(record, warning="; ".join(prepared.warnings)), ids)
        self.report.chunks_added += len(ids)
        self.report.pages += prepared.pages


def _file_record(stat: FileStat, content_hash: str, pages: int, chunks: int) -> FileRecord:
    """The manifest's record of a file stored whole."""
    return FileRecord(stat.path, stat.size, stat.mtime_ns, content_hash, pages, chunks)


def record_failure(manifest: Manifest, stat: FileStat, reason: str, report: SyncReport) -> None:
    """Record a file that could not be indexed; the next sync skips it until it changes."""
    manifest.record_failure(FailureRecord(stat.path, stat.size, stat.mtime_ns, reason))
    report.failed.append((stat.path, reason))


class _BytesProgress:
    """The progress events of one sync, in bytes of the files' sizes.

    A file counts once its chunks are stored (or it failed); a batch being embedded
    counts the share of its chunks stored so far. The first event comes before any
    file is read, with the total, so a display shows the whole task from the start.
    """

    def __init__(self, callback: ProgressCallback | None, report: SyncReport, files: int) -> None:
        self.callback = callback
        self.report = report
        self.files_total = files
        self.files_done = 0
        self.bytes_total = 0
        self.bytes_written = 0
        self.current = ""

    def start(self, candidates: list[Candidate]) -> None:
        """Tell the total before any file is read."""
        self.bytes_total = sum(c.stat.size for c in candidates)
        self.current = candidates[0].stat.path if candidates else ""
        self.event()

    def prepared(self, prepared: Prepared) -> None:
        """A file was read and chunked (not yet stored), or is about to be streamed."""
        self.current = prepared.path
        if not prepared.streamed:
            self.files_done += 1

    def streamed(self, prepared: Prepared) -> None:
        """A streamed file is read and stored whole."""
        self.files_done += 1
        self.written([prepared])

    def written(self, files: Sequence[Prepared]) -> None:
        """These files are stored or failed: their bytes are done."""
        self.bytes_written += sum(p.candidate.stat.size for p in files)

    def share_written(self, batch: Sequence[Prepared], chunks: int, of: int) -> None:
        """``chunks`` of the batch's ``of`` chunks are stored."""
        size = sum(p.candidate.stat.size for p in batch)
        self.event(size * chunks // max(of, 1), chunks)

    def slice_written(self, chunks: int) -> None:
        """A slice of a streamed file is stored: ``chunks`` of it so far."""
        self.event(chunks=chunks)

    def event(self, extra_bytes: int = 0, chunks: int = 0) -> None:
        """Send the state, with ``extra_bytes`` and ``chunks`` of work in progress."""
        if self.callback is None:
            return
        self.callback(
            ProgressEvent(
                self.files_done,
                self.files_total,
                self.report.chunks_added + chunks,
                self.current,
                min(self.bytes_written + extra_bytes, self.bytes_total),
                self.bytes_total,
            )
        )
