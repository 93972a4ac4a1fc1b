"""Saving files uploaded through the app into the documents folder.

The documents folder is the user's: an upload may add a file there, but never
writes outside it, never creates a hidden file, and never replaces a file the
user already has. A name that is taken by different content gets a numbered
copy (``report (1).pdf``), the way desktop file managers do.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from gpt4all_rag.errors import AssistantError
from ingest.loaders import supported_extensions
from ingest.scan import hash_file

__all__ = ["UploadRejected", "safe_upload_name", "save_upload"]

_MAX_NAME_BYTES = 255
_MAX_COPIES = 999
_MEGABYTE = 1024 * 1024
# Unicode categories a file name may not hold: controls (Cc), invisible format characters
# (Cf: bidi overrides that make "evil\u202efdp.exe" read as "evilexe.pdf", zero-width
# spaces and joiners that make two names look alike), surrogates, line and paragraph
# separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class UploadRejected(AssistantError):
    """An uploaded file was not saved; ``reason`` says why, in words for the user."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name!r} was not saved: {reason}")
        self.name = name
        self.reason = reason


def safe_upload_name(name: str) -> str:
    """Return ``name`` if it is a plain, visible file name of a supported type.

    Raises:
        UploadRejected: The name is a path, hidden, empty, too long, holds control
            or invisible formatting characters, or has an extension no loader reads.
    """
    reason = _name_problem(name)
    if reason is not None:
        raise UploadRejected(name, reason)
    return name


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file in the documents folder, or None if it can."""
    if not name.strip():
        return "the file name is empty"
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        return "the file name contains control or invisible characters"
    if "/" in name or "\\" in name:
        return "a file name, not a path, is expected"
    if name.startswith("."):
        return "hidden files (names starting with a dot) are not accepted"
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        return f"the file name is longer than {_MAX_NAME_BYTES} bytes"
    suffix = Path(name).suffix.lower()
    if suffix not in supported_extensions():
        return f"unsupported file type {suffix or '(none)'}"
    return None


def save_upload(folder: Path, name: str, data: bytes, max_mb: float | None = None) -> Path:
    """Save an uploaded file into ``folder`` and return where it is.

    A file with the same name and the same bytes is left as it is and returned
    (uploading twice is a no-op); one with different bytes is kept, and the
    upload is saved as ``name (1).ext``, ``name (2).ext``, ... instead. The
    bytes are written to a hidden temporary file first, so a sync running at
    the same time never sees half a file. A file over ``max_mb`` megabytes (the
    index's ``max_file_mb``) is refused: the sync would skip it anyway.

    Raises:
        UploadRejected: The name is unsafe or unsupported (see ``safe_upload_name``),
            or the file is larger than ``max_mb``.
        OSError: The folder cannot be written.
    """
    clean = safe_upload_name(name)
    if max_mb is not None and len(data) > max_mb * _MEGABYTE:
        raise UploadRejected(name, f"the file is larger than {max_mb:g} MB")
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    staged = _stage(folder, data)
    try:
        for candidate in _candidates(folder, clean):
            if candidate.exists():
                if _same_content(candidate, len(data), digest):
                    return candidate
                continue
            if _place(staged, candidate):
                return candidate
    finally:
        staged.unlink(missing_ok=True)
    raise UploadRejected(name, f"more than {_MAX_COPIES} files with this name already exist")


def _candidates(folder: Path, name: str) -> Iterator[Path]:
    """``name``, then ``stem (1).ext`` ... ``stem (999).ext``."""
    yield folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    for number in range(1, _MAX_COPIES + 1):
        yield folder / f"{stem} ({number}){suffix}"


def _stage(folder: Path, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file in ``folder`` (the sync skips dot files)."""
    fd, temp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(temp_name)


def _place(staged: Path, target: Path) -> bool:
    """Give the staged bytes the name ``target``; False if that name was taken meanwhile.

    A hard link never replaces an existing file (``rename`` would); file systems
    without hard links get an exclusive create and a copy instead.
    """
    try:
        os.link(staged, target)
    except FileExistsError:
        return False
    except OSError:
        try:
            with target.open("xb") as handle:
                handle.write(staged.read_bytes())
        except FileExistsError:
            return False
    return True


def _same_content(path: Path, size: int, digest: str) -> bool:
    """Whether the file at ``path`` holds exactly the bytes hashed to ``digest``."""
    if not path.is_file() or path.stat().st_size != size:
        return False
    return hash_file(path) == digest
