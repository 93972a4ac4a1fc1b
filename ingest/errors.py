"""Errors raised while turning files into chunks."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "IngestError",
    "DocumentLoadError",
    "UnsupportedFileType",
    "IndexLocked",
    "ReadOnlyIndex",
    "IndexMismatch",
    "FolderMismatch",
    "EmptyFolder",
    "IndexFolderRefused",
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


class ReadOnlyIndex(IngestError):
    """A write asked of a process that only reads a published index (a replica)."""


class IndexMismatch(IngestError):
    """The index was built with another embedding model; it must be reset first."""


class FolderMismatch(IndexMismatch):
    """The index was built from another documents folder.

    Syncing would replace that folder's files with this one's (or, for an unmounted
    drive, delete them all): refused unless asked for (``allow_new_folder``, ``--force``).
    """

    def __init__(self, indexed: Path, given: Path) -> None:
        super().__init__(
            f"this index was built from {indexed}, not {given}: use --force to index "
            f"{given} into it instead, or use another --index folder"
        )
        self.indexed = indexed
        self.given = given


class EmptyFolder(IndexMismatch):
    """The documents folder is empty while the index holds files: refused unless forced.

    An empty mount point (a drive not mounted yet, a network share down) reads exactly
    like a folder whose files were all deleted.
    """

    def __init__(self, folder: Path, indexed: int) -> None:
        super().__init__(
            f"{folder} is empty but the index holds {indexed} file(s): is a drive not "
            "mounted? Syncing would remove them all from the index; use --force to do so"
        )
        self.folder = folder
        self.indexed = indexed


class IndexFolderRefused(IngestError):
    """A folder cannot be used as an index: it is not ours, or it overlaps the documents."""
