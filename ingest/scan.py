"""Listing the documents folder and fingerprinting files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from ingest.errors import DocumentLoadError
from ingest.exclusions import EXCLUDED_REASON
from ingest.loaders import supported_extensions
from ingest.paths import inside

__all__ = ["FileStat", "ScanResult", "scan_folder", "hash_file"]

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileStat:
    """A file found in the folder: path relative to the folder (POSIX), size, mtime."""

    path: str
    abs_path: Path
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    """Files to consider, and files left alone with the reason why."""

    files: list[FileStat]
    skipped: list[tuple[str, str]]


def hash_file(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (never the whole file at once)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def scan_folder(folder: Path, excluded: Collection[str] = frozenset()) -> ScanResult:
    """List supported files below ``folder``; skip hidden ones, lock files, outside symlinks.

    ``excluded`` paths (relative) are skipped too: the person removed them from the index.
    """
    root = folder.resolve()
    result = ScanResult(files=[], skipped=[])
    extensions = supported_extensions()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if name.startswith("~$"):  # Office's lock file beside an open document
                result.skipped.append((rel, "an open document's lock file"))
            elif rel in excluded:
                result.skipped.append((rel, EXCLUDED_REASON))
            elif not name.startswith("."):
                _consider(root, Path(dirpath) / name, extensions, result)
    return result


def _consider(root: Path, path: Path, extensions: frozenset[str], result: ScanResult) -> None:
    rel = path.relative_to(root).as_posix()
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except (OSError, RuntimeError):  # a loop or a dangling link
            result.skipped.append((rel, "broken or looping symlink"))
            return
        try:
            inside(root, rel)
        except DocumentLoadError:
            result.skipped.append((rel, "symlink pointing outside the documents folder"))
            return
    if path.suffix.lower() not in extensions:
        result.skipped.append((rel, f"unsupported file type {path.suffix or '(none)'}"))
        return
    try:
        stat = path.stat()
    except OSError as exc:
        result.skipped.append((rel, f"cannot stat: {exc.strerror or exc}"))
        return
    if not S_ISREG(stat.st_mode):  # a FIFO or device would block the hash and the loader
        result.skipped.append((rel, "not a regular file"))
        return
    result.files.append(FileStat(rel, path, stat.st_size, stat.st_mtime_ns))
