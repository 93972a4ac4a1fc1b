"""Indexing in the background for a page: the first ingest with its progress, then the watcher.

A page cannot block while the first ingest of a folder runs (a minute and more for a
few manuals): people would see an empty page with no chat box. ``BackgroundIndexer``
runs that ingest on its own thread, keeps its latest progress (with a time left
computed from the bytes read), and then hands the folder to an
:class:`~gpt4all_rag.assistant.watching.IndexWatcher`, so that files dropped into it later are
indexed without a click. The page only reads :meth:`BackgroundIndexer.state`, which
is cheap and never waits for a sync; ``version`` goes up with every finished sync,
so the page knows when to draw its document list again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpt4all_rag.assistant.watching import IndexWatcher, WatchState, change_records
from gpt4all_rag.errors import USER_ERRORS
from ingest.report import ProgressEvent, SyncReport

if TYPE_CHECKING:
    from gpt4all_rag.assistant.single import DocumentAssistant

__all__ = ["BackgroundIndexer", "IndexingState", "time_left"]

_MIN_SECONDS_FOR_ETA = 1.0  # before this, a rate is a guess


@dataclass(frozen=True)
class IndexingState:
    """What the background indexing is doing, for the page.

    Attributes:
        syncing: an ingest is running (the first one, or one of the watcher's).
        first_done: the first ingest has ended (well or not).
        progress: the latest progress of the running ingest the page started.
        eta_s: seconds left of that ingest, from the bytes read so far; None when unknown.
        report: the last sync's report.
        version: goes up with each finished sync: the page redraws when it changes.
        error: the last problem, readable; None when the last sync went well.
        watch: the watcher's own state; None when the folder is not watched.
    """

    syncing: bool
    first_done: bool
    progress: ProgressEvent | None
    eta_s: float | None
    report: SyncReport | None
    version: int
    error: str | None
    watch: WatchState | None


def time_left(event: ProgressEvent, seconds: float) -> float | None:
    """Seconds left at the rate so far (bytes per second), or None before it means anything."""
    if event.bytes_total <= 0 or event.bytes_done <= 0 or seconds < _MIN_SECONDS_FOR_ETA:
        return None
    rate = event.bytes_done / seconds
    return max(event.bytes_total - event.bytes_done, 0) / rate


class BackgroundIndexer:
    """The first ingest of an assistant's folder on a thread, then (optionally) its watcher.

    Args:
        assistant: whose folder and index.
        watch: keep watching the folder after the first ingest.
        watcher_factory: builds the watcher (tests pass one with a quick debounce).
    """

    def __init__(
        self,
        assistant: DocumentAssistant,
        *,
        watch: bool = True,
        watcher_factory: Callable[..., IndexWatcher] = IndexWatcher,
    ) -> None:
        self.assistant = assistant
        self.watch = watch
        self._factory = watcher_factory
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watcher: IndexWatcher | None = None
        self._progress: ProgressEvent | None = None
        self._started_at = 0.0
        self._report: SyncReport | None = None
        self._version = 0
        self._error: str | None = None
        # a replica never writes: it shows the published index as it is, at once
        self._replica = assistant.settings.replica_of is not None
        self._first_done = self._replica
        self._looked_at = False

    def first_look(self) -> bool:
        """True for the first tab that looks at this indexer, False for every later one.

        The first tab is told what the first ingest did even when it ended before the
        tab looked (a small folder on a fast machine); later tabs are not told again.
        """
        with self._lock:
            first, self._looked_at = not self._looked_at, True
            return first

    def start(self) -> None:
        """Start the first ingest (once; later calls do nothing while it runs or watches).

        A replica (``replica_of``) never writes: it shows the published index as it is.
        """
        with self._lock:
            if self._replica or self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._first_run, name="gpt4all-rag-first-ingest", daemon=True
            )
            self._thread.start()

    def sync_again(self) -> bool:
        """Ingest once more in the background when nothing runs (an unwatched folder).

        Returns whether a sync was started.
        """
        with self._lock:
            if self._replica or (self._thread is not None and self._thread.is_alive()):
                return False
            self._thread = threading.Thread(
                target=self._ingest, name="gpt4all-rag-ingest", daemon=True
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the page's own ingest to end; True if it did (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watcher (the running ingest, a daemon thread, is not interrupted)."""
        if self._watcher is not None:
            self._watcher.stop(timeout)

    def state(self) -> IndexingState:
        """A snapshot, cheap enough for a page to read every second."""
        running = self._thread is not None and self._thread.is_alive()
        watch = self._watcher.state() if self._watcher is not None else None
        progress = self._progress if running else None
        seconds = time.monotonic() - self._started_at
        return IndexingState(
            syncing=running or bool(watch and (watch.syncing or watch.pending)),
            first_done=self._first_done,
            progress=progress,
            eta_s=time_left(progress, seconds) if progress is not None else None,
            report=self._report,
            version=self._version,
            error=self._error or (watch.error if watch else None),
            watch=watch,
        )

    # --- the threads -----------------------------------------------------------------------
    def _first_run(self) -> None:
        try:
            self._ingest()
        finally:
            self._first_done = True
        if self.watch:
            self._watcher = self._factory(
                self.assistant, on_report=self._watched, on_event=self._told
            )
            # Its own first sync catches the files that came while the first ingest ran.
            self._watcher.start(initial_sync=True)

    def _ingest(self) -> None:
        self._started_at = time.monotonic()
        self._progress = None
        try:
            # The folder uploads go to; creating it turns a first start into "no documents".
            self.assistant.settings.documents_dir.mkdir(parents=True, exist_ok=True)
            report = self.assistant.ingest(progress=self._progressed)
        except (*USER_ERRORS, OSError) as exc:
            self._error = str(exc)
            self._version += 1
            return
        self._reported(report)

    def _progressed(self, event: ProgressEvent) -> None:
        self._progress = event

    def _watched(self, report: SyncReport) -> None:
        """A watcher's sync: news only if it changed something since the page's last report.

        The watcher's first sync lists the files that failed in the first ingest again.
        """
        if change_records(report, self._report):
            self._reported(report)

    def _reported(self, report: SyncReport) -> None:
        self._report, self._error = report, None
        self._version += 1

    def _told(self, line: str) -> None:
        self._error = line
        self._version += 1
