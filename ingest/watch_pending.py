"""The watcher's account of the paths seen changed: which are settled, held, or deleted.

Events are gathered here, not acted on one by one. A changed file is due once its size
and time stayed the same for ``settle_s`` (a file still being written or copied is
held back); a renamed file's source stays indexed until the file is synced (a move,
not a delete and an add). Temporary names (``*.part``, ``~$x.docx``, ``.#x``...) never
count: the rename to the final name is the event that does.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TEMPORARY_NAMES", "PendingChanges", "is_temporary"]

TEMPORARY_NAMES = (
    ".*",  # dotfiles: editors' swap and lock files, rsync's .name.XXXX
    "~$*",  # Office's lock file beside an open document
    "*~",
    "*.part",
    "*.partial",
    "*.crdownload",
    "*.download",
    "*.tmp",
    "*.swp",
)
"""Names of files that are still being written under another name; never synced."""

_DELETE_WAIT_S = 4.0  # longest a deletion waits for files still being written


def is_temporary(path: str) -> bool:
    """Whether any part of the relative ``path`` has a temporary or hidden name."""
    return any(
        fnmatch.fnmatchcase(part, pattern)
        for part in Path(path).parts
        for pattern in TEMPORARY_NAMES
    )


@dataclass
class _Pending:
    last_event: float  # time.monotonic() of the last event on the path
    stat: tuple[int, int] | None = None  # (size, mtime_ns) at the last check


class PendingChanges:
    """The paths (relative, POSIX) of one folder seen changed or deleted and not synced yet.

    Safe to use from the observer's thread and the watcher's at once. ``rescan`` is set
    when a folder was deleted or moved, or the watched folder itself changed.
    """

    def __init__(self, folder: Path, settle_s: float) -> None:
        self.folder = folder
        self.settle_s = settle_s
        self.rescan = False
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._deleted: set[str] = set()
        self._moved_from: dict[str, str] = {}  # renamed file -> its old path
        self._deletes_waiting_since: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._deleted)

    def record(self, kind: str, src: str, dest: str, *, is_directory: bool) -> None:
        """Record one watchdog event of type ``kind`` ("" for a path outside the folder)."""
        with self._lock:
            if kind in ("deleted", "moved") and src and not is_temporary(src):
                self._deleted.add(src)
                self._pending.pop(src, None)
                if is_directory:
                    self.rescan = True
            if kind == "moved":
                if dest:  # else moved out of the folder: a deletion only
                    self._add(src, dest)
            elif kind != "deleted":
                self._add("", src)

    def _add(self, src: str, dest: str) -> None:
        """Record a changed path ``dest``, renamed from ``src`` ("" if not renamed).

        A renamed file is complete already (a ``.part`` renamed to its final name).
        A renamed file's source stays in the index until the file is synced, so that
        the sync sees a move (vectors reused), not a delete and an add.
        """
        if not dest or is_temporary(dest):
            return
        entry = _Pending(time.monotonic())
        if src:
            entry = _Pending(time.monotonic() - self.settle_s, _stat(self.folder / dest))
            if not is_temporary(src):
                self._moved_from[dest] = src
        self._pending[dest] = entry
        self._deleted.discard(dest)

    def due(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The settled paths, the held ones (with their renames' sources), the deletions due."""
        changed, held = self._settle()
        with self._lock:
            held |= {self._moved_from[p] for p in held if p in self._moved_from}
            deleted = frozenset(self._deleted - held)
        if held and deleted and not self._deletes_overdue():
            deleted = frozenset()  # maybe moved: kept for the sync that sees the new file
        return changed, held, deleted

    def synced(self, changed: frozenset[str], deleted: frozenset[str]) -> None:
        """Forget what a sync took in; a file changed again since stays pending."""
        with self._lock:
            for path in changed:
                entry = self._pending.get(path)
                if entry is not None and entry.stat == _stat(self.folder / path):
                    del self._pending[path]
                    self._moved_from.pop(path, None)
            self._deleted -= deleted
            if deleted:
                self._deletes_waiting_since = None

    def clear(self) -> None:
        """Forget everything (the folder came back: it is synced whole)."""
        with self._lock:
            self._pending.clear()
            self._deleted.clear()
            self._moved_from.clear()

    def _settle(self) -> tuple[frozenset[str], frozenset[str]]:
        """Split pending paths into settled ones and ones still changing."""
        now = time.monotonic()
        changed: set[str] = set()
        held: set[str] = set()
        with self._lock:
            for path, entry in self._pending.items():
                current = _stat(self.folder / path)
                quiet = now - entry.last_event >= self.settle_s
                if quiet and (current is None or current == entry.stat):
                    changed.add(path)
                else:
                    held.add(path)
                entry.stat = current
        return frozenset(changed), frozenset(held)

    def _deletes_overdue(self) -> bool:
        """Whether deletions waited long enough for files still being written.

        A file moved into a new subfolder comes as a delete and a create (the folder
        was not watched yet); syncing the delete first would re-embed the file instead
        of moving its vectors. Deletions wait for the held files, up to ``_DELETE_WAIT_S``.
        """
        now = time.monotonic()
        if self._deletes_waiting_since is None:
            self._deletes_waiting_since = now
        return now - self._deletes_waiting_since >= _DELETE_WAIT_S


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns
