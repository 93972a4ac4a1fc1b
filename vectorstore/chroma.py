"""Chroma, embedded or client/server, behind a small batched interface.

Everything that knows chromadb lives here. Vectors are always computed by our
own embedder and passed in: the collection has no embedding function, so
Chroma never fetches its default ONNX model from the network.

Processes that share an embedded store (the app open while ``gpt4all-rag ingest``
runs) stay in step through a publication file. An open embedded client never sees
another process's writes, because its vector index lives in memory. So a writer
publishes once its changes are complete, and every other process reopens its client
before its next operation. A Chroma server needs none of this: it is the shared state.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from vectorstore.errors import StoreUnavailable
from vectorstore.schema import ChunkMetadata, ChunkRecord

__all__ = ["ChromaStore", "VectorHit", "open_chroma_client"]

PUBLICATION_FILE = "gpt4all-rag.published"


@dataclass(frozen=True)
class VectorHit:
    """A vector search result; ``similarity`` is cosine similarity in [-1, 1]."""

    id: str
    text: str
    metadata: ChunkMetadata
    similarity: float


def open_chroma_client(
    persist_dir: Path | None = None,
    host: str | None = None,
    port: int = 8000,
    *,
    token: str | None = None,
    ssl: bool = False,
) -> Any:
    """Open an embedded (``persist_dir``) or a server (``host``) Chroma client, telemetry off.

    A server is reached directly, never through a proxy named by the environment
    (``_direct_connections``), over HTTPS when ``ssl``, with ``token`` sent as a bearer
    token when given.
    """
    with _override_checks_skipped():
        return _open_client(persist_dir, host, port, token, ssl)


def _open_client(
    persist_dir: Path | None, host: str | None, port: int, token: str | None, ssl: bool
) -> Any:
    import chromadb

    try:
        if host:
            with _direct_connections():
                return chromadb.HttpClient(
                    host=host, port=port, ssl=ssl, settings=_settings(**_token_auth(token))
                )
        if persist_dir is None:
            raise StoreUnavailable("either a persist folder or a Chroma host is needed")
        persist_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(persist_dir), settings=_settings())
    except StoreUnavailable:
        raise
    except Exception as exc:  # chromadb raises many types; one readable error for the user
        where = f"{host}:{port}" if host else str(persist_dir)
        raise StoreUnavailable(f"cannot open Chroma at {where}: {_without(exc, token)}") from exc


_override_lock = threading.Lock()


@contextmanager
def _override_checks_skipped() -> Iterator[None]:
    """Import and open chromadb without the ``overrides`` package's import-time checks.

    chromadb marks about 160 methods with ``overrides.override``, which, as each class
    is created, reads the class statement's bytecode to find its bases and compares
    the method's signature with the base's through typing introspection: about 0.4 s
    of the 1 s that importing chromadb and opening a client take here, on every start
    of the command line. The checks are a development aid: they only raise for a
    mismatch, and a released chromadb has none. While chromadb loads, a decorated
    method is only marked as an override (what ``EnforceOverrides`` reads); the
    checks are back for everything else as soon as the client is open.
    """
    module = _overrides_module()
    checked = getattr(module, "_overrides", None)
    if module is None or checked is None:
        yield
        return

    def marked_only(method: Any, *_: Any, **__: Any) -> Any:
        method.__override__ = True
        return method

    with _override_lock:
        module._overrides = marked_only
        try:
            yield
        finally:
            module._overrides = checked


def _overrides_module() -> Any:
    """``overrides.overrides`` (the package exports a function of the same name), or None."""
    try:
        import overrides  # noqa: F401  (chromadb's dependency)
    except ImportError:
        return None
    return sys.modules.get("overrides.overrides")


def _settings(**values: Any) -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False, **values)


def _token_auth(token: str | None) -> dict[str, Any]:
    """Token auth by chromadb's own client provider: ``Authorization: Bearer <token>``."""
    if not token:
        return {}
    return {
        "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
        "chroma_client_auth_credentials": token,
    }


_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
_environment_lock = threading.Lock()


