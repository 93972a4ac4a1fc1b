"""The driver's embedder during a cluster ingest: it hands back vectors the nodes made.

The local writer embeds each slice of chunks just before it stores it. On a cluster the
nodes have embedded them already; this embedder returns those vectors for the same
texts, so the writer (and its crash safety) stays exactly the local one.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Sequence

import numpy as np

from ingest.cluster.recipe import VectorMaker

__all__ = ["PrecomputedEmbedder"]


class PrecomputedEmbedder:
    """``embed_documents`` from vectors handed over in advance; others by ``fallback``.

    Each vector handed over is returned once (the same text twice in a file is handed
    over twice). Thread-safe: results arrive on the prefetch thread.

    Args:
        fallback: embeds texts nobody handed over (none, unless a chunk changed on
            its way, which would be a bug; kept so that a miss is slower, not wrong).
    """

    def __init__(self, fallback: VectorMaker) -> None:
        self.fallback = fallback
        self.name = getattr(fallback, "name", type(fallback).__name__)
        self.misses = 0
        self._vectors: defaultdict[str, deque[list[float]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Hand over the vectors of ``texts`` (rows of ``vectors``, in order)."""
        rows = vectors.tolist()
        with self._lock:
            for text, row in zip(texts, rows, strict=True):
                self._vectors[text].append(row)

    def pending(self) -> int:
        """Vectors handed over and not yet asked for."""
        with self._lock:
            return sum(len(q) for q in self._vectors.values())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """The handed-over vector of each text; the fallback embeds the rest."""
        found: list[list[float] | None] = [self._take(t) for t in texts]
        missing = [i for i, vector in enumerate(found) if vector is None]
        if missing:
            self.misses += len(missing)
            made = self.fallback.embed_documents([texts[i] for i in missing])
            for i, vector in zip(missing, made, strict=True):
                found[i] = vector
        return [v for v in found if v is not None]

    def _take(self, text: str) -> list[float] | None:
        with self._lock:
            queue = self._vectors.get(text)
            if not queue:
                return None
            vector = queue.popleft()
            if not queue:
                del self._vectors[text]
            return vector
