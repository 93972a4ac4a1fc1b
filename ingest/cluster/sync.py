"""A sync whose parsing, chunking and embedding run on a Ray cluster.

The driver's ``Indexer`` does everything else as usual: it plans the sync from the
manifest, reuses stored vectors, and writes through its one ``ChunkWriter``, in the
same crash-safe order. Only where chunks and vectors come from changes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ingest.cluster.dispatch import ClusterPreparer, connected
from ingest.cluster.recipe import EmbedderFactory, WorkerRecipe
from ingest.cluster.vectors import PrecomputedEmbedder
from ingest.pipeline import Indexer
from ingest.report import ProgressCallback, SyncReport

__all__ = ["on_cluster", "sync_on_cluster"]


def on_cluster(indexer: Indexer, preparer: ClusterPreparer) -> Indexer:
    """A copy of ``indexer`` that takes its chunks and vectors from ``preparer``."""
    clone = copy.copy(indexer)
    clone.embedder = preparer.vectors
    clone.preparer = preparer  # type: ignore[assignment]  # same prepare_all, stream_chunks
    return clone


def sync_on_cluster(
    indexer: Indexer,
    address: str,
    embedder: EmbedderFactory,
    key: str,
    folder: Path,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> SyncReport:
    """``indexer.sync(folder, progress, **options)`` with the work done on a Ray cluster.

    Args:
        indexer: the local indexer: its store, manifest, chunker and limits are used.
        address: the cluster, ``auto`` or ``host:port`` of its head node.
        embedder: builds, on each node, the embedder ``indexer`` embeds with.
        key: names that embedder's settings (a node builds it once per key).
        folder: the documents folder.
        progress: told of each file stored, as a local sync tells it.
        options: the keyword arguments of ``Indexer.sync``.

    Raises:
        ClusterUnavailable: Ray is not installed, or no cluster answers at ``address``.
    """
    with connected(address) as ray:
        recipe = WorkerRecipe.of(indexer, embedder, key)
        vectors = PrecomputedEmbedder(indexer.embedder)
        preparer = ClusterPreparer(ray, recipe, vectors, indexer.preparer)
        report = on_cluster(indexer, preparer).sync(folder, progress, **options)
    # Files finish in whichever order the nodes take: the lists are sorted, so that a
    # report does not depend on it.
    report.added.sort()
    report.updated.sort()
    return report