@contextmanager
def _direct_connections() -> Iterator[None]:
    """Hide proxy variables while a Chroma HTTP client is built.

    chromadb builds its ``httpx.Client`` with httpx's default ``trust_env=True`` and offers
    no setting to change that (and rejects any ``chroma_api_impl`` but its own), so
    ``HTTP(S)_PROXY`` would route every chunk and query, even to 127.0.0.1, through a
    proxy. httpx reads those variables once, when the client is built: hiding them then
    makes the client direct for its whole life. The variables are restored at once.
    """
    with _environment_lock:
        hidden = {name: os.environ.pop(name) for name in _PROXY_VARIABLES if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(hidden)


def _without(exc: BaseException, secret: str | None) -> str:
    """An error message with the token blanked out, should a library echo it."""
    message = str(exc)
    return message.replace(secret, "***") if secret else message


@contextmanager
def _chroma_errors(action: str) -> Iterator[None]:
    """Turn chromadb's many exception types into one readable ``StoreUnavailable``."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(f"Chroma failed to {action}: {exc}") from exc


class _Gate:
    """Any number of operations on a client at once, or one reopen of it alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._alone = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone and not self._active)
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


class _Connection:
    """One Chroma client, shared by every store on it in this process.

    ``generation`` goes up whenever collections must be fetched again: after a
    reopen, or after a store dropped and recreated its collection.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gate = _Gate()
        self.generation = 0

    def follow(self) -> bool:
        """Catch up with other processes' writes; True if there was something to catch."""
        return False

    def wrote(self) -> None:
        """Take note that this process wrote, so that ``publish`` has something to tell."""

    def publish(self) -> None:
        """Make this process's completed writes visible to other processes."""


class _EmbeddedConnection(_Connection):
    """A client on a local folder that follows, and makes, publications."""

    def __init__(self, folder: Path) -> None:
        super().__init__(open_chroma_client(folder))
        self.folder = folder
        self.publication = folder / PUBLICATION_FILE
        self.unpublished = False
        self._seen = self._published()

    def _published(self) -> str | None:
        try:
            return self.publication.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None

    def follow(self) -> bool:
        token = self._published()
        if token == self._seen:
            return False
        with self.gate.alone():
            if token != self._seen:
                self.client.close()
                self.client = open_chroma_client(self.folder)
                self.generation += 1
                self._seen = token
        return True

    def wrote(self) -> None:
        self.unpublished = True

    def publish(self) -> None:
        if not self.unpublished:
            return
        token = f"{os.getpid()}-{uuid.uuid4().hex}"
        tmp = self.publication.with_name(f".{PUBLICATION_FILE}.{os.getpid()}")
        tmp.write_text(token, encoding="ascii")
        os.replace(tmp, self.publication)
        self._seen, self.unpublished = token, False


_embedded: dict[Path, _EmbeddedConnection] = {}
_embedded_lock = threading.Lock()


def _embedded_connection(folder: Path) -> _EmbeddedConnection:
    """The process's one connection to an embedded folder (Chroma shares it anyway)."""
    folder = folder.resolve()
    with _embedded_lock:
        if folder not in _embedded:
            _embedded[folder] = _EmbeddedConnection(folder)
        return _embedded[folder]


class ChromaStore:
    """One Chroma collection in cosine space, written and read in bounded batches.

    Build it with :meth:`embedded` or :meth:`server`; the constructor takes a ready
    client (for TLS, a token or any other client option) and treats it as a server.
    """

    def __init__(self, client: Any, collection_name: str) -> None:
        connection = _Connection(client)
        self._setup(lambda: connection, collection_name)
        _ = self.max_batch  # a server that does not answer fails here, at once

    @classmethod
    def embedded(cls, folder: Path, collection_name: str) -> ChromaStore:
        """A store in a local folder, kept in step with other processes that use it.

        The folder is opened on first use, not here: importing chromadb and opening
        its client take about a second, which ``gpt4all-rag status`` never needs.
        """
        store = cls.__new__(cls)
        store._setup(lambda: _embedded_connection(folder), collection_name)
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

    def _setup(self, connect: Callable[[], _Connection], collection_name: str) -> None:
        self._connect = connect
        self._opened: _Connection | None = None
        self._open_lock = threading.Lock()
        self._max_batch: int | None = None
        self.collection_name = collection_name
        self._generation = -1

    @property
    def _connection(self) -> _Connection:
        if self._opened is None:
            with self._open_lock, _chroma_errors("open the store"):
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
        with _chroma_errors(action):
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
        with _chroma_errors("publish the writes"):
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
