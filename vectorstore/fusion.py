"""How hybrid search fuses the vector and the keyword rankings into one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vectorstore.passage import Passage

__all__ = ["RRF_K", "Fusion", "reciprocal_rank_fusion"]

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Fuse ranked id lists: each id scores the sum of weight / (k + rank) over the lists."""
    fused: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return fused


@dataclass(frozen=True)
class Fusion:
    """How hybrid search combines the vector and the keyword lists.

    ``convex``: each list's scores scaled to 0..1 over its candidates (cosine for the
    vectors, BM25 for the keywords), then ``vector_weight`` of one plus the rest of the
    other; a chunk in one list only gets 0 from the other. ``rrf``: reciprocal rank
    fusion, the two sides weighted ``2 * vector_weight`` and ``2 * (1 - vector_weight)``.
    Convex keeps how far ahead a top hit is, which ranks alone lose; on the dev sets it
    found the right page first more often (docs/benchmarks.md).
    """

    method: str = "convex"
    vector_weight: float = 0.5
    rrf_k: int = RRF_K

    def scores(self, vector: Sequence[Passage], keyword: Sequence[Passage]) -> dict[str, float]:
        """The fused score of every candidate id."""
        if self.method == "rrf":
            return reciprocal_rank_fusion(
                [[p.id for p in vector], [p.id for p in keyword]],
                self.rrf_k,
                (2 * self.vector_weight, 2 * (1 - self.vector_weight)),
            )
        if self.method == "convex":
            fused: dict[str, float] = {}
            sides = ((self.vector_weight, vector, True), (1 - self.vector_weight, keyword, False))
            for weight, items, by_similarity in sides:
                for chunk_id, value in _scaled(items, by_similarity).items():
                    fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * value
            return fused
        raise ValueError(f"unknown fusion {self.method!r}: use convex or rrf")


def _scaled(items: Sequence[Passage], by_similarity: bool) -> dict[str, float]:
    """Scores scaled to 0..1 over the list (all 1 when they are equal)."""
    values = [p.similarity if by_similarity else p.score for p in items]
    if not values:
        return {}
    low, high = min(values), max(values)
    span = high - low
    return {p.id: (v - low) / span if span > 0 else 1.0 for p, v in zip(items, values, strict=True)}
