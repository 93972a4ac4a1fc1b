"""Loading a file in a worker process with a memory limit and a timeout.

A hostile or runaway document (a decompression bomb, a PDF whose pages all draw one huge
stream, a parser stuck in a loop) must cost one failed file, never the ingest. The
parser runs in a child process that limits its own address space (``RLIMIT_AS``): an
allocation past the limit raises ``MemoryError`` there, or kills the child, and the
parent, which waits at most ``timeout_s``, turns either into a ``DocumentLoadError``
with the reason. The child is started once (forkserver, else spawn: never a fork of a
process that holds threads and a Chroma client) and reused for file after file.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.errors import DocumentLoadError
from ingest.loaders.base import LoadLimits, Page

__all__ = ["IsolatedLoader", "ParseLimits"]


@dataclass(frozen=True)
class ParseLimits:
    """Limits of the worker process that parses files.

    Attributes:
        memory_bytes: address space of the worker (``RLIMIT_AS``); 0 for no limit.
        timeout_s: seconds one file may take to parse.
        load: what one file may expand to (pages, characters, unzipped bytes).
    """

    memory_bytes: int = 2 << 30
    timeout_s: float = 300.0
    load: LoadLimits = LoadLimits()


class IsolatedLoader:
    """``load_file`` in a worker process; callable like it (``loader(path) -> pages``).

    One file at a time: calls from several threads wait their turn.
    """

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self.peak_rss_mb = 0.0  # the worker's peak resident memory, as of its last reply

    @classmethod
    def shared(cls, limits: ParseLimits | None = None) -> IsolatedLoader:
        """The process's one loader for these limits: one worker serves every index."""
        limits = limits or ParseLimits()
        with _shared_lock:
            if limits not in _shared:
                _shared[limits] = cls(limits)
            return _shared[limits]

    def __call__(self, path: Path) -> list[Page]:
        """Load ``path`` in the worker; every failure is a ``DocumentLoadError``."""
        path = Path(path)
        with self._lock:
            conn = self._ensure_worker()
            conn.send(str(path))
            if not conn.poll(self.limits.timeout_s):
                self._stop()
                raise DocumentLoadError(
                    path, f"parsing timed out after {self.limits.timeout_s:g} s"
                )
            try:
                kind, value, self.peak_rss_mb = conn.recv()
            except (EOFError, OSError):
                raise DocumentLoadError(path, self._crash_reason()) from None
        if kind == "pages":
            return list(value)
        if kind == "memory":
            self._stop_locked()
        raise DocumentLoadError(path, str(value))

    def close(self) -> None:
        """Stop the worker (a later call starts another)."""
        with self._lock:
            self._stop()

    def __del__(self) -> None:
        self._stop()

    # --- the worker ----------------------------------------------------------------
    def _ensure_worker(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop()
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(child, self.limits),
            name="ingest-parser",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return parent

    def _crash_reason(self) -> str:
        process = self._process
        if process is not None:
            process.join(timeout=5)
        code = None if process is None else process.exitcode
        self._stop()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the parser crashed ({name})"
        return f"the parser crashed (exit code {code})"

    def _stop_locked(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None and process.is_alive():
            process.kill()
            process.join(timeout=5)


_shared: dict[ParseLimits, IsolatedLoader] = {}
_shared_lock = threading.Lock()


def _context() -> Any:
    """Forkserver where there is one (Linux): no fork of a threaded parent; else spawn.

    The fork server imports the loaders once, so each worker starts with them loaded.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ingest.loaders"])
    return context


def _serve(conn: Connection, limits: ParseLimits) -> None:
    """The worker's loop: a path in, ``("pages", [...])`` or ``(kind, reason)`` out."""
    _limit_memory(limits.memory_bytes)
    from ingest.loaders import load_file  # preloaded by the fork server, else imported now

    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("pages", load_file(Path(path), limits.load))
        except DocumentLoadError as exc:
            reply = ("error", exc.reason)
        except MemoryError:
            reply = ("memory", _memory_reason(limits.memory_bytes))
        except Exception as exc:  # load_file turns parser errors into DocumentLoadError
            reply = ("error", f"the parser failed: {type(exc).__name__}")
        try:
            conn.send((*reply, _peak_rss_mb()))
        except MemoryError:
            reply = ("memory", _memory_reason(limits.memory_bytes))
            conn.send((*reply, _peak_rss_mb()))
        if reply[0] == "memory":
            return  # a process that ran out of memory is not trusted with the next file


def _limit_memory(memory_bytes: int) -> None:
    if memory_bytes <= 0:
        return
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB; 0 where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _memory_reason(memory_bytes: int) -> str:
    return f"out of memory while parsing (limit {memory_bytes / (1 << 20):,.0f} MB)"
