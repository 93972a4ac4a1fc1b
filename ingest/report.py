"""What a sync tells: its report at the end, and progress events on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STAGES", "ProgressCallback", "ProgressEvent", "SyncReport"]

STAGES = ("scan", "parse", "chunk", "embed", "write", "keyword")


@dataclass
class SyncReport:
    """What a sync did; ``to_json`` is the CLI's ``--json`` contract.

    ``failed`` and ``warnings`` cover the whole index after the sync, not only the files
    read in it: a bad file stays failed, and a file indexed only in part (a damaged PDF,
    OCR stopped at its limit) keeps its warning, until the file changes.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    pages: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def changed(self) -> bool:
        """Whether the stored chunks differ from before the sync."""
        return bool(self.added or self.updated or self.moved or self.deleted)

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON types, paths relative to the documents folder."""
        return {
            "added": self.added,
            "updated": self.updated,
            "moved": [{"from": a, "to": b} for a, b in self.moved],
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "failed": [{"file": f, "reason": r} for f, r in self.failed],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"file": f, "reason": r} for f, r in self.warnings],
            "chunks_added": self.chunks_added,
            "chunks_reused": self.chunks_reused,
            "chunks_total": self.chunks_total,
            "pages": self.pages,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of the files that need parsing (the slow part of a sync).

    ``bytes_done`` of ``bytes_total`` (the files' sizes) gives an ETA where a count of
    files cannot (one 3,000-page manual among small notes): the first event, before any
    file is read, holds the total, and the bytes of a file grow as its chunks are stored.
    """

    files_done: int
    files_total: int
    chunks_done: int
    current: str
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[ProgressEvent], None]
