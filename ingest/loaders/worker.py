"""The parser worker process: ``python -m ingest.loaders.worker "<limits literal>"``.

It reads file paths from stdin and answers each with ``("pages", [...], peak_mb)`` or
``(kind, reason, peak_mb)`` on stdout, after a ``("progress", None, peak_mb)`` for each
page read by OCR (``multiprocessing.connection`` framing). Library
output is sent to stderr, so nothing but replies reaches the parent's pipe.
"""

from __future__ import annotations

import ast
import os
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.errors import DocumentLoadError
from ingest.loaders import load_file
from ingest.loaders.base import LoadLimits
from ingest.loaders.ocr import OcrOptions, ocr_in_force
from ingest.sandbox import limit_memory

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Serve load requests until stdin closes."""
    settings: dict[str, Any] = ast.literal_eval(argv[1])
    memory_bytes = int(settings.pop("memory_bytes"))
    ocr = OcrOptions(**settings.pop("ocr", {}))
    limits = LoadLimits(**settings)
    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a library's print goes to stderr, never into the reply pipe
    limit_memory(memory_bytes)
    replies.send(("ready", None, _peak_rss_mb()))
    with ocr_in_force(ocr, lambda: replies.send(("progress", None, _peak_rss_mb()))):
        return _serve(requests, replies, limits, memory_bytes)


def _serve(requests: Connection, replies: Connection, limits: LoadLimits, memory_bytes: int) -> int:
    """Answer one request after another; stop when stdin closes or memory ran out."""
    while True:
        try:
            path = requests.recv()
        except (EOFError, OSError):
            return 0
        reply = _load(Path(path), limits, memory_bytes)
        try:
            replies.send((*reply, _peak_rss_mb()))
        except MemoryError:
            reply = ("memory", _memory_reason(memory_bytes))
            replies.send((*reply, _peak_rss_mb()))
        if reply[0] == "memory":
            return 0


def _load(path: Path, limits: LoadLimits, memory_bytes: int) -> tuple[str, Any]:
    try:
        return "pages", load_file(path, limits)
    except DocumentLoadError as exc:
        return "error", exc.reason
    except MemoryError:
        return "memory", _memory_reason(memory_bytes)
    except Exception as exc:  # load_file turns parser errors into DocumentLoadError
        return "error", f"the parser failed: {type(exc).__name__}"


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


if __name__ == "__main__":
    sys.exit(main(sys.argv))
