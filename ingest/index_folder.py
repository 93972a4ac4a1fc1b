"""Claiming an index folder: ours, owner-only, and apart from the documents folder.

The index folder is written and, on reset, emptied: it must never be a folder that
holds anything else. ``claim_index_folder`` is called once by whoever opens an index
(the assistant factory) before anything is written there.
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import IndexFolderRefused
from ingest.manifest import MANIFEST_FILE
from ingest.rebuild import recover
from vectorstore.ownership import is_marked, mark

__all__ = ["INDEX_KIND", "claim_index_folder"]

INDEX_KIND = "index"


def claim_index_folder(index_dir: Path, documents_dir: Path | None = None) -> Path:
    """Check that ``index_dir`` may be used as an index, create and mark it; return it resolved.

    A new or empty folder is created (owner-only) and marked. A marked folder is ours.
    A folder an older version built (it has ``manifest.sqlite3``) is ours too and is
    marked now. Anything else is refused.

    Args:
        index_dir: where the index lives.
        documents_dir: the documents folder; neither folder may be inside the other.

    Raises:
        IndexFolderRefused: a non-empty folder we did not create, or folders that overlap.
    """
    index = index_dir.expanduser().resolve()
    if documents_dir is not None:
        _refuse_overlap(index, documents_dir.expanduser().resolve())
    if index.exists() and not index.is_dir():
        raise IndexFolderRefused(f"the index folder {index} is a file, not a folder")
    if not is_marked(index, INDEX_KIND):
        _refuse_foreign(index)
        index.mkdir(mode=0o700, parents=True, exist_ok=True)
        mark(index, INDEX_KIND)
    index.chmod(0o700)
    recover(index)  # a swap a crash interrupted is finished, a half-built index discarded
    return index


def _refuse_overlap(index: Path, documents: Path) -> None:
    if index.is_relative_to(documents):
        raise IndexFolderRefused(
            f"the index folder {index} is inside the documents folder {documents}: "
            "it would be indexed itself; choose an index folder outside it"
        )
    if documents.is_relative_to(index):
        raise IndexFolderRefused(
            f"the documents folder {documents} is inside the index folder {index}: "
            "a reset would delete documents; choose an index folder outside it"
        )


def _refuse_foreign(index: Path) -> None:
    """Refuse a folder with contents that no version of this project wrote."""
    if not index.exists() or (index / MANIFEST_FILE).is_file():
        return
    if any(index.iterdir()):
        raise IndexFolderRefused(
            f"the index folder {index} is not empty and was not created by gpt4all-rag: "
            "choose a new or empty folder"
        )
