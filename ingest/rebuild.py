"""Rebuilding an index beside the old one, and swapping at the end.

A new embedding model (or anything else that needs every chunk embedded again) builds a
whole new index in ``INDEX/rebuild/`` while the old one keeps answering. Only when it is
complete are the parts swapped in, under the writer lock, by renames recorded in a
journal (``swap.json``): the journal is the commit point.

- A failure or crash while building leaves the old index as it was (the half-built one
  is discarded at the next open).
- A crash during the swap is finished at the next open (``recover``): the journal says
  which parts the new index has, and every step can be done again.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ingest.errors import IndexLocked
from ingest.lock import WriterLock
from ingest.manifest import MANIFEST_FILE

__all__ = ["INDEX_PARTS", "REBUILD_DIR", "SWAP_JOURNAL", "rebuild_beside", "recover"]

REBUILD_DIR = "rebuild"
RETIRED_DIR = "retired"
SWAP_JOURNAL = "swap.json"
REBUILD_LOCK = "rebuild.lock"
INDEX_PARTS = (
    "chroma",
    "keywords",
    MANIFEST_FILE,
    f"{MANIFEST_FILE}-wal",
    f"{MANIFEST_FILE}-shm",
)
"""What an index is made of; the new index replaces each of them, or removes it."""

T = TypeVar("T")
Step = Callable[[str], None]
"""Told of each step of a swap (tests inject a crash there)."""


def rebuild_beside(index_dir: Path, build: Callable[[Path], T], step: Step | None = None) -> T:
    """Build a new index with ``build(staging_dir)``, then swap it in; returns what it returned.

    Raises:
        IndexLocked: another process is writing to the index at swap time.
        Exception: whatever ``build`` raised; the old index is then untouched.
    """
    index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _rebuild_lock(index_dir):
        _recover(index_dir)
        staging = index_dir / REBUILD_DIR
        try:
            result = build(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        with WriterLock.for_index(index_dir):
            _commit(index_dir, step or _nothing)
            _roll_forward(index_dir, step or _nothing)
    return result


def recover(index_dir: Path) -> str | None:
    """Finish a swap a crash interrupted, or discard a half-built index.

    Returns "finished", "discarded" or None (nothing to do, or a rebuild is running in
    another process: its staging folder is left alone).
    """
    if not any((index_dir / name).exists() for name in (SWAP_JOURNAL, REBUILD_DIR, RETIRED_DIR)):
        return None  # the common case: no lock file created
    try:
        with _rebuild_lock(index_dir):
            return _recover(index_dir)
    except IndexLocked:
        return None


def _recover(index_dir: Path) -> str | None:
    if (index_dir / SWAP_JOURNAL).is_file():
        _roll_forward(index_dir, _nothing)
        return "finished"
    leftovers = [index_dir / REBUILD_DIR, index_dir / RETIRED_DIR]
    if not any(p.exists() for p in leftovers):
        return None
    for path in leftovers:  # a half-built index, or the old one's parts after a swap
        shutil.rmtree(path, ignore_errors=True)
    return "discarded"


def _rebuild_lock(index_dir: Path) -> WriterLock:
    """Held for a whole rebuild, so that no other process discards or swaps it meanwhile."""
    return WriterLock(index_dir / REBUILD_LOCK)


def _commit(index_dir: Path, step: Step) -> None:
    """Write the journal (the parts the new index has) atomically: the commit point."""
    staging = index_dir / REBUILD_DIR
    parts = [p for p in INDEX_PARTS if (staging / p).exists()]
    temporary = index_dir / f"{SWAP_JOURNAL}.tmp"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump({"parts": parts}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    step("journal written")
    os.replace(temporary, index_dir / SWAP_JOURNAL)
    step("journal committed")


def _roll_forward(index_dir: Path, step: Step) -> None:
    """Retire the old parts and install the new ones; safe to run again after a crash."""
    journal = index_dir / SWAP_JOURNAL
    new_parts = set(json.loads(journal.read_text(encoding="utf-8"))["parts"])
    staging, retired = index_dir / REBUILD_DIR, index_dir / RETIRED_DIR
    retired.mkdir(mode=0o700, exist_ok=True)
    for part in INDEX_PARTS:
        current, new = index_dir / part, staging / part
        installing = part in new_parts and new.exists()
        if current.exists() and (installing or part not in new_parts):
            _replace(current, retired / part)
            step(f"retired {part}")
        if installing:
            new.rename(current)
            step(f"installed {part}")
    journal.unlink()
    step("journal removed")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)


def _replace(source: Path, target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    source.rename(target)


def _nothing(_: str) -> None:
    return None
