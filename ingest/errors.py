"""Errors raised while turning files into chunks."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "IngestError",
    "DocumentLoadError",
    "UnsupportedFileType",
    "IndexLocked",
    "IndexMismatch",
]


class IngestError(Exception):
    """Base class of every error this package raises."""


class DocumentLoadError(IngestError):
    """One file could not be read; the run records it and goes on."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class UnsupportedFileType(DocumentLoadError):
    """No loader handles this file's extension."""

    def __init__(self, path: Path | str) -> None:
        suffix = Path(path).suffix or "(no extension)"
        super().__init__(path, f"unsupported file type {suffix}")


class IndexLocked(IngestError):
    """Another ingest is already writing to this index."""


class IndexMismatch(IngestError):
    """The index was built with another embedding model; it must be reset first."""
