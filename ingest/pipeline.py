"""Incremental sync of a documents folder into the vector store.

One run compares the folder with the manifest (``ingest.plan``) and does the least work
that brings the index up to date: unchanged files are not parsed, a moved or copied file
reuses its stored vectors (``ingest.reuse``), a changed file's chunks are replaced, a
deleted file's chunks are removed. Files are parsed one ahead, on a thread, in a worker
process (``ingest.loaders.isolated``), while the previous batch is embedded
(``ingest.batches``). Every write goes through one ``ChunkWriter`` (``ingest.writer``),
which keeps it crash-safe. A sync refuses what would wreck an index (``ingest.guards``)
and says what it did (``ingest.report``).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ingest.batches import Embedder, FileBatches, record_failure
from ingest.chunking import TokenChunker
from ingest.errors import ReadOnlyIndex
from ingest.exclusions import read_excluded, write_excluded
from ingest.guards import check_fingerprint, check_folder, check_not_emptied
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from ingest.lock import WriterLock
from ingest.manifest import IndexFingerprint, Manifest
from ingest.plan import Candidate, SyncPlan, plan_sync
from ingest.prepare import Loader, Preparer
from ingest.publish import Publisher
from ingest.report import ProgressCallback, SyncReport
from ingest.reuse import reuse_stored
from ingest.scan import FileStat, hash_file, scan_folder
from ingest.timer import StageTimer
from ingest.writer import ChunkStore, ChunkWriter, KeywordRebuilder

__all__ = ["Indexer"]


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
        publisher: publishes the manifest and keyword index as a new generation after
            every change, for replicas on other machines (``ingest.publish``).
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
        publisher: Publisher | None = None,
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
        self.publisher = publisher

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
            ReadOnlyIndex: this process reads a published index (a replica).
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
            self._batches(writer, report, timer).run(firsts, progress)
            with timer("write"):
                leftover = self._reuse_twins(twins, report, writer)
            if leftover:  # the first of their content failed: each is read itself
                self._batches(writer, report, timer).run(leftover, progress)
            self._delete_vanished(plan, report, writer)
            self._finish(folder, plan, report, writer, timer)
            self._publish(timer)
        report.chunks_total = self.manifest.chunk_count()
        report.warnings = sorted(self.manifest.warnings().items())
        report.failed.sort()
        report.seconds = time.perf_counter() - started
        return report

    def repair(self) -> int:
        """Delete chunks a killed run wrote without committing; returns how many."""
        self.check_writable()
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
            self._publish(StageTimer())
        return count

    # --- steps of a sync ---------------------------------------------------------
    def check_writable(self) -> None:
        """Refuse every write in a replica, before anything is touched.

        Raises:
            ReadOnlyIndex: the manifest is a published generation's copy.
        """
        if self.manifest.read_only:
            raise ReadOnlyIndex(
                f"this process reads the index published in {self.manifest.path.parent} "
                "(a replica) and never writes it: ingest, remove and reset on the writer"
            )

    def _writer_lock(self) -> WriterLock:
        self.check_writable()
        return WriterLock.for_index(self.manifest.path.parent)

    def _publish(self, timer: StageTimer) -> None:
        """A new generation for replicas, when the index changed since the last one."""
        if self.publisher is not None:
            with timer("publish"):
                self.publisher.publish_if_behind(self.manifest)

    def _writer(self, timer: StageTimer) -> ChunkWriter:
        return ChunkWriter(self.store, self.manifest, self.keyword_index, timer)

    def _batches(self, writer: ChunkWriter, report: SyncReport, timer: StageTimer) -> FileBatches:
        return FileBatches(self.preparer, self.embedder, self.flush_chunks, writer, report, timer)

    def _plan(self, folder: Path, scope: _Scope, report: SyncReport) -> SyncPlan:
        rechunk = check_fingerprint(self.manifest, self.fingerprint)
        check_folder(self.manifest, folder, scope.allow_new_folder)
        scan = scan_folder(folder, read_excluded(self.manifest.path.parent))
        report.skipped = scan.skipped
        records = self.manifest.files()
        check_not_emptied(folder, scan.files, records, scope.empty_allowed)
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
        record_failure(self.manifest, stat, reason, report)


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

    @property
    def empty_allowed(self) -> bool:
        """Whether an empty folder may empty the index (default: as a new folder may)."""
        return self.allow_new_folder if self.allow_empty is None else self.allow_empty


def _report_reuse(candidate: Candidate, report: SyncReport) -> None:
    path = candidate.stat.path
    if candidate.replaces:
        report.updated.append(path)
    elif candidate.moves and candidate.source is not None:
        report.moved.append((candidate.source.path, path))
    else:
        report.added.append(path)


def _hash(stat: FileStat) -> str:
    return hash_file(stat.abs_path)
