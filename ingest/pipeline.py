"""Incremental sync of a documents folder into the vector store.

One run compares the folder with the manifest (``ingest.plan``) and does the least work
that brings the index up to date: unchanged files are not parsed, a moved or copied file
reuses its stored vectors (``ingest.reuse``), a changed file's chunks are replaced, a
deleted file's chunks are removed. Files are parsed one ahead, on a thread, in a worker
process (``ingest.loaders.isolated``), while the previous batch is embedded. Every write
goes through one ``ChunkWriter`` (``ingest.writer``), which keeps it crash-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ingest.chunking import Chunk, TokenChunker
from ingest.errors import DocumentLoadError, EmptyFolder, FolderMismatch, IndexMismatch
from ingest.exclusions import read_excluded, write_excluded
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from ingest.lock import WriterLock
from ingest.manifest import FailureRecord, FileRecord, IndexFingerprint, Manifest
from ingest.plan import Candidate, SyncPlan, plan_sync
from ingest.prepare import Loader, Prepared, Preparer, chunk_metadata, prefetch
from ingest.reuse import reuse_stored
from ingest.scan import FileStat, hash_file, scan_folder
from ingest.timer import StageTimer
from ingest.writer import ChunkStore, ChunkWriter, KeywordRebuilder
from vectorstore.schema import ChunkRecord, indexed_text

__all__ = [
    "ChunkStore",
    "Embedder",
    "Indexer",
    "KeywordRebuilder",
    "ProgressCallback",
    "ProgressEvent",
    "SyncReport",
]

STAGES = ("scan", "parse", "chunk", "embed", "write", "keyword")


class Embedder(Protocol):
    """Anything with LangChain's ``embed_documents``."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""


