"""One Chroma collection behind a small batched interface: the store the index writes and searches.

Opening the client is ``vectorstore.chroma_client``'s; keeping processes on one
embedded folder in step is ``vectorstore.chroma_connection``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from vectorstore.chroma_client import chroma_errors, open_chroma_client
from vectorstore.chroma_connection import Connection, embedded_connection
from vectorstore.errors import StoreUnavailable
from vectorstore.schema import ChunkMetadata, ChunkRecord

__all__ = ["ChromaStore", "VectorHit"]


@dataclass(frozen=True)
class VectorHit:
    """A vector search result; ``similarity`` is cosine similarity in [-1, 1]."""

    id: str
    text: str
    metadata: ChunkMetadata
    similarity: float


class ChromaStore:
    """One Chroma collection in cosine space, written and read in bounded batches.

    Build it with :meth:`embedded` or :meth:`server`; the constructor takes a ready
    client (for TLS, a token or any other client option) and treats it as a server.
    """

    def __init__(self, client: Any, collection_name: str) -> None:
        connection = Connection(client)
        self._setup(lambda: connection, collection_name)
        _ = self.max_batch  # a server that does not answer fails here, at once

    @classmethod
    def embedded(cls, folder: Path, collection_name: str) -> ChromaStore:
        """A store in a local folder, kept in step with other processes that use it.

        The folder is opened on first use, not here: importing chromadb and opening
        its client take about a second, which ``gpt4all-rag status`` never needs.
        """
        store = cls.__new__(cls)
        store._setup(lambda: embedded_connection(folder), collection_name)
        return store

    @classmethod
    def server(
        cls,
        host: str,
        port: int,
        collection_name: str,
        *,
        token: str | None = None,
        ssl: bool = False,
    ) -> ChromaStore:
        """A store on a Chroma server: HTTPS when ``ssl``, token auth when ``token``.

        The connection never goes through a proxy from ``HTTP(S)_PROXY``.
        """
        client = open_chroma_client(host=host, port=port, token=token, ssl=ssl)
        return cls(client, collection_name)

    def _setup(self, connect: Callable[[], Connection], collection_name: str) -> None:
        self._connect = connect
        self._opened: Connection | None = None
        self._open_lock = threading.Lock()
        self._max_batch: int | None = None
        self.collection_name = collection_name
        self._generation = -1

    @property
    def _connection(self) -> Connection:
        if self._opened is None:
            with self._open_lock, chroma_errors("open the store"):
                if self._opened is None:
                    self._opened = self._connect()
        return self._opened

    @property
    def max_batch(self) -> int:
        """The most records one Chroma call takes (the server's own limit)."""
        if self._max_batch is None:
            with self._reading("open the collection"):
                self._max_batch = int(self._connection.client.get_max_batch_size())
        return self._max_batch

    @max_batch.setter
    def max_batch(self, value: int) -> None:
        self._max_batch = value

    # --- the client and the collection, kept current --------------------------------
    @property
    def client(self) -> Any:
        """The Chroma client in use (it changes when the store follows another process)."""
        return self._connection.client

    @property
    def collection(self) -> Any:
        """The Chroma collection, fetched again after a reopen or a reset."""
        if self._generation != self._connection.generation:
            self._collection = self.client.get_or_create_collection(
                name=self.collection_name,
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )
            self._generation = self._connection.generation
        return self._collection

    @contextmanager
    def _reading(self, action: str) -> Iterator[None]:
        with chroma_errors(action):
            self._connection.follow()
            with self._connection.gate.shared():
                yield

    @contextmanager
    def _writing(self, action: str) -> Iterator[None]:
        with self._reading(action):
            self._connection.wrote()
            yield

    def publish(self) -> None:
        """Let other processes see this one's writes; call when they are complete.

        Until then, another process on the same embedded folder keeps searching the
        state it last saw (minus chunks deleted since). A no-op on a server, and when
        nothing was written.
        """
        with chroma_errors("publish the writes"):
            self._connection.publish()

    # --- operations -------------------------------------------------------------------
    def _batches(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self.max_batch):
            yield slice(start, min(start + self.max_batch, n))

    def count(self) -> int:
        """Number of chunks stored."""
        with self._reading("count chunks"):
            return int(self.collection.count())

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[ChunkMetadata],
    ) -> None:
        """Write chunks; ids are deterministic, so writing twice is harmless."""
        with self._writing("write chunks"):
            for part in self._batches(len(ids)):
                self.collection.upsert(
                    ids=list(ids[part]),
                    embeddings=[list(e) for e in embeddings[part]],
                    documents=list(texts[part]),
                    metadatas=[dict(m) for m in metadatas[part]],
                )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id; unknown ids are ignored."""
        with self._writing("delete chunks"):
            for part in self._batches(len(ids)):
                self.collection.delete(ids=list(ids[part]))

    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> list[ChunkRecord]:
        """Fetch chunks by id, in the order asked; missing ids are left out."""
        try:
            found = self._get_all(ids, with_embeddings)
        except StoreUnavailable:
            # Another process published between our check and this read, and a client
            # that missed it fails on ids it has not seen: follow, then read again.
            if not self._connection.follow():
                raise
            found = self._get_all(ids, with_embeddings)
        return [found[i] for i in ids if i in found]

    def _get_all(self, ids: Sequence[str], with_embeddings: bool) -> dict[str, ChunkRecord]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        found: dict[str, ChunkRecord] = {}
        with self._reading("read chunks"):
            for part in self._batches(len(ids)):
                got = self.collection.get(ids=list(ids[part]), include=include)
                found.update((c.id, c) for c in _stored_chunks(got, with_embeddings))
        return found

    def iter_all(self, page_size: int = 5000) -> Iterator[ChunkRecord]:
        """Every stored chunk (text and metadata), page by page."""
        offset = 0
        page = min(page_size, self.max_batch)
        while True:
            with self._reading("read chunks"):
                got = self.collection.get(
                    include=["documents", "metadatas"], limit=page, offset=offset
                )
            chunks = list(_stored_chunks(got, False))
            yield from chunks
            if len(chunks) < page:
                return
            offset += page

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[VectorHit]:
        """Nearest chunks to a unit vector, most similar first.

        A hit without text is a chunk that another process deleted after this one last
        followed it (its in-memory vector index still holds it): it is left out.
        """
        if k <= 0:
            return []
        with self._reading("search"):  # chromadb returns fewer hits when it holds fewer
            got = self.collection.query(
                query_embeddings=[list(embedding)],
                n_results=k,
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        return [
            VectorHit(id=i, text=t, metadata=_metadata(m), similarity=1.0 - float(d))
            for i, t, m, d in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
            if t is not None
        ]

    def reset(self) -> None:
        """Drop and recreate the collection, and publish that."""
        with self._writing("reset the collection"):
            self.client.delete_collection(self.collection_name)
            self._connection.generation += 1  # every store on this client fetches it again
        self.publish()


def _stored_chunks(got: Any, with_embeddings: bool) -> Iterator[ChunkRecord]:
    embeddings = got.get("embeddings") if with_embeddings else None
    for n, chunk_id in enumerate(got["ids"]):
        vector = None
        if embeddings is not None:
            vector = [float(x) for x in embeddings[n]]
        yield ChunkRecord(
            id=chunk_id,
            text=got["documents"][n] or "",
            metadata=_metadata(got["metadatas"][n]),
            embedding=vector,
        )


def _metadata(stored: Any) -> ChunkMetadata:
    """A chunk's metadata as Chroma returns it: the dict the pipeline wrote."""
    return cast(ChunkMetadata, dict(stored or {}))
