"""Incremental sync of a documents folder into the vector store.

One run compares the folder with the manifest and does the least work that
brings the index up to date: unchanged files are not parsed, a moved or copied
file reuses its stored vectors, a changed file's chunks are replaced, a deleted
file's chunks are removed. Parsing and chunking run one file ahead, on a
thread, while the previous batch is embedded.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ingest.chunking import Chunk, TokenChunker, chunk_id_for
from ingest.errors import DocumentLoadError, IndexLocked, IndexMismatch
from ingest.loaders import Page, load_file, stream_file
from ingest.manifest import FailureRecord, FileRecord, Manifest
from ingest.scan import FileStat, hash_file, scan_folder

__all__ = ["Indexer", "ProgressEvent", "SyncReport", "ChunkStore", "KeywordRebuilder"]


_KEYWORDS = "keywords"  # manifest meta: "current" once the keyword index matches the chunks


class ChunkStore(Protocol):
    """What the pipeline needs of a vector store (``vectorstore.chroma.ChromaStore``)."""

    def upsert(self, ids: Any, embeddings: Any, texts: Any, metadatas: Any) -> None:
        """Write chunks by id (idempotent)."""

    def delete(self, ids: Any) -> None:
        """Delete chunks by id."""

    def get(self, ids: Any, with_embeddings: bool = False) -> list[Any]:
        """Fetch chunks by id."""

    def publish(self) -> None:
        """Make the writes so far visible to other processes (they are complete)."""


class Embedder(Protocol):
    """Anything with LangChain's ``embed_documents``."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""


class KeywordRebuilder(Protocol):
    """A keyword index brought up to date after a change (``vectorstore.keyword``)."""

    def stage(self, ids: Any, texts: Any, metadatas: Any) -> None:
        """Take note of chunks just written."""

    def discard_staged(self) -> None:
        """Forget chunks taken note of and not committed."""

    def commit(self, ids: Any, fetch: Any) -> None:
        """Index exactly ``ids``; ``fetch(ids)`` reads chunks it has no tokens for."""

    def exists(self) -> bool:
        """Whether an index was built."""


@dataclass
class SyncReport:
    """What a sync did; ``to_json`` is the CLI's ``--json`` contract."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    pages: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("scan", "parse", "chunk", "embed", "write", "keyword"), 0.0
        )
    )

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
            "chunks_added": self.chunks_added,
            "chunks_reused": self.chunks_reused,
            "chunks_total": self.chunks_total,
            "pages": self.pages,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of the files that need parsing (the slow part of a sync)."""

    files_done: int
    files_total: int
    chunks_done: int
    current: str


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class _Prepared:
    """A parsed and chunked file, or the reason it failed."""

    stat: FileStat
    content_hash: str
    pages: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    error: str | None = None
    streamed: bool = False  # too big to prepare whole: chunked while it is written
    parse_s: float = 0.0
    chunk_s: float = 0.0

    def chunk_id(self, chunk: Chunk) -> str:
        """The deterministic id of one of this file's chunks."""
        return chunk_id_for(self.stat.path, self.content_hash, chunk.index)


