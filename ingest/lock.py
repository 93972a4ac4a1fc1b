"""The writer lock: one ingest at a time on an index, across processes."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from ingest.errors import IndexLocked

__all__ = ["LOCK_FILE", "WriterLock", "pid_alive"]

LOCK_FILE = "ingest.lock"


class WriterLock:
    """An exclusive, non-blocking lock on a file: a second writer is refused, not queued.

    ``flock`` is released by the kernel when the holder dies, so a killed ingest never
    leaves the index locked. The holder writes its pid and command into the file, so
    that a refused writer can say who holds the lock.
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
            holder = _read_holder(fd)
            os.close(fd)
            raise IndexLocked(
                f"another ingest is writing to {self.path.parent}{holder}; try again later"
            ) from exc
        _write_holder(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _write_holder(fd: int) -> None:
    """Record this process as the holder: ``pid command``, one line."""
    line = f"{os.getpid()} {' '.join(sys.argv)[:200]}\n".encode(errors="replace")
    os.ftruncate(fd, 0)
    os.pwrite(fd, line, 0)


def _read_holder(fd: int) -> str:
    """`` (pid N: command)`` of the holder, or "" when it wrote nothing readable."""
    try:
        text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return ""
    if pid == str(os.getpid()):
        return f" (this process, pid {pid})"
    return f" (pid {pid}: {command.strip() or 'unknown command'})"


def pid_alive(pid: object) -> bool:
    """Whether a process with this id runs (another user's counts): stale records are told apart.

    Only a positive int is a process: ``kill(0 or -1, 0)`` asks about a process group,
    or every process, and a pid read from a file may be anything.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError):
        return False
    return True
