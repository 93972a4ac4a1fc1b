"""Keeping an assistant's index in step with its documents folder while something runs.

The same code serves ``gpt4all-rag watch``, ``serve`` and the app: ``IndexWatcher``
wires ``ingest.watch.FolderWatcher`` (events, debounce, completeness) to the
assistant's indexer, and records its state in the index folder for ``status``.
Library code: it tells its callers through callbacks, never prints.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.report import SyncReport
from ingest.watch import FolderWatcher, ObserverFactory, WatchBatch
from ingest.watch_record import remove_watch_record, write_watch_record

if TYPE_CHECKING:
    from gpt4all_rag.assistant.single import DocumentAssistant

__all__ = ["IndexWatcher", "WatchState", "change_lines", "change_records"]

_RECORD_EVERY_S = 0.5  # the state file is rewritten at most this often during a burst


@dataclass(frozen=True)
class WatchState:
    """What a watcher is doing, for a status line or the app's sidebar.

    Attributes:
        watching: an observer is running on the folder.
        folder: the documents folder.
        last_change: ``time.time()`` of the last file event seen.
        pending: files seen changed and not yet synced.
        syncing: a sync is running now.
        last_report: the last sync's report.
        error: the last problem (folder vanished, permission, lock...), readable.
    """

    watching: bool
    folder: Path
    last_change: float | None
    pending: int
    syncing: bool
    last_report: SyncReport | None
    error: str | None


class IndexWatcher:
    """Keeps one DocumentAssistant's index in step with its folder, in a background thread.

    Args:
        assistant: whose documents folder and index are kept in step.
        debounce_s: quiet time before a sync; default ``settings.watch_debounce_s``.
        settle_s: a file must stay unchanged this long; default ``settings.watch_settle_s``.
        on_report: told of each sync that changed the index (on the watcher's thread).
        on_event: told of each problem or notice, as one readable line.
        observer_factory: the watchdog observer to use (tests); default the native one.
    """

    def __init__(
        self,
        assistant: DocumentAssistant,
        *,
        debounce_s: float | None = None,
        settle_s: float | None = None,
        on_report: Callable[[SyncReport], None] | None = None,
        on_event: Callable[[str], None] | None = None,
        observer_factory: ObserverFactory | None = None,
    ) -> None:
        settings = assistant.settings
        self.assistant = assistant
        self.folder = Path(settings.documents_dir)
        self.index_dir = Path(settings.index_dir)
        self._on_report = on_report
        self._on_event = on_event
        self._last_report: SyncReport | None = None
        self._started = time.time()
        self._recorded_at = 0.0
        self._settled: tuple[object, ...] = ()
        self._record_lock = threading.Lock()
        self._watcher = FolderWatcher(
            self.folder,
            self._sync,
            debounce_s=settings.watch_debounce_s if debounce_s is None else debounce_s,
            settle_s=settings.watch_settle_s if settle_s is None else settle_s,
            on_problem=self._tell,
            on_change=self._record,
            observer_factory=observer_factory,
        )

    # --- public -------------------------------------------------------------------
    def start(self, *, initial_sync: bool = True) -> None:
        """Start watching; with ``initial_sync``, sync once first (on the watcher's thread)."""
        self._started = time.time()
        self._watcher.start(initial_sync=initial_sync)
        self._record(force=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching; the observer and the worker thread are joined."""
        self._watcher.stop(timeout)
        remove_watch_record(self.index_dir)

    def sync_now(self, *, force: bool = False) -> SyncReport:
        """Sync at once on the caller's thread (``ingest --force`` semantics with ``force``).

        Raises what ``Indexer.sync`` raises: the caller decides whether to go on.
        """
        report = self.assistant.ingest(self.folder, force=force)
        self._reported(report)
        return report

    def state(self) -> WatchState:
        """A snapshot of the watcher's state."""
        watcher = self._watcher
        return WatchState(
            watching=watcher.watching,
            folder=self.folder,
            last_change=watcher.last_change,
            pending=watcher.pending,
            syncing=watcher.syncing,
            last_report=self._last_report,
            error=watcher.error,
        )

    @property
    def observer_kind(self) -> str:
        """``native`` (inotify and the like) or ``polling`` (the fallback)."""
        return self._watcher.observer_kind

    def __enter__(self) -> IndexWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the watcher's callbacks ---------------------------------------------------------
    def _sync(self, batch: WatchBatch) -> None:
        report = self.assistant.indexer.sync(
            self.folder,
            hold=batch.held,
            allow_empty=self._deleted_everything(batch),
        )
        self._reported(report)

    def _deleted_everything(self, batch: WatchBatch) -> bool:
        """Whether the events explain an empty folder: every indexed file was seen deleted.

        An unmounted drive sends no delete event per file, so it is still refused.
        """
        gone = batch.deleted
        indexed = self.assistant.manifest.files()
        return bool(gone) and all(
            path in gone or any(parent in gone for parent in _parents(path)) for path in indexed
        )

    def _reported(self, report: SyncReport) -> None:
        previous, self._last_report = self._last_report, report
        self._record(force=True)
        if self._on_report is not None and change_records(report, previous):
            self._on_report(report)

    def _tell(self, line: str) -> None:
        if self._on_event is not None:
            self._on_event(line)

    def _record(self, force: bool = False) -> None:
        """Write the state file ``status`` reads.

        During a burst of events at most every 0.5 s; a change of ``syncing`` or
        ``error``, or nothing left pending, is written at once (the state that stays).
        """
        now = time.monotonic()
        data = self._record_data()
        settled = (data["syncing"], data["error"], data["pending"] == 0)
        if not force and settled == self._settled and now - self._recorded_at < _RECORD_EVERY_S:
            return
        with self._record_lock:
            self._recorded_at, self._settled = now, settled
            try:
                write_watch_record(self.index_dir, data)
            except OSError as exc:  # an unwritable index is reported by the sync itself
                self._tell(f"cannot record the watcher's state: {exc}")

    def _record_data(self) -> dict[str, Any]:
        state = self.state()
        return {
            "pid": os.getpid(),
            "command": " ".join(sys.argv)[:200],
            "folder": str(self.folder),
            "started": self._started,
            "watching": state.watching,
            "last_change": state.last_change,
            "pending": state.pending,
            "syncing": state.syncing,
            "error": state.error,
        }


def _parents(path: str) -> list[str]:
    """``a/b/c.md`` -> ``["a", "a/b"]``: a deleted folder deletes the files below it."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def change_records(report: SyncReport, previous: SyncReport | None = None) -> list[dict[str, Any]]:
    """One JSON object per file a sync changed or failed: ``{"event", "file", ...}``.

    A report lists every failed file of the index; those ``previous`` listed already
    are left out, so that a bad file is told once.
    """
    known = set(previous.failed) if previous is not None else set()
    records: list[dict[str, Any]] = [{"event": "added", "file": f} for f in report.added]
    records += [{"event": "updated", "file": f} for f in report.updated]
    records += [{"event": "moved", "file": b, "from": a} for a, b in report.moved]
    records += [{"event": "deleted", "file": f} for f in report.deleted]
    records += [
        {"event": "failed", "file": f, "reason": r} for f, r in report.failed if (f, r) not in known
    ]
    return records


def change_lines(report: SyncReport, previous: SyncReport | None = None) -> list[str]:
    """One readable line per file a sync changed or newly failed."""
    lines = []
    for record in change_records(report, previous):
        match record["event"]:
            case "moved":
                lines.append(f"moved    {record['from']} -> {record['file']}")
            case "failed":
                lines.append(f"failed   {record['file']}: {record['reason']}")
            case event:
                lines.append(f"{event:<8} {record['file']}")
    return lines