@dataclass
class _Plan:
    """What a sync has to do, decided before any parsing."""

    candidates: list[tuple[FileStat, str]] = field(default_factory=list)
    vanished: dict[str, FileRecord] = field(default_factory=dict)
    moved_away: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    indexed_before: set[str] = field(default_factory=set)
    rechunk: bool = False  # chunking settings changed: stored vectors cannot be reused


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
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        chunker: TokenChunker,
        manifest: Manifest,
        fingerprint: dict[str, str],
        keyword_index: KeywordRebuilder | None = None,
        max_file_bytes: int = 256 << 20,
        stream_file_bytes: int = 16 << 20,
        flush_chunks: int = 256,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.manifest = manifest
        self.fingerprint = fingerprint
        self.keyword_index = keyword_index
        self.max_file_bytes = max_file_bytes
        self.stream_file_bytes = stream_file_bytes
        self.flush_chunks = flush_chunks

    # --- public ------------------------------------------------------------
    def sync(self, folder: Path, progress: ProgressCallback | None = None) -> SyncReport:
        """Bring the index up to date with ``folder``; one bad file never stops the run."""
        started = time.perf_counter()
        report = SyncReport()
        with self._writer_lock():
            self.repair()
            if self.keyword_index is not None:
                self.keyword_index.discard_staged()
            force = self._check_fingerprint()
            scan = scan_folder(folder)
            report.skipped = scan.skipped
            plan = self._plan(scan.files, report, force)
            if plan.candidates or plan.vanished:
                self.manifest.set_meta(_KEYWORDS, "stale")  # until _refresh_keywords
            report.stages["scan"] = time.perf_counter() - started
            remaining = self._reuse_stored(plan, report)
            self._index_new(remaining, plan, report, progress)
            self._delete_vanished(plan, report)
            self.manifest.forget_failures(keep=plan.seen)
            self._save_fingerprint()
            self.store.publish()  # before the keyword rebuild: its ids must be readable
            self._refresh_keywords(report)
        report.chunks_total = self.manifest.chunk_count()
        report.failed.sort()
        report.seconds = time.perf_counter() - started
        return report

    def repair(self) -> int:
        """Delete chunks a killed run wrote without committing; returns how many."""
        stale = self.manifest.stale_ids()
        self.store.delete(stale)
        self.manifest.clear_dirty()
        return len(stale)

    def remove(self, path: str) -> int:
        """Remove one file's chunks (the file itself is the caller's); returns how many."""
        with self._writer_lock():
            count = len(self.manifest.chunk_ids(path))
            self.manifest.remove_file(path)
            self.repair()
            self.store.publish()
            if count:
                self._commit_keywords()
        return count

    # --- locking and fingerprint ----------------------------------------------
    def _writer_lock(self) -> Any:
        return _FileLock(self.manifest.path.with_name("ingest.lock"))

    def _check_fingerprint(self) -> bool:
        """Refuse another embedding model; re-chunk everything if chunking changed."""
        stored_model = self.manifest.get_meta("embedding_model")
        if stored_model and stored_model != self.fingerprint["embedding_model"]:
            raise IndexMismatch(
                f"this index was built with the embedding model {stored_model!r}, not "
                f"{self.fingerprint['embedding_model']!r}: run `gpt4all-rag reset --yes` "
                "or use another --index folder"
            )
        stored_chunking = self.manifest.get_meta("chunking")
        return stored_chunking is not None and stored_chunking != self.fingerprint["chunking"]

    def _save_fingerprint(self) -> None:
        for key, value in self.fingerprint.items():
            self.manifest.set_meta(key, value)

    # --- planning ---------------------------------------------------------
    def _plan(self, files: list[FileStat], report: SyncReport, force: bool) -> _Plan:
        indexed = self.manifest.files()
        failures = self.manifest.failures()
        plan = _Plan(indexed_before=set(indexed), rechunk=force)
        for stat in files:
            plan.seen.add(stat.path)
            self._plan_file(
                stat, indexed.get(stat.path), failures.get(stat.path), force, plan, report
            )
        plan.vanished = {p: r for p, r in indexed.items() if p not in plan.seen}
        return plan

    def _plan_file(
        self,
        stat: FileStat,
        record: FileRecord | None,
        failure: FailureRecord | None,
        force: bool,
        plan: _Plan,
        report: SyncReport,
    ) -> None:
        if not force and record and (record.size, record.mtime_ns) == (stat.size, stat.mtime_ns):
            report.unchanged += 1
            return
        if failure and (failure.size, failure.mtime_ns) == (stat.size, stat.mtime_ns):
            report.failed.append((stat.path, failure.reason))
            return
        try:
            content_hash = hash_file(stat.abs_path)
        except OSError as exc:
            self._fail(stat, _os_reason(exc), report)
            return
        if not force and record and record.content_hash == content_hash:
            self.manifest.touch(stat.path, stat.size, stat.mtime_ns)
            report.unchanged += 1
            return
        plan.candidates.append((stat, content_hash))

    # --- reuse of stored vectors (moves and copies) ---------------------------
    def _reuse_stored(self, plan: _Plan, report: SyncReport) -> list[tuple[FileStat, str]]:
        """Index files whose content is already stored by copying vectors; return the rest."""
        if plan.rechunk:
            return plan.candidates
        by_hash = {r.content_hash: r for r in self.manifest.files().values()}
        by_hash.update({r.content_hash: r for r in plan.vanished.values()})
        remaining = []
        for stat, content_hash in plan.candidates:
            source = by_hash.get(content_hash)
            if source is None or not self._copy_chunks(source, stat, content_hash, report):
                remaining.append((stat, content_hash))
                continue
            self._classify_reuse(stat, source, plan, report)
        return remaining

    def _classify_reuse(
        self, stat: FileStat, source: FileRecord, plan: _Plan, report: SyncReport
    ) -> None:
        if stat.path in plan.indexed_before:
            report.updated.append(stat.path)
        elif plan.vanished.pop(source.path, None) is not None:
            plan.moved_away.append(source.path)
            report.moved.append((source.path, stat.path))
        else:
            report.added.append(stat.path)

    def _copy_chunks(
        self, source: FileRecord, stat: FileStat, content_hash: str, report: SyncReport
    ) -> bool:
        started = time.perf_counter()
        old_ids = self.manifest.chunk_ids(source.path)
        stored = self.store.get(old_ids, with_embeddings=True)
        if not old_ids or len(stored) != len(old_ids):
            return False  # the store lost some: parse the file again instead
        new_ids = [chunk_id_for(stat.path, content_hash, n) for n in range(len(stored))]
        metadatas = [_relabel(c.metadata, stat.path) for c in stored]
        self.manifest.mark_dirty(new_ids)
        texts = [c.text for c in stored]
        self.store.upsert(new_ids, [c.embedding for c in stored], texts, metadatas)
        if self.keyword_index is not None:
            self.keyword_index.stage(new_ids, texts, metadatas)
        record = FileRecord(
            stat.path, stat.size, stat.mtime_ns, content_hash, source.pages, len(new_ids)
        )
        self.manifest.commit_file(record, new_ids)
        report.chunks_reused += len(new_ids)
        report.stages["write"] += time.perf_counter() - started
        return True

    # --- new content --------------------------------------------------------
    def _index_new(
        self,
        candidates: list[tuple[FileStat, str]],
        plan: _Plan,
        report: SyncReport,
        progress: ProgressCallback | None,
    ) -> None:
        batch: list[_Prepared] = []
        for done, prepared in enumerate(_prefetch(self._prepare_all(candidates)), start=1):
            report.stages["parse"] += prepared.parse_s
            report.stages["chunk"] += prepared.chunk_s
            if prepared.error is not None:
                self._fail(prepared.stat, prepared.error, report)
            elif prepared.streamed:
                self._write_batch(batch, plan, report)
                batch = []
                tell = _slice_progress(progress, done - 1, len(candidates), prepared.stat.path)
                self._write_streamed(prepared, plan, report, tell)
            else:
                batch.append(prepared)
            if sum(len(p.chunks) for p in batch) >= self.flush_chunks:
                self._write_batch(batch, plan, report)
                batch = []
            if progress is not None:
                progress(
                    ProgressEvent(done, len(candidates), report.chunks_added, prepared.stat.path)
                )
        self._write_batch(batch, plan, report)

    def _prepare_all(self, candidates: list[tuple[FileStat, str]]) -> Iterator[_Prepared]:
        for stat, content_hash in candidates:
            yield self._prepare(stat, content_hash)

    def _prepare(self, stat: FileStat, content_hash: str) -> _Prepared:
        prepared = _Prepared(stat, content_hash)
        if stat.size > self.max_file_bytes:
            limit_mb = self.max_file_bytes / (1 << 20)
            prepared.error = f"file too large ({stat.size / (1 << 20):.0f} MB > {limit_mb:.0f} MB)"
            return prepared
        if stat.size > self.stream_file_bytes:
            prepared.streamed = True
            return prepared
        started = time.perf_counter()
        try:
            pages: list[Page] = load_file(stat.abs_path)
        except DocumentLoadError as exc:
            prepared.error = exc.reason
            return prepared
        finally:
            prepared.parse_s = time.perf_counter() - started
        started = time.perf_counter()
        prepared.pages = len(pages)
        prepared.chunks = self.chunker.split(pages)
        prepared.chunk_s = time.perf_counter() - started
        if not prepared.chunks:
            prepared.error = "no extractable text"
        return prepared

    def _write_batch(self, batch: list[_Prepared], plan: _Plan, report: SyncReport) -> None:
        """Embed and store a batch in slices, then commit its files.

        Slicing bounds memory for one huge file: only ``flush_chunks`` vectors
        exist at a time, and every slice's ids are marked dirty before the write.
        """
        if not batch:
            return
        pairs = [(p, c) for p in batch for c in p.chunks]
        for start in range(0, len(pairs), self.flush_chunks):
            self._write_slice(pairs[start : start + self.flush_chunks], report)
        started = time.perf_counter()
        for prepared in batch:
            self._commit(prepared, [prepared.chunk_id(c) for c in prepared.chunks], plan, report)
        self.repair()
        report.stages["write"] += time.perf_counter() - started

    def _write_streamed(
        self,
        prepared: _Prepared,
        plan: _Plan,
        report: SyncReport,
        tell: Callable[[int], None] = lambda _chunks: None,
    ) -> None:
        """Chunk, embed and write a big file slice by slice, then commit it as a whole.

        Only one slice of chunks and vectors exists at a time. If the file turns out to
        be bad part-way, the slices already written are removed (they are marked dirty).
        ``tell(chunks)`` hears of each slice written, for a progress display.
        """
        started = time.perf_counter()
        before = report.stages["embed"] + report.stages["write"]
        pairs: list[tuple[_Prepared, Chunk]] = []
        ids: list[str] = []
        pages: set[int | None] = set()
        try:
            for chunk in self.chunker.iter_chunks(stream_file(prepared.stat.abs_path)):
                pairs.append((prepared, chunk))
                ids.append(prepared.chunk_id(chunk))
                pages.add(chunk.page)
                if len(pairs) >= self.flush_chunks:
                    self._write_slice(pairs, report)
                    pairs = []
                    tell(report.chunks_added + len(ids))
            self._write_slice(pairs, report)
        except DocumentLoadError as exc:
            self._fail(prepared.stat, exc.reason, report)
            self.repair()
            return
        finally:
            spent = report.stages["embed"] + report.stages["write"] - before
            report.stages["chunk"] += time.perf_counter() - started - spent
        if not ids:
            self._fail(prepared.stat, "no extractable text", report)
            return
        prepared.pages = len(pages)
        self._commit(prepared, ids, plan, report)
        self.repair()

    def _write_slice(self, pairs: list[tuple[_Prepared, Chunk]], report: SyncReport) -> None:
        if not pairs:
            return
        texts = [c.text for _, c in pairs]
        started = time.perf_counter()
        vectors = self.embedder.embed_documents(texts)
        report.stages["embed"] += time.perf_counter() - started
        started = time.perf_counter()
        ids = [p.chunk_id(c) for p, c in pairs]
        metadatas = [_metadata(p, c) for p, c in pairs]
        self.manifest.mark_dirty(ids)
        self.store.upsert(ids, vectors, texts, metadatas)
        if self.keyword_index is not None:
            self.keyword_index.stage(ids, texts, metadatas)
        report.stages["write"] += time.perf_counter() - started

    def _commit(self, prepared: _Prepared, ids: list[str], plan: _Plan, report: SyncReport) -> None:
        stat = prepared.stat
        (report.updated if stat.path in plan.indexed_before else report.added).append(stat.path)
        record = FileRecord(
            stat.path, stat.size, stat.mtime_ns, prepared.content_hash, prepared.pages, len(ids)
        )
        self.manifest.commit_file(record, ids)
        report.chunks_added += len(ids)
        report.pages += prepared.pages

    # --- deletions, failures, keywords ----------------------------------------
    def _delete_vanished(self, plan: _Plan, report: SyncReport) -> None:
        for path in plan.moved_away:
            self.manifest.remove_file(path)
        for path in sorted(plan.vanished):
            self.manifest.remove_file(path)
            report.deleted.append(path)
        self.repair()

    def _fail(self, stat: FileStat, reason: str, report: SyncReport) -> None:
        self.manifest.record_failure(FailureRecord(stat.path, stat.size, stat.mtime_ns, reason))
        report.failed.append((stat.path, reason))

    def _refresh_keywords(self, report: SyncReport) -> None:
        if self.keyword_index is None:
            return
        current = self.manifest.get_meta(_KEYWORDS) == "current"
        if report.changed or not current or not self.keyword_index.exists():
            started = time.perf_counter()
            self._commit_keywords()
            report.stages["keyword"] = time.perf_counter() - started

    def _commit_keywords(self) -> None:
        """Index the committed chunks: staged tokens, saved ones, else read from the store."""
        if self.keyword_index is None:
            return
        self.keyword_index.commit(self.manifest.all_chunk_ids(), self.store.get)
        self.manifest.set_meta(_KEYWORDS, "current")


