"""The embedder the trust checks share, and the unit vectors they compare.

Evidence, focus and grounding all compare sentences by MiniLM similarity: one
embedder per answer, wrapped so that a sentence two of them read is embedded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

__all__ = ["CachedEmbedder", "Embedder", "unit_rows"]


class Embedder(Protocol):
    """LangChain's embeddings interface, with unit-length vectors."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of several texts."""

    def embed_query(self, text: str) -> list[float]:
        """The vector of a query."""


class CachedEmbedder:
    """An embedder that remembers the texts it embedded, for the span of one answer.

    The evidence and the grounding check embed the same source sentences; wrapping
    the embedder once per answer embeds each of them once.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of the texts, embedding in one batch only those not seen before."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = self.embedder.embed_documents(missing)
            self._vectors.update(zip(missing, vectors, strict=True))
        return [self._vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The query's vector (not cached: a query is embedded once)."""
        return self.embedder.embed_query(text)


def unit_rows(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Vectors as unit-length rows (a zero vector stays zero)."""
    matrix = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
