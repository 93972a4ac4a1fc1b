"""The one place that writes chunks: crash safety lives here and nowhere else.

The order is the guarantee. Ids are marked dirty in the manifest before they reach the
store; the keyword index stages their tokens; a file is committed in the manifest only
once all its chunks are stored; ``repair`` deletes whatever is dirty and not committed.
So a run killed at any moment leaves nothing that the next ``repair`` does not remove,
and no file recorded as done with chunks missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingest.manifest import FileRecord, Manifest
from ingest.timer import StageTimer
from vectorstore.schema import ChunkMetadata, ChunkRecord

__all__ = ["ChunkStore", "ChunkWriter", "KeywordRebuilder"]


class ChunkStore(Protocol):
    """What the pipeline needs of a vector store (``vectorstore.chroma.ChromaStore``)."""

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[ChunkMetadata],
    ) -> None:
        """Write chunks by id (idempotent)."""

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id."""

    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> list[ChunkRecord]:
        """Fetch chunks by id, in the order asked; missing ids are left out."""

    def publish(self) -> None:
        """Make the writes so far visible to other processes (they are complete)."""


class KeywordRebuilder(Protocol):
    """A keyword index brought up to date after a change (``vectorstore.keyword``)."""

    def stage(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[ChunkMetadata]
    ) -> None:
        """Take note of chunks just written."""

    def discard_staged(self) -> None:
        """Forget chunks taken note of and not committed."""

    def commit(self, ids: Sequence[str], fetch: ChunkFetch) -> None:
        """Index exactly ``ids``; ``fetch(ids)`` reads chunks it has no tokens for."""

    def exists(self) -> bool:
        """Whether an index was built."""


class ChunkFetch(Protocol):
    """Reads chunks back from the store (``ChunkStore.get``)."""

    def __call__(self, ids: Sequence[str]) -> list[ChunkRecord]:
        """The stored chunks among ``ids``."""


class ChunkWriter:
    """Writes chunks to the store and commits files in the manifest, in the safe order.

    Args:
        store: the vector store.
        manifest: the commit log.
        keywords: the keyword index, told of every chunk written (None: no keyword index).
        timer: charged with the "write" stage.
    """

    def __init__(
        self,
        store: ChunkStore,
        manifest: Manifest,
        keywords: KeywordRebuilder | None = None,
        timer: StageTimer | None = None,
    ) -> None:
        self.store = store
        self.manifest = manifest
        self.keywords = keywords
        self.timer = timer or StageTimer()

    def write(self, records: Sequence[ChunkRecord]) -> None:
        """Store chunks (with their embeddings): dirty first, then the store, then keywords."""
        if not records:
            return
        with self.timer("write"):
            ids = [r.id for r in records]
            texts = [r.text for r in records]
            metadatas = [r.metadata for r in records]
            self.manifest.mark_dirty(ids)
            self.store.upsert(ids, [_vector(r) for r in records], texts, metadatas)
            if self.keywords is not None:
                self.keywords.stage(ids, texts, metadatas)

    def commit(self, record: FileRecord, ids: Sequence[str]) -> None:
        """Record a file as indexed with ``ids``, all written; its old chunks become dirty."""
        with self.timer("write"):
            self.manifest.commit_file(record, ids)

    def remove(self, path: str) -> None:
        """Forget a file; its chunks become dirty, deleted by the next ``repair``."""
        self.manifest.remove_file(path)

    def repair(self) -> int:
        """Delete chunks written and not committed (or replaced); returns how many."""
        with self.timer("write"):
            stale = self.manifest.stale_ids()
            self.store.delete(stale)
            self.manifest.clear_dirty()
        return len(stale)

    def start(self) -> int:
        """Begin a writing session: repair what a killed run left, forget staged tokens."""
        repaired = self.repair()
        if self.keywords is not None:
            self.keywords.discard_staged()
        return repaired

    def commit_keywords(self) -> None:
        """Rebuild the keyword index over exactly the committed chunks."""
        if self.keywords is None:
            return
        self.keywords.commit(self.manifest.all_chunk_ids(), self.store.get)
        self.manifest.keywords_current = True


def _vector(record: ChunkRecord) -> list[float]:
    if record.embedding is None:
        raise ValueError(f"chunk {record.id} has no embedding to store")
    return record.embedding
