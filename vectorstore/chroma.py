"""Chroma, embedded or client/server, behind a small batched interface.

Everything that knows chromadb lives here. Vectors are always computed by our
own embedder and passed in: the collection has no embedding function, so
Chroma never fetches its default ONNX model from the network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorstore.errors import StoreUnavailable

__all__ = ["ChromaStore", "StoredChunk", "VectorHit", "open_chroma_client"]

Metadata = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as stored: id, text, metadata and (when asked for) its vector."""

    id: str
    text: str
    metadata: Metadata
    embedding: list[float] | None = None


@dataclass(frozen=True)
class VectorHit:
    """A vector search result; ``similarity`` is cosine similarity in [-1, 1]."""

    id: str
    text: str
    metadata: Metadata
    similarity: float


def open_chroma_client(
    persist_dir: Path | None = None, host: str | None = None, port: int = 8000
) -> Any:
    """Open an embedded (``persist_dir``) or a server (``host``) Chroma client, telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
        if persist_dir is None:
            raise StoreUnavailable("either a persist folder or a Chroma host is needed")
        persist_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(persist_dir), settings=chroma_settings)
    except StoreUnavailable:
        raise
    except Exception as exc:  # chromadb raises many types; one readable error for the user
        where = f"{host}:{port}" if host else str(persist_dir)
        raise StoreUnavailable(f"cannot open Chroma at {where}: {exc}") from exc


@contextmanager
def _chroma_errors(action: str) -> Iterator[None]:
    """Turn chromadb's many exception types into one readable ``StoreUnavailable``.

    The common cause in practice: another process changed an embedded index that
    this one has open (Chroma's embedded mode is not multi-process safe).
    """
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(
            f"Chroma failed to {action}: {exc}. If another process wrote to this embedded "
            "index, restart this one, or use a Chroma server (docs/deployment.md)"
        ) from exc


class ChromaStore:
    """One Chroma collection in cosine space, written and read in bounded batches."""

    def __init__(self, client: Any, collection_name: str) -> None:
        self.client = client
        self.collection_name = collection_name
        self.collection = client.get_or_create_collection(
            name=collection_name,
            metadata={"hnsw:space": "cosine"},
            embedding_function=None,
        )
        self.max_batch = int(client.get_max_batch_size())

    def _batches(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self.max_batch):
            yield slice(start, min(start + self.max_batch, n))

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self.collection.count())

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None:
        """Write chunks; ids are deterministic, so writing twice is harmless."""
        with _chroma_errors("write chunks"):
            for part in self._batches(len(ids)):
                self.collection.upsert(
                    ids=list(ids[part]),
                    embeddings=[list(e) for e in embeddings[part]],
                    documents=list(texts[part]),
                    metadatas=[dict(m) for m in metadatas[part]],
                )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id; unknown ids are ignored."""
        with _chroma_errors("delete chunks"):
            for part in self._batches(len(ids)):
                self.collection.delete(ids=list(ids[part]))

    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> list[StoredChunk]:
        """Fetch chunks by id, in the order asked; missing ids are left out."""
        found: dict[str, StoredChunk] = {}
        for part in self._batches(len(ids)):
            found.update(self._get_batch(list(ids[part]), with_embeddings))
        return [found[i] for i in ids if i in found]

    def _get_batch(self, ids: list[str], with_embeddings: bool) -> dict[str, StoredChunk]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        with _chroma_errors("read chunks"):
            got = self.collection.get(ids=ids, include=include)
        return {chunk.id: chunk for chunk in _stored_chunks(got, with_embeddings)}

    def iter_all(self, page_size: int = 5000) -> Iterator[StoredChunk]:
        """Every stored chunk (text and metadata), page by page."""
        offset = 0
        page = min(page_size, self.max_batch)
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            chunks = list(_stored_chunks(got, False))
            yield from chunks
            if len(chunks) < page:
                return
            offset += page

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[VectorHit]:
        """Nearest chunks to a unit vector, most similar first."""
        n = min(k, self.count())
        if n == 0:
            return []
        with _chroma_errors("search"):
            got = self.collection.query(
                query_embeddings=[list(embedding)],
                n_results=n,
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        return [
            VectorHit(id=i, text=t or "", metadata=dict(m or {}), similarity=1.0 - float(d))
            for i, t, m, d in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]

    def reset(self) -> None:
        """Drop and recreate the collection."""
        self.client.delete_collection(self.collection_name)
        self.collection = self.client.get_or_create_collection(
            name=self.collection_name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )


def _stored_chunks(got: Any, with_embeddings: bool) -> Iterator[StoredChunk]:
    embeddings = got.get("embeddings") if with_embeddings else None
    for n, chunk_id in enumerate(got["ids"]):
        vector = None
        if embeddings is not None:
            vector = [float(x) for x in embeddings[n]]
        yield StoredChunk(
            id=chunk_id,
            text=got["documents"][n] or "",
            metadata=dict(got["metadatas"][n] or {}),
            embedding=vector,
        )
