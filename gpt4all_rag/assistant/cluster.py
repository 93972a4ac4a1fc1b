"""The cluster ingest's wiring: the embedder each Ray node builds, from the settings.

Only the embedder's own settings travel to the nodes (no tokens, no keys); the
chunker and the limits are taken from the assistant's indexer (``ingest.cluster``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.index.embedders import build_embedder
from gpt4all_rag.settings import Settings
from ingest.cluster.sync import sync_on_cluster
from vectorstore.embeddings import offline_environment

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from gpt4all_rag.assistant.single import DocumentAssistant
    from ingest.report import ProgressCallback, SyncReport

__all__ = ["EMBEDDER_FIELDS", "ingest_on_cluster", "node_embedder"]

EMBEDDER_FIELDS = (
    "embedding_backend",
    "embedding_model_path",
    "embedding_batch_size",
    "embedding_device",
    "embedding_precision",
)


def node_embedder(fields: dict[str, Any]) -> Embeddings:
    """The embedder of these settings, built on a node (offline, as locally)."""
    offline_environment()
    return build_embedder(Settings.model_construct(**fields))


def ingest_on_cluster(
    assistant: DocumentAssistant,
    address: str,
    folder: Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    force: bool = False,
) -> SyncReport:
    """``assistant.ingest`` with parsing, chunking and embedding on the Ray cluster at ``address``.

    Raises:
        ClusterUnavailable: Ray is not installed, or no cluster answers at ``address``.
    """
    fields = {name: getattr(assistant.settings, name) for name in EMBEDDER_FIELDS}
    key = hashlib.sha256(json.dumps(fields, default=str, sort_keys=True).encode()).hexdigest()
    return sync_on_cluster(
        assistant.indexer,
        address,
        functools.partial(node_embedder, fields),
        key,
        Path(folder) if folder is not None else assistant.settings.documents_dir,
        progress,
        allow_new_folder=force,
    )
