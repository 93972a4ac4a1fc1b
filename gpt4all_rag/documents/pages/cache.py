"""Rendered pages kept under the index folder (``pages/``), bounded in bytes.

One PNG and one JSON of word boxes per page, named by a key the renderer makes from
the file's path, size, mtime and the page, so a changed file is rendered afresh.
The least recently used pages go first.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.atomic import write_atomic

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["CACHE_FOLDER", "PageCache"]

CACHE_FOLDER = "pages"
"""The folder, under the index folder, that keeps rendered pages."""


class PageCache:
    """Rendered pages in a folder, bounded in total bytes; the least recently used go first.

    Each entry is two files, ``<key>.png`` and ``<key>.json``, written whole under a
    temporary name and renamed, so a reader never sees half of one. Reading an entry
    touches it; that modification time is the LRU order, so processes that share an
    index folder share one cache without a lock.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    @classmethod
    def for_settings(cls, settings: Settings) -> PageCache:
        """The cache under the settings' index folder, bounded by ``page_cache_mb``."""
        return cls(settings.index_dir / CACHE_FOLDER, int(settings.page_cache_mb * (1 << 20)))

    def load(self, key: str) -> tuple[bytes, dict[str, Any]] | None:
        """The PNG and word data stored under ``key``, or None."""
        png_path, meta_path = self._paths(key)
        try:
            png = png_path.read_bytes()
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            now = time.time()
            for path in (png_path, meta_path):
                os.utime(path, (now, now))
        except (OSError, ValueError):
            return None
        return png, meta

    def store(self, key: str, png: bytes, meta: dict[str, Any]) -> None:
        """Keep an entry, then evict the oldest until the folder fits its bound."""
        if self.max_bytes <= 0:
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        png_path, meta_path = self._paths(key)
        write_atomic(meta_path, json.dumps(meta).encode())
        write_atomic(png_path, png)
        self.evict()

    def total_bytes(self) -> int:
        """Bytes the entries take now."""
        return sum(size for _, size, _ in self._entries())

    def evict(self) -> list[str]:
        """Remove the least recently used entries until the rest fit; return their keys."""
        entries = sorted(self._entries(), key=lambda entry: entry[2])
        total = sum(size for _, size, _ in entries)
        evicted: list[str] = []
        for key, size, _ in entries:
            if total <= self.max_bytes:
                break
            for path in self._paths(key):
                path.unlink(missing_ok=True)
            total -= size
            evicted.append(key)
        return evicted

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.png", self.folder / f"{key}.json"

    def _entries(self) -> list[tuple[str, int, float]]:
        """``(key, bytes, last used)`` of each entry."""
        found: dict[str, tuple[int, float]] = {}
        try:
            listing = list(os.scandir(self.folder))
        except OSError:
            return []
        for entry in listing:
            stem, dot, suffix = entry.name.partition(".")
            if not dot or suffix not in ("png", "json"):
                continue
            try:
                info = entry.stat()
            except OSError:
                continue
            size, used = found.get(stem, (0, 0.0))
            found[stem] = (size + info.st_size, max(used, info.st_mtime))
        return [(key, size, used) for key, (size, used) in found.items()]
