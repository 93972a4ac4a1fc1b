"""Watching a documents folder: file events become few, whole-file syncs.

watchdog's ``Observer`` (inotify on Linux) reports created, changed, moved and deleted
files. Events are gathered, not acted on one by one (``ingest.watch_pending``): a sync starts
once the folder has been quiet for ``debounce_s`` (a burst of 1,000 files is one sync),
and a file is synced only once its size and time stayed the same for ``settle_s`` (a
file still being written or copied is held back, and the sync leaves it as it was).
Temporary names (``*.part``, ``~$x.docx``, ``.#x``...) are never synced: the rename to
the final name is the event that counts.

inotify does not tell a watch that its own folder was renamed or unmounted, so the
worker also checks the folder's identity every ``check_s`` (one ``stat``); a vanished
folder is reported and waited for, never read as empty.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ingest.errors import IndexLocked
from ingest.watch_pending import PendingChanges

__all__ = ["FolderWatcher", "ObserverFactory", "WatchBatch"]

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


ObserverFactory = Callable[[], BaseObserver]
"""Builds an unstarted watchdog observer."""


@dataclass(frozen=True)
class WatchBatch:
    """What one sync is asked to do.

    Attributes:
        changed: paths (relative, POSIX) seen changed and now settled.
        held: paths still being written; the sync must leave them as they are.
        deleted: paths seen deleted or moved away since the last sync.
        initial: the sync at start (or after the folder came back), with no events.
    """

    changed: frozenset[str]
    held: frozenset[str]
    deleted: frozenset[str] = frozenset()
    initial: bool = False


SyncFunction = Callable[[WatchBatch], None]
"""Runs one sync; ``IndexLocked`` means "try again shortly", anything else is reported."""


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher.notice(event)


class FolderWatcher:
    """Turns a folder's file events into calls of ``sync``, on a background thread.

    Args:
        folder: the documents folder.
        sync: runs one sync (``WatchBatch``); called on the watcher's thread only.
        debounce_s: quiet time after the last event before a sync.
        settle_s: how long a file's size and time must stay the same before it is synced.
        on_problem: told of each problem and notice, as one readable line.
        on_change: called whenever ``pending``, ``syncing`` or ``error`` change.
        observer_factory: builds the observer; default watchdog's native one, and its
            ``PollingObserver`` where the native one cannot start (no inotify, or its
            limits reached), with the reason told to ``on_problem``.
        check_s: how often the folder's own identity is checked (one ``stat``).
        retry_s: wait before retrying a sync the writer lock refused.
    """

    def __init__(
        self,
        folder: Path,
        sync: SyncFunction,
        *,
        debounce_s: float = 1.0,
        settle_s: float = 1.0,
        on_problem: Callable[[str], None] | None = None,
        on_change: Callable[[], None] | None = None,
        observer_factory: ObserverFactory | None = None,
        check_s: float = 2.0,
        retry_s: float = 1.0,
    ) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self._sync = sync
        self.debounce_s = debounce_s
        self.settle_s = settle_s
        self._on_problem = on_problem
        self._on_change = on_change
        self._observer_factory = observer_factory
        self.check_s = check_s
        self.retry_s = retry_s
        self.observer_kind = ""
        self.error: str | None = None
        self.syncing = False
        self.last_change: float | None = None
        self._changes = PendingChanges(self.folder, settle_s)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._observer: BaseObserver | None = None
        self._identity: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None

    # --- public -----------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Paths seen changed and not synced yet."""
        return len(self._changes)

    @property
    def watching(self) -> bool:
        """Whether an observer is running on the folder."""
        return self._observer is not None

    def start(self, *, initial_sync: bool = True) -> None:
        """Start observing, then (on the watcher's thread) sync once and follow events."""
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(initial_sync,), name="folder-watcher", daemon=True
        )
        self._start_observer()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the observer and the worker; a sync under way finishes first (up to ``timeout``)."""
        self._stopping.set()
        self._wake.set()
        self._stop_observer(timeout)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def notice(self, event: FileSystemEvent) -> None:
        """Record one watchdog event (called on the observer's thread)."""
        src = self._relative(event.src_path)
        dest = self._relative(getattr(event, "dest_path", "") or "")
        if src == "" and event.is_directory and event.event_type != "modified":
            self._changes.rescan = True  # the folder itself: checked by the worker
        self._changes.record(event.event_type, src, dest, is_directory=event.is_directory)
        self.last_change = time.time()
        self._wake.set()
        self._changed()

    # --- the observer -------------------------------------------------------------
    def _start_observer(self) -> None:
        """Start the native observer, or the polling one where it cannot start."""
        self._identity = _identity(self.folder)
        if self._identity is None:
            self._problem(f"{self.folder} is missing; waiting for it to come back")
            self.error = f"{self.folder} is missing"
            return
        try:
            self._observer = self._schedule(self._observer_factory or _native_observer)
            self.observer_kind = "native"
        except OSError as exc:
            self._problem(
                f"native file events unavailable ({exc.strerror or exc}); "
                "polling the folder for changes instead"
            )
            self._observer = self._schedule(_polling_observer)
            self.observer_kind = "polling"

    def _schedule(self, factory: ObserverFactory) -> BaseObserver:
        observer = factory()
        observer.schedule(_Handler(self), str(self.folder), recursive=True, event_filter=_EVENTS)
        observer.start()
        return observer

    def _stop_observer(self, timeout: float) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout)

    # --- the worker ------------------------------------------------------------------
    def _run(self, initial_sync: bool) -> None:
        if initial_sync and self._observer is not None:
            self._sync_until_done(WatchBatch(frozenset(), frozenset(), initial=True))
        while not self._stopping.is_set():
            woken = self._wake.wait(self.check_s)
            if self._stopping.is_set():
                return
            if not self._folder_ok():
                self._wait_for_folder()
                continue
            if not woken:
                continue
            self._debounce()
            self._sync_settled()

    def _debounce(self) -> None:
        """Wait until no event came for ``debounce_s``; at most 20 debounces in a row."""
        for _ in range(20):
            self._wake.clear()
            if not self._wake.wait(self.debounce_s) or self._stopping.is_set():
                return

    def _sync_settled(self) -> None:
        """Sync the settled files; re-wake later for the ones still being written."""
        changed, held, deleted = self._changes.due()
        rescan, self._changes.rescan = self._changes.rescan, False
        if not changed and not deleted and not rescan:
            self._rewake_if_held(held)
            return
        if self._sync_until_done(WatchBatch(changed, held, deleted)):
            self._changes.synced(changed, deleted)
            self._changed()
        self._rewake_if_held(held)

    def _rewake_if_held(self, held: frozenset[str]) -> None:
        if held and not self._stopping.wait(self.settle_s):
            self._wake.set()

    def _sync_until_done(self, batch: WatchBatch) -> bool:
        """Run ``sync``; wait and retry while another writer holds the lock."""
        told = False
        while not self._stopping.is_set():
            self.syncing = True
            self._changed()
            try:
                self._sync(batch)
            except IndexLocked as exc:
                if not told:
                    self._problem(f"waiting: {exc}")
                    told = True
                self._stopping.wait(self.retry_s)
                continue
            except Exception as exc:  # reported; the watcher keeps running
                self.error = str(exc)
                self._problem(f"sync failed: {exc}")
                return False
            finally:
                self.syncing = False
                self._changed()
            self.error = None
            return True
        return False

    # --- the folder itself -----------------------------------------------------------
    def _folder_ok(self) -> bool:
        current = _identity(self.folder)
        return current is not None and current == self._identity and self._observer is not None

    def _wait_for_folder(self) -> None:
        """Report the folder gone (or replaced), wait until it is back, then resync."""
        self._stop_observer(1.0)
        if self._identity is not None:
            self.error = f"{self.folder} vanished or was renamed; waiting for it to come back"
            self._problem(self.error)
            self._changed()
        while _identity(self.folder) is None:
            if self._stopping.wait(self.check_s):
                return
        self._changes.clear()
        self._start_observer()
        self.error = None
        self._problem(f"{self.folder} is back; syncing it")
        self._sync_until_done(WatchBatch(frozenset(), frozenset(), initial=True))

    # --- helpers ------------------------------------------------------------------------
    def _relative(self, path: bytes | str) -> str:
        if not path:
            return ""
        text = os.fsdecode(path)
        try:
            rel = Path(text).relative_to(self.folder)
        except ValueError:
            return ""  # moved out of the folder: only its source counts
        return "" if rel == Path(".") else rel.as_posix()

    def _problem(self, line: str) -> None:
        if self._on_problem is not None:
            self._on_problem(line)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _identity(folder: Path) -> tuple[int, int] | None:
    """The folder's (device, inode), or None when it is not there as a folder."""
    try:
        info = folder.stat()
    except OSError:
        return None
    if not folder.is_dir():
        return None
    return info.st_dev, info.st_ino


def _native_observer() -> BaseObserver:
    return Observer()


def _polling_observer() -> BaseObserver:
    return PollingObserver()