def _slice_progress(
    progress: ProgressCallback | None, files_done: int, files_total: int, path: str
) -> Callable[[int], None]:
    """Progress events for the slices of one streamed file: its chunks so far."""

    def tell(chunks_done: int) -> None:
        if progress is not None:
            progress(ProgressEvent(files_done, files_total, chunks_done, path))

    return tell


def _path_fields(path: str) -> dict[str, str]:
    """The metadata that follows a file's path (and changes when it moves)."""
    return {
        "path": path,
        "source": Path(path).name,
        "folder": Path(path).parent.as_posix() if "/" in path else "",
        "ext": Path(path).suffix.lower(),
    }


def _metadata(prepared: _Prepared, chunk: Chunk) -> dict[str, str | int]:
    meta: dict[str, str | int] = {
        **_path_fields(prepared.stat.path),
        "hash": prepared.content_hash,
        "chunk": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def _relabel(metadata: dict[str, Any], path: str) -> dict[str, Any]:
    return {**metadata, **_path_fields(path)}


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file: {exc.strerror or exc}"


_DONE = object()


def _prefetch(items: Iterator[_Prepared], depth: int = 4) -> Iterator[_Prepared]:
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


class _FileLock:
    """An exclusive, non-blocking lock: a second ingest on one index is refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise IndexLocked(
                f"another ingest is writing to {self.path.parent}; try again later"
            ) from exc
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
