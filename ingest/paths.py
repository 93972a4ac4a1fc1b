"""Paths inside the documents folder: the one check that a relative path cannot escape it."""

from __future__ import annotations

from pathlib import Path

from ingest.errors import DocumentLoadError

__all__ = ["inside"]


def inside(folder: Path, relative: str | Path, *, follow_symlinks: bool = True) -> Path:
    """``folder/relative`` resolved, refusing anything that escapes ``folder``.

    ``..`` parts, an absolute ``relative`` and symlinks that point out of the folder
    are all refused, because the result is resolved before it is checked.

    Args:
        folder: the documents folder.
        relative: a path relative to it, as the manifest or a user gives it.
        follow_symlinks: False to get the link itself when the last part is a symlink
            (only its parent is resolved): what deleting a document must unlink, never
            the link's target.

    Raises:
        DocumentLoadError: the path lies outside the folder.
    """
    root = folder.resolve()
    joined = root / relative
    if follow_symlinks:
        target = joined.resolve()
    elif joined.name in ("", ".", ".."):
        raise DocumentLoadError(str(relative), "path outside the documents folder")
    else:
        target = joined.parent.resolve() / joined.name
    if target == root or not target.is_relative_to(root):
        raise DocumentLoadError(str(relative), "path outside the documents folder")
    return target
