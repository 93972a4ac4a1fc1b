"""The writer lock: one ingest at a time on an index, across processes."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ingest.errors import IndexLocked

__all__ = ["LOCK_FILE", "WriterLock"]

LOCK_FILE = "ingest.lock"


class WriterLock:
    """An exclusive, non-blocking lock on a file: a second writer is refused, not queued.

    ``flock`` is released by the kernel when the holder dies, so a killed ingest never
    leaves the index locked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_index(cls, index_dir: Path) -> WriterLock:
        """The lock of the index in ``index_dir``."""
        return cls(index_dir / LOCK_FILE)

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
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
