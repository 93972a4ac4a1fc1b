"""The watcher's record in the index folder: what ``status`` shows about a watcher.

Kept apart from ``ingest.watch`` so that ``status`` reads it without importing watchdog.
One file per watching process (``watch-<pid>.json``); a record whose process is gone
is stale, not deleted: only its writer removes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ingest.atomic import write_atomic
from ingest.lock import pid_alive

__all__ = [
    "WATCH_RECORD_GLOB",
    "read_watch_records",
    "remove_watch_record",
    "watch_record_path",
    "write_watch_record",
]

WATCH_RECORD_GLOB = "watch-*.json"


def watch_record_path(index_dir: Path, pid: int | None = None) -> Path:
    """Where the watcher of process ``pid`` (default: this one) records its state."""
    return index_dir / f"watch-{os.getpid() if pid is None else pid}.json"


def write_watch_record(index_dir: Path, record: dict[str, Any]) -> None:
    """Write this process's watcher record atomically (a reader never sees half)."""
    write_atomic(watch_record_path(index_dir), json.dumps(record))


def remove_watch_record(index_dir: Path) -> None:
    """Remove this process's watcher record (the watcher stopped)."""
    watch_record_path(index_dir).unlink(missing_ok=True)


def read_watch_records(index_dir: Path) -> list[dict[str, Any]]:
    """The watchers' records, each with ``alive``: False when its process is gone (stale)."""
    records = []
    for path in sorted(index_dir.glob(WATCH_RECORD_GLOB)):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            record["alive"] = pid_alive(record.get("pid"))
            records.append(record)
    return records
