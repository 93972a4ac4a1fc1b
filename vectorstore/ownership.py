"""Folders this project created, and may therefore delete or replace.

A user can point ``--index`` at any folder, even ``~/notes``. Whatever this project
removes (a keyword index being replaced, an index being reset) must be a folder it
made: each such folder carries a marker file, written when it is created.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from vectorstore.errors import VectorStoreError

__all__ = ["INDEX_MARKER", "NotOurFolder", "is_marked", "mark", "remove_own_folder"]

INDEX_MARKER = ".gpt4all-rag"


class NotOurFolder(VectorStoreError):
    """A folder this project was about to delete or replace was not created by it."""


def mark(folder: Path, kind: str) -> None:
    """Write the marker that says ``folder`` is ours (``kind``: what it holds)."""
    (folder / INDEX_MARKER).write_text(json.dumps({"kind": kind}) + "\n", encoding="utf-8")


def is_marked(folder: Path, kind: str) -> bool:
    """Whether ``folder`` carries our marker for ``kind``."""
    try:
        data = json.loads((folder / INDEX_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == kind


def remove_own_folder(folder: Path, kind: str, legacy: bool = False) -> None:
    """Delete ``folder`` if it is ours; a missing folder is fine.

    Args:
        folder: the folder to delete.
        kind: the marker it must carry.
        legacy: it counts as ours without the marker (the caller recognised the layout
            that older versions wrote).

    Raises:
        NotOurFolder: it exists and is not ours; nothing is deleted.
    """
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir() or not (legacy or is_marked(folder, kind)):
        raise NotOurFolder(
            f"refusing to delete {folder}: gpt4all-rag did not create it "
            "(move it away, or choose another --index folder)"
        )
    shutil.rmtree(folder)
