"""What an index holds, read from its manifest: no store, model or LangChain loaded.

Why: ``gpt4all-rag status`` only reads counts and dates, yet building the assistant
imports LangChain, the ingest pipeline and the answer flow (0.6 s on 2 cores), more
than the whole command should take. The index's own records win over the settings:
the documents folder and the embedding model it was built with are shown as
recorded, and the configured ones only for an index never synced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.settings import HASH_EMBEDDER_NAME
from gpt4all_rag.settings_indexing import DEFAULT_COLLECTION
from ingest.index_folder import claim_index_folder
from ingest.manifest import Manifest
from ingest.replica import open_manifest
from ingest.watch_record import read_watch_records
from vectorstore.schema import model_folder_name

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = [
    "DocumentInfo",
    "IndexStatus",
    "configured_embedder_name",
    "index_status",
    "status_of",
]


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed file, for listings."""

    path: str
    pages: int
    chunks: int
    size: int
    indexed_at: float
    collection: str = DEFAULT_COLLECTION


@dataclass(frozen=True)
class IndexStatus:
    """What ``gpt4all-rag status`` shows.

    ``warnings`` holds (file, reason) for each file indexed only in part (a damaged PDF,
    OCR stopped at its per-file limit): searchable as far as it was read.
    """

    index_dir: str
    documents_dir: str
    files: int
    chunks: int
    failed: int
    size_bytes: int
    embedding_model: str
    store: str
    last_sync: str | None
    warnings: tuple[tuple[str, str], ...] = ()
    watchers: tuple[dict[str, Any], ...] = ()

    @property
    def watching(self) -> bool:
        """Whether a live watcher keeps this index in step with its folder."""
        return any(w.get("alive") for w in self.watchers)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; each warning as ``{"file", "reason"}``, as in ``ingest --json``.

        ``watchers`` holds each watcher's record (pid, command, started, last_change,
        pending, syncing, error, alive); a record whose process is gone is ``alive: false``.
        """
        data = dict(self.__dict__)
        data["warnings"] = [{"file": f, "reason": r} for f, r in self.warnings]
        data["watching"] = self.watching
        data["watchers"] = list(self.watchers)
        return data


def index_status(settings: Settings) -> IndexStatus:
    """The status of the index the settings name (a named collection's too)."""
    if settings.collection != DEFAULT_COLLECTION:
        from gpt4all_rag.index.registry import resolve_collection  # the registry: on use only

        settings = resolve_collection(settings)
    claim_index_folder(settings.index_dir, settings.documents_dir)
    manifest = open_manifest(settings.index_dir, settings.replica_of, settings.replica_poll_s)
    try:
        return status_of(settings, manifest, configured_embedder_name(settings))
    finally:
        manifest.close()


def status_of(settings: Settings, manifest: Manifest, embedder_name: str) -> IndexStatus:
    """The status from an open manifest; ``embedder_name`` for an index never synced."""
    store = (
        f"chroma server {settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_host
        else "embedded"
    )
    return IndexStatus(
        index_dir=str(settings.index_dir),
        documents_dir=str(manifest.documents_folder or settings.documents_dir),
        files=len(manifest.files()),
        chunks=manifest.chunk_count(),
        failed=len(manifest.failures()),
        size_bytes=folder_size(settings.index_dir),
        embedding_model=manifest.embedding_model or embedder_name,
        store=store,
        last_sync=_iso(manifest.last_sync),
        warnings=tuple(sorted(manifest.warnings().items())),
        watchers=tuple(read_watch_records(Path(settings.index_dir))),
    )


def configured_embedder_name(settings: Settings) -> str:
    """The name the configured embedder records in an index, without building it."""
    if settings.embedding_backend == "hash":
        return HASH_EMBEDDER_NAME
    return model_folder_name(settings.resolved_embedding_model())


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder`` (files that vanish meanwhile count 0)."""
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                continue
    return total


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