@dataclass
class SyncReport:
    """What a sync did; ``to_json`` is the CLI's ``--json`` contract.

    ``failed`` and ``warnings`` cover the whole index after the sync, not only the files
    read in it: a bad file stays failed, and a file indexed only in part (a damaged PDF,
    OCR stopped at its limit) keeps its warning, until the file changes.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    pages: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def changed(self) -> bool:
        """Whether the stored chunks differ from before the sync."""
        return bool(self.added or self.updated or self.moved or self.deleted)

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON types, paths relative to the documents folder."""
        return {
            "added": self.added,
            "updated": self.updated,
            "moved": [{"from": a, "to": b} for a, b in self.moved],
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "failed": [{"file": f, "reason": r} for f, r in self.failed],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"file": f, "reason": r} for f, r in self.warnings],
            "chunks_added": self.chunks_added,
            "chunks_reused": self.chunks_reused,
            "chunks_total": self.chunks_total,
            "pages": self.pages,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of the files that need parsing (the slow part of a sync).

    ``bytes_done`` of ``bytes_total`` (the files' sizes) gives an ETA where a count of
    files cannot (one 3,000-page manual among small notes): the first event, before any
    file is read, holds the total, and the bytes of a file grow as its chunks are stored.
    """

    files_done: int
    files_total: int
    chunks_done: int
    current: str
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[ProgressEvent], None]


class Indexer:
    """Keeps a store and its manifest in step with a documents folder.

    Args:
        store: where chunks and vectors are written.
        embedder: turns chunk texts into vectors; only called for new content.
        chunker: splits loaded pages into token-sized chunks.
        manifest: the commit log of what is indexed.
        fingerprint: embedding model and chunking settings the index is built with.
        keyword_index: brought up to date after every change, if given.
        max_file_bytes: larger files fail with a reason instead of being read.
        stream_file_bytes: larger files are chunked, embedded and written piece by piece
            (``stream_file``), in the main thread, instead of being prepared whole.
        flush_chunks: chunks gathered before one embedding call and one write.
        parse_limits: memory, time and size limits of the parser worker process.
        loader: reads a file into pages; default: ``load_file`` in a worker process
            within ``parse_limits``. ``load_file`` itself parses in this process.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        chunker: TokenChunker,
        manifest: Manifest,
        fingerprint: IndexFingerprint | dict[str, str],
        keyword_index: KeywordRebuilder | None = None,
        max_file_bytes: int = 256 << 20,
        stream_file_bytes: int = 16 << 20,
        flush_chunks: int = 256,
        parse_limits: ParseLimits | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.manifest = manifest
        self.fingerprint = IndexFingerprint.of(fingerprint)
        self.keyword_index = keyword_index
        self.flush_chunks = flush_chunks
        self.loader = loader or IsolatedLoader.shared(parse_limits)
        self.preparer = Preparer(self.loader, chunker, max_file_bytes, stream_file_bytes)

    # --- public ------------------------------------------------------------
    def sync(
        self,
        folder: Path,
        progress: ProgressCallback | None = None,
        *,
        allow_new_folder: bool = False,
        hold: Collection[str] = frozenset(),
        allow_empty: bool | None = None,
    ) -> SyncReport:
        """Bring the index up to date with ``folder``; one bad file never stops the run.

        Args:
            folder: the documents folder.
            progress: told of each file parsed, and of each slice of a streamed file.
            allow_new_folder: index ``folder`` although the index was built from another
                one (the folder was moved, or the user said ``--force``).
            hold: paths (relative) still being written: left as they are in the index,
                neither read nor deleted (the watcher syncs them once they settle).
            allow_empty: sync an empty folder into an index that holds files, deleting
                them all; default: as ``allow_new_folder``.

        Raises:
            DocumentLoadError: ``folder`` is missing or not a folder (never read as empty,
                which would delete every indexed file).
            FolderMismatch: the index was built from another folder.
            EmptyFolder: the folder is empty while the index holds files (an empty mount
                point), and ``allow_empty`` is not set.
            IndexMismatch: the index was built with another embedding model.
            IndexLocked: another process is writing to the index.
        """
        started = time.perf_counter()
        report = SyncReport()
        timer = StageTimer(report.stages)
        with self._writer_lock():
            writer = self._writer(timer)
            with timer("scan"):
                writer.start()
                plan = self._plan(folder, _Scope(allow_new_folder, hold, allow_empty), report)
            if plan.changes_chunks:
                self.manifest.keywords_current = False  # until the keyword commit
            with timer("write"):
                remaining = self._reuse(plan, report, writer)
            firsts, twins = _split_twins(remaining)
            _Batches(self, writer, report, timer).run(firsts, progress)
            with timer("write"):
                leftover = self._reuse_twins(twins, report, writer)
            if leftover:  # the first of their content failed: each is read itself
                _Batches(self, writer, report, timer).run(leftover, progress)
            self._delete_vanished(plan, report, writer)
            self._finish(folder, plan, report, writer, timer)
        report.chunks_total = self.manifest.chunk_count()
        report.warnings = sorted(self.manifest.warnings().items())
        report.failed.sort()
        report.seconds = time.perf_counter() - started
        return report

    def repair(self) -> int:
        """Delete chunks a killed run wrote without committing; returns how many."""
        return self._writer(StageTimer()).repair()

    def exclude(self, path: str) -> int:
        """Take a file out of the index and keep it out (it stays in the folder).

        Returns how many chunks were removed. Later syncs skip it until ``include``.
        """
        with self._writer_lock():
            index_dir = self.manifest.path.parent
            write_excluded(index_dir, read_excluded(index_dir) | {path})
        return self.remove(path)

    def include(self, path: str) -> bool:
        """Let an excluded file be indexed again by the next sync; False if it was not out."""
        with self._writer_lock():
            index_dir = self.manifest.path.parent
            excluded = read_excluded(index_dir)
            if path not in excluded:
                return False
            write_excluded(index_dir, excluded - {path})
        return True

    def excluded(self) -> list[str]:
        """The files taken out of the index, by path."""
        return sorted(read_excluded(self.manifest.path.parent))

    def remove(self, path: str) -> int:
        """Remove one file's chunks (the file itself is the caller's); returns how many."""
        with self._writer_lock():
            writer = self._writer(StageTimer())
            count = len(self.manifest.chunk_ids(path))
            writer.remove(path)
            writer.repair()
            self.store.publish()
            if count:
                writer.commit_keywords()
        return count

    # --- steps of a sync ---------------------------------------------------------
    def _writer_lock(self) -> WriterLock:
        return WriterLock.for_index(self.manifest.path.parent)

    def _writer(self, timer: StageTimer) -> ChunkWriter:
        return ChunkWriter(self.store, self.manifest, self.keyword_index, timer)

    def _plan(self, folder: Path, scope: _Scope, report: SyncReport) -> SyncPlan:
        rechunk = self._check_fingerprint()
        self._check_folder(folder, scope.allow_new_folder)
        scan = scan_folder(folder, read_excluded(self.manifest.path.parent))
        report.skipped = scan.skipped
        records = self.manifest.files()
        self._check_not_emptied(folder, scan.files, records, scope)
        files = [f for f in scan.files if f.path not in scope.hold]
        held = {p: r for p, r in records.items() if p in scope.hold}
        kept = {p: r for p, r in records.items() if p not in held}
        plan = plan_sync(files, kept, _hash, self.manifest.failures(), rechunk)
        plan.seen.update(scope.hold)
        for stat in plan.touched:
            self.manifest.touch(stat.path, stat.size, stat.mtime_ns)
        for stat, reason in plan.unreadable:
            self._fail(stat, reason, report)
        report.failed.extend(plan.known_failures)
        report.unchanged = plan.unchanged
        return plan

    def _check_fingerprint(self) -> bool:
        """Refuse another embedding model; re-chunk everything if chunking changed."""
        stored_model = self.manifest.embedding_model
        if stored_model and stored_model != self.fingerprint.embedding_model:
            raise IndexMismatch(
                f"this index was built with the embedding model {stored_model!r}, not "
                f"{self.fingerprint.embedding_model!r}: run `gpt4all-rag ingest --rebuild` "
                "(builds the new index beside this one), `gpt4all-rag reset --yes`, "
                "or use another --index folder"
            )
        stored = self.manifest.fingerprint
        return stored is not None and stored.chunking != self.fingerprint.chunking

    def _check_folder(self, folder: Path, allow_new_folder: bool) -> None:
        """Refuse a missing folder, and a folder other than the one the index was built from.

        A missing folder (an unmounted drive) would read as empty and delete every file
        from the index; another folder would replace the index's files with its own.
        """
        if not folder.is_dir():
            raise DocumentLoadError(folder, "not a folder (create it and put documents in it)")
        stored = self.manifest.documents_folder
        if stored is not None and stored != folder.resolve() and not allow_new_folder:
            raise FolderMismatch(stored, folder.resolve())

    def _check_not_emptied(
        self, folder: Path, files: list[FileStat], records: dict[str, FileRecord], scope: _Scope
    ) -> None:
        """Refuse to delete every indexed file because the folder reads as empty.

        An empty mount point (a drive not mounted yet) looks like a folder whose files
        were all deleted; the index would be emptied, and rebuilt at length later.
        """
        allow = scope.allow_new_folder if scope.allow_empty is None else scope.allow_empty
        if files or not records or allow:
            return
        raise EmptyFolder(folder.resolve(), len(records))

    def _reuse(self, plan: SyncPlan, report: SyncReport, writer: ChunkWriter) -> list[Candidate]:
        """Index files whose content is already stored by copying vectors; return the rest."""
        remaining = []
        for candidate in plan.candidates:
            reused = None if plan.rechunk else reuse_stored(candidate, writer)
            if reused is None:
                if candidate.moves and candidate.source is not None:  # not moved after all
                    plan.vanished[candidate.source.path] = candidate.source
                remaining.append(candidate)
                continue
            report.chunks_reused += reused
            _report_reuse(candidate, report)
        return remaining

    def _reuse_twins(
        self, twins: list[Candidate], report: SyncReport, writer: ChunkWriter
    ) -> list[Candidate]:
        """Index copies of a file written in this run from its stored vectors; return the rest."""
        stored = {r.content_hash: r for r in self.manifest.files().values()}
        leftover = []
        for twin in twins:
            source = stored.get(twin.content_hash)
            reused = None
            if source is not None:
                reused = reuse_stored(replace(twin, source=source, moves=False), writer)
            if reused is None:
                leftover.append(twin)
                continue
            report.chunks_reused += reused
            (report.updated if twin.replaces else report.added).append(twin.stat.path)
        return leftover

    def _delete_vanished(self, plan: SyncPlan, report: SyncReport, writer: ChunkWriter) -> None:
        for candidate in plan.candidates:
            source = candidate.source
            if candidate.moves and source is not None and source.path not in plan.vanished:
                writer.remove(source.path)  # moved: its chunks now belong to the new path
        for path in sorted(plan.vanished):
            writer.remove(path)
            report.deleted.append(path)
        writer.repair()

    def _finish(
        self,
        folder: Path,
        plan: SyncPlan,
        report: SyncReport,
        writer: ChunkWriter,
        timer: StageTimer,
    ) -> None:
        """Record what the index now is, publish it, rebuild keywords, stamp the sync."""
        self.manifest.forget_failures(keep=plan.seen)
        self.manifest.fingerprint = self.fingerprint
        self.manifest.documents_folder = folder
        self.store.publish()  # before the keyword rebuild: its ids must be readable
        if self.keyword_index is not None and (
            report.changed or not self.manifest.keywords_current or not self.keyword_index.exists()
        ):
            with timer("keyword"):
                writer.commit_keywords()
        self.manifest.last_sync = datetime.now(UTC)

    def _fail(self, stat: FileStat, reason: str, report: SyncReport) -> None:
        _record_failure(self.manifest, stat, reason, report)


class _Batches:
    """Writes the files that need parsing: batched, or streamed slice by slice if big."""

    def __init__(
        self, indexer: Indexer, writer: ChunkWriter, report: SyncReport, timer: StageTimer
    ) -> None:
        self.indexer = indexer
        self.writer = writer
        self.report = report
        self.timer = timer
        self.flush = indexer.flush_chunks

    def fail(self, prepared: Prepared, reason: str, report: SyncReport) -> None:
        """Record a file that could not be indexed; the next sync skips it until it changes."""
        _record_failure(self.indexer.manifest, prepared.candidate.stat, reason, report)

    def run(self, candidates: list[Candidate], progress: ProgressCallback | None) -> None:
        batch: list[Prepared] = []
        preparer = self.indexer.preparer
        tell = _Progress(progress, self.report, len(candidates))
        tell.start(candidates)
        for prepared in prefetch(preparer.prepare_all(candidates)):
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

    def _write_batch(self, batch: list[Prepared], tell: _Progress) -> None:
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
                for chunk in self.indexer.preparer.stream_chunks(prepared):
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
            vectors = self.indexer.embedder.embed_documents(texts)
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


def _split_twins(candidates: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """The first file of each content, and the later files with the same content.

    Two identical files in one run (``refman.pdf`` and its copy) are read and embedded
    once: the copies reuse the first one's vectors once it is written.
    """
    firsts: list[Candidate] = []
    twins: list[Candidate] = []
    seen: set[str] = set()
    for candidate in candidates:
        (twins if candidate.content_hash in seen else firsts).append(candidate)
        seen.add(candidate.content_hash)
    return firsts, twins


@dataclass(frozen=True)
class _Scope:
    """What a sync may do beyond the ordinary: the caller's permissions and held files."""

    allow_new_folder: bool
    hold: Collection[str]
    allow_empty: bool | None


def _file_record(stat: FileStat, content_hash: str, pages: int, chunks: int) -> FileRecord:
    return FileRecord(stat.path, stat.size, stat.mtime_ns, content_hash, pages, chunks)


def _record_failure(manifest: Manifest, stat: FileStat, reason: str, report: SyncReport) -> None:
    manifest.record_failure(FailureRecord(stat.path, stat.size, stat.mtime_ns, reason))
    report.failed.append((stat.path, reason))


def _report_reuse(candidate: Candidate, report: SyncReport) -> None:
    path = candidate.stat.path
    if candidate.replaces:
        report.updated.append(path)
    elif candidate.moves and candidate.source is not None:
        report.moved.append((candidate.source.path, path))
    else:
        report.added.append(path)


class _Progress:
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


def _hash(stat: FileStat) -> str:
    return hash_file(stat.abs_path)
