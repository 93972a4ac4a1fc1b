"""What every node needs to prepare files exactly as a local ingest would.

A ``WorkerRecipe`` is taken from the driver's own ``Indexer`` (its chunker, size limits
and parser limits) plus a picklable way to build the embedder, so a node cannot drift
from the local settings. A Ray worker process builds the parts once and keeps them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ingest.chunking import TokenChunker
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from ingest.prepare import Preparer

if TYPE_CHECKING:
    from ingest.pipeline import Indexer

__all__ = [
    "EmbedderFactory",
    "VectorMaker",
    "WorkerParts",
    "WorkerRecipe",
    "forget_parts",
    "parts_for",
]


class VectorMaker(Protocol):
    """Anything with LangChain's ``embed_documents``."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""


EmbedderFactory = Callable[[], VectorMaker]


@dataclass(frozen=True)
class WorkerRecipe:
    """The driver's chunker, limits and embedder, as plain values a node can rebuild.

    Attributes:
        key: names these parts in a worker's cache (the settings they come from).
        embedder: builds the embedder on the node; must pickle (a module-level function
            or a ``functools.partial`` of one).
        tokenizer_file: the chunker's ``tokenizer.json``; the same path on every node.
        chunk_tokens: the chunk size in tokens.
        overlap_tokens: the overlap in tokens.
        max_file_bytes: larger files fail with a reason, as locally.
        stream_file_bytes: larger files are chunked while they are read, as locally.
        flush_chunks: texts per embedding call.
        parse_limits: the parser worker process's limits.
    """

    key: str
    embedder: EmbedderFactory
    tokenizer_file: Path
    chunk_tokens: int
    overlap_tokens: int
    max_file_bytes: int
    stream_file_bytes: int
    flush_chunks: int
    parse_limits: ParseLimits

    @classmethod
    def of(cls, indexer: Indexer, embedder: EmbedderFactory, key: str) -> WorkerRecipe:
        """The recipe of ``indexer``'s own parts, with ``embedder`` to build its embedder."""
        chunker, preparer = indexer.chunker, indexer.preparer
        loader = indexer.loader
        limits = loader.limits if isinstance(loader, IsolatedLoader) else ParseLimits()
        return cls(
            key=key,
            embedder=embedder,
            tokenizer_file=Path(chunker.tokenizer_file),
            chunk_tokens=chunker.chunk_tokens,
            overlap_tokens=chunker.overlap_tokens,
            max_file_bytes=preparer.max_file_bytes,
            stream_file_bytes=preparer.stream_file_bytes,
            flush_chunks=indexer.flush_chunks,
            parse_limits=limits,
        )


@dataclass(frozen=True)
class WorkerParts:
    """The parts a recipe builds: the preparer (loader and chunker) and the embedder."""

    preparer: Preparer
    embedder: VectorMaker


_parts: dict[str, WorkerParts] = {}
_parts_lock = threading.Lock()


def parts_for(recipe: WorkerRecipe) -> WorkerParts:
    """This process's parts for ``recipe``, built on first use (a model loads once)."""
    with _parts_lock:
        parts = _parts.get(recipe.key)
        if parts is None:
            chunker = TokenChunker(
                recipe.tokenizer_file, recipe.chunk_tokens, recipe.overlap_tokens
            )
            loader = IsolatedLoader.shared(recipe.parse_limits)
            preparer = Preparer(loader, chunker, recipe.max_file_bytes, recipe.stream_file_bytes)
            parts = _parts[recipe.key] = WorkerParts(preparer, recipe.embedder())
        return parts


def forget_parts() -> None:
    """Drop this process's parts and stop their loaders' workers (a later recipe builds anew)."""
    with _parts_lock:
        for parts in _parts.values():
            close = getattr(parts.preparer.load, "close", None)  # an IsolatedLoader's worker
            if close is not None:
                close()
        _parts.clear()
