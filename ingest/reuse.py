"""Reusing stored vectors for a file whose content is already indexed.

A moved, renamed or copied file's chunks are copied under new ids and labels, never
embedded again.
"""

from __future__ import annotations

from ingest.chunking import chunk_id_for
from ingest.manifest import FileRecord
from ingest.plan import Candidate
from ingest.writer import ChunkWriter
from vectorstore.schema import ChunkMetadata, ChunkRecord, path_fields

__all__ = ["reuse_stored", "relabel"]


def reuse_stored(candidate: Candidate, writer: ChunkWriter) -> int | None:
    """Index ``candidate`` from its source's stored chunks; returns how many, or None.

    None when there is no source or the store lost some of its chunks: the caller
    parses the file instead.
    """
    source = candidate.source
    if source is None:
        return None
    old_ids = writer.manifest.chunk_ids(source.path)
    stored = writer.store.get(old_ids, with_embeddings=True)
    if not old_ids or len(stored) != len(old_ids):
        return None
    stat = candidate.stat
    copies = [
        ChunkRecord(
            chunk_id_for(stat.path, candidate.content_hash, n),
            chunk.text,
            relabel(chunk.metadata, stat.path),
            chunk.embedding,
        )
        for n, chunk in enumerate(stored)
    ]
    writer.write(copies)
    record = FileRecord(
        stat.path,
        stat.size,
        stat.mtime_ns,
        candidate.content_hash,
        source.pages,
        len(copies),
        warning=source.warning,  # the same content, read as far as before
    )
    writer.commit(record, [c.id for c in copies])
    return len(copies)


def relabel(metadata: ChunkMetadata, path: str) -> ChunkMetadata:
    """The metadata of a chunk copied to a file at ``path``."""
    return ChunkMetadata(**{**metadata, **path_fields(path)})
