"""The refusals that keep a sync from wrecking an index.

Each guards against a folder or a setting that would silently replace or empty an
index: another embedding model, a missing or other folder, an empty mount point.
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import DocumentLoadError, EmptyFolder, FolderMismatch, IndexMismatch
from ingest.manifest import FileRecord, IndexFingerprint, Manifest
from ingest.scan import FileStat

__all__ = ["check_fingerprint", "check_folder", "check_not_emptied"]


def check_fingerprint(manifest: Manifest, fingerprint: IndexFingerprint) -> bool:
    """Refuse another embedding model; re-chunk everything if chunking changed.

    Returns whether every file must be chunked again.
    """
    stored_model = manifest.embedding_model
    if stored_model and stored_model != fingerprint.embedding_model:
        raise IndexMismatch(
            f"this index was built with the embedding model {stored_model!r}, not "
            f"{fingerprint.embedding_model!r}: run `gpt4all-rag ingest --rebuild` "
            "(builds the new index beside this one), `gpt4all-rag reset --yes`, "
            "or use another --index folder"
        )
    stored = manifest.fingerprint
    return stored is not None and stored.chunking != fingerprint.chunking


def check_folder(manifest: Manifest, folder: Path, allow_new_folder: bool) -> None:
    """Refuse a missing folder, and a folder other than the one the index was built from.

    A missing folder (an unmounted drive) would read as empty and delete every file
    from the index; another folder would replace the index's files with its own.
    """
    if not folder.is_dir():
        raise DocumentLoadError(folder, "not a folder (create it and put documents in it)")
    stored = manifest.documents_folder
    if stored is not None and stored != folder.resolve() and not allow_new_folder:
        raise FolderMismatch(stored, folder.resolve())


def check_not_emptied(
    folder: Path, files: list[FileStat], records: dict[str, FileRecord], allow: bool
) -> None:
    """Refuse to delete every indexed file because the folder reads as empty.

    An empty mount point (a drive not mounted yet) looks like a folder whose files
    were all deleted; the index would be emptied, and rebuilt at length later.
    ``allow``: the caller said an empty folder is meant.
    """
    if files or not records or allow:
        return
    raise EmptyFolder(folder.resolve(), len(records))
