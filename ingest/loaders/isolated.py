"""Loading a file in a worker process with a memory limit and a timeout.

A hostile or runaway document (a decompression bomb, a PDF whose pages all draw one huge
stream, a parser stuck in a loop) must cost one failed file, never the ingest. The
parser runs in a child process that limits its own address space (``RLIMIT_AS``): an
allocation past the limit raises ``MemoryError`` there, or kills the child, and the
parent, which waits at most ``timeout_s``, turns either into a ``DocumentLoadError``
with the reason. The child is started once and reused for file after file.

The child is a fresh interpreter running ``python -m ingest.loaders.worker``, not a
``multiprocessing`` process: spawn and forkserver run the parent's main module again
in the child, which breaks (or re-runs) any script without a ``__main__`` guard, and
fork copies a parent that holds threads and a Chroma client.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.errors import DocumentLoadError
from ingest.loaders.base import LoadLimits, Pages
from ingest.loaders.ocr import OcrOptions
from ingest.sandbox import child_environment

__all__ = ["IsolatedLoader", "ParseLimits"]

_START_TIMEOUT_S = 120.0  # imports of every parser on a slow, busy machine


@dataclass(frozen=True)
class ParseLimits:
    """Limits of the worker process that parses files.

    Attributes:
        memory_bytes: address space of the worker (``RLIMIT_AS``); 0 for no limit.
        timeout_s: seconds one file may take to parse; for a file read by OCR, seconds
            one page may take (each page read restarts the clock: a scanned book of
            hundreds of pages is not cut off, a stuck page still is).
        load: what one file may expand to (pages, characters, unzipped bytes).
        ocr: whether and how scanned pages and images are read (Tesseract), and how
            many pages and seconds one file's OCR may take. The worker stops OCR at
            those bounds and keeps what it read; the whole file is stopped for good at
            ``timeout_s + ocr.timeout_s`` (``file_deadline_s``).
    """

    memory_bytes: int = 2 << 30
    timeout_s: float = 300.0
    load: LoadLimits = LoadLimits()
    ocr: OcrOptions = OcrOptions()

    @property
    def file_deadline_s(self) -> float:
        """Seconds after which a file's parse is stopped, however many pages it reads."""
        return self.timeout_s + self.ocr.timeout_s


class IsolatedLoader:
    """``load_file`` in a worker process; callable like it (``loader(path) -> pages``).

    One file at a time: calls from several threads wait their turn.
    """

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()
        self.peak_rss_mb = 0.0  # the worker's peak resident memory, as of its last reply
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    @classmethod
    def shared(cls, limits: ParseLimits | None = None) -> IsolatedLoader:
        """The process's one loader for these limits: one worker serves every index."""
        limits = limits or ParseLimits()
        with _shared_lock:
            if not _shared:
                atexit.register(_close_shared)
            if limits not in _shared:
                _shared[limits] = cls(limits)
            return _shared[limits]

    def __call__(self, path: Path) -> Pages:
        """Load ``path`` in the worker; every failure is a ``DocumentLoadError``."""
        path = Path(path)
        with self._lock:
            kind, value = self._ask(path)
        if kind == "pages":
            return value if isinstance(value, Pages) else Pages(value)
        raise DocumentLoadError(path, str(value))

    def close(self) -> None:
        """Stop the worker (a later call starts another)."""
        with self._lock:
            self._stop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone
            self._stop()

    def _ask(self, path: Path) -> tuple[str, Any]:
        worker = self._worker if self._worker and self._worker.alive() else self._start(path)
        worker.send(str(path))
        deadline = time.monotonic() + self.limits.file_deadline_s
        kind = "progress"
        while kind == "progress":  # each page read by OCR restarts the clock, to a deadline
            left = deadline - time.monotonic()
            if left <= 0 or not worker.poll(min(self.limits.timeout_s, left)):
                self._stop()
                return "error", self._timeout_reason(deadline)
            try:
                kind, value, self.peak_rss_mb = worker.recv()
            except (EOFError, OSError):
                return "error", self._crash_reason()
        if kind == "memory":
            self._stop()  # a process that ran out of memory is not trusted with another file
        return kind, value

    def _timeout_reason(self, deadline: float) -> str:
        if time.monotonic() >= deadline:
            return f"parsing timed out after {self.limits.file_deadline_s:g} s (the per-file limit)"
        return f"parsing timed out after {self.limits.timeout_s:g} s"

    def _start(self, path: Path) -> _Worker:
        self._stop()
        worker = _Worker(self.limits)
        if not worker.poll(_START_TIMEOUT_S) or worker.recv()[0] != "ready":
            worker.stop()
            raise DocumentLoadError(path, "the parser process did not start")
        self._worker = worker
        return worker

    def _crash_reason(self) -> str:
        code = self._worker.wait() if self._worker else None
        self._stop()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the parser crashed ({name})"
        return f"the parser crashed (exit code {code})"

    def _stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()


class _Worker:
    """The child process and the two pipes to it (requests in, replies out)."""

    def __init__(self, limits: ParseLimits) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.loaders.worker", repr(_limits_args(limits))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_environment(),
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self._replies = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: str) -> None:
        with contextlib.suppress(OSError):  # it died: the reply poll sees the closed pipe
            self._requests.send(message)

    def poll(self, timeout: float) -> bool:
        return self._replies.poll(timeout)

    def recv(self) -> Any:
        return self._replies.recv()

    def wait(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        for conn in (self._requests, self._replies):
            conn.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _limits_args(limits: ParseLimits) -> dict[str, Any]:
    """The limits as a literal the worker reads back (``ast.literal_eval``)."""
    load = limits.load
    return {
        "memory_bytes": limits.memory_bytes,
        "max_pages": load.max_pages,
        "max_chars": load.max_chars,
        "max_unzipped_bytes": load.max_unzipped_bytes,
        "max_zip_ratio": load.max_zip_ratio,
        "ratio_floor_bytes": load.ratio_floor_bytes,
        "ocr": dataclasses.asdict(limits.ocr),
    }


_shared: dict[ParseLimits, IsolatedLoader] = {}
_shared_lock = threading.Lock()


def _close_shared() -> None:
    """Stop the shared workers at exit, while the modules they use are still there."""
    for loader in list(_shared.values()):
        loader.close()
