"""Vector, keyword and hybrid search over the stored chunks, with filters.

Hybrid search fuses the two lists (``vectorstore.fusion``); an out-of-scope question
finds nothing (``vectorstore.abstention``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vectorstore.abstention import Abstention
from vectorstore.chroma import ChromaStore
from vectorstore.fusion import Fusion
from vectorstore.keyword import KeywordIndex
from vectorstore.passage import Passage, merge_neighbours
from vectorstore.schema import SEARCH_MODES, SearchMode

if TYPE_CHECKING:
    from typing import Protocol

    class QueryEmbedder(Protocol):
        """What a search needs of an embedder (LangChain's ``Embeddings`` has it)."""

        def embed_query(self, text: str) -> list[float]:
            """The vector of a query."""
            ...


__all__ = ["Filters", "Retriever"]


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some files, a folder, or file types.

    Args:
        files: paths relative to the documents folder.
        folder: a folder relative to the documents folder; its sub-folders count too.
        extensions: file types such as ``.pdf`` (the dot is optional).
    """

    files: tuple[str, ...] = ()
    folder: str | None = None
    extensions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the filters let everything through."""
        return not (self.files or self.folder is not None or self.extensions)

    def exts(self) -> tuple[str, ...]:
        """Extensions, lower-case and with their dot."""
        return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in self.extensions)

    def allows(self, metadata: Mapping[str, Any]) -> bool:
        """Whether a chunk with this metadata passes the filters.

        Only ``path`` and ``ext`` are read: the keyword index keeps just those
        (``vectorstore.keyword.FILTER_FIELDS``).
        """
        path = str(metadata.get("path", ""))
        if self.files and path not in self.files:
            return False
        if self.folder is not None and not _in_folder(path, self.folder):
            return False
        return not self.extensions or str(metadata.get("ext", "")) in self.exts()

    def chroma_where(self) -> dict[str, Any] | None:
        """The same filters as a Chroma ``where`` (folders are checked afterwards)."""
        clauses: list[dict[str, Any]] = []
        if self.files:
            clauses.append({"path": {"$in": list(self.files)}})
        if self.extensions:
            clauses.append({"ext": {"$in": list(self.exts())}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _in_folder(path: str, folder: str) -> bool:
    folder = folder.strip("/")
    return not folder or path.startswith(folder + "/")


class Retriever:
    """Searches the store by vectors, by keywords, or both fused.

    Args:
        store: the Chroma collection.
        embedder: the same embedder the chunks were indexed with.
        keywords: the BM25 index over the same chunks.
        candidates: how many results each side contributes to the fusion.
        relevance_floor: cosine similarity under which a passage is not returned.
        uncommitted: of some chunk ids, those an ingest in progress has written to the
            store but not committed. They are left out, so that a search during an
            ingest sees each file whole, as it was or as it is now, never half.
        abstention: the rule that finds nothing for an out-of-scope question; None
            keeps every passage over the floor.
        merge_adjacent: join neighbouring chunks of one page into one passage
            (``merge_neighbours``), so that they take one of the ``k`` places.
        fusion: how hybrid search combines its two lists (default ``Fusion()``).
    """

    def __init__(
        self,
        store: ChromaStore,
        embedder: QueryEmbedder,
        keywords: KeywordIndex,
        candidates: int = 50,
        relevance_floor: float | None = None,
        uncommitted: Callable[[Sequence[str]], set[str]] | None = None,
        abstention: Abstention | None = None,
        merge_adjacent: bool = True,
        fusion: Fusion | None = None,
    ) -> None:
        self.fusion = fusion or Fusion()
        self.abstention = abstention
        self.merge_adjacent = merge_adjacent
        self.store = store
        self.uncommitted = uncommitted
        self.embedder = embedder
        self.keywords = keywords
        self.candidates = candidates
        self.relevance_floor = relevance_floor

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        floor: float | None = None,
        abstain: bool = True,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` at or above the relevance floor.

        None when the abstention rule judges the question out of scope (``abstain``
        False skips the rule, as retrieval evaluation does).
        """
        filters = filters or Filters()
        floor = self.relevance_floor if floor is None else floor
        rule = self.abstention if abstain else None
        query_vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        if mode == "vector":
            passages = self.vector_hits(query_vector, max(k, 1), filters)
            if rule and rule.out_of_scope(query, passages, passages):
                return []
        elif mode == "keyword":
            passages = self.keyword_hits(query, query_vector, k, filters)
        elif mode == "hybrid":
            passages = self._hybrid(query, query_vector, filters, rule)
        else:
            raise ValueError(f"unknown search mode {mode!r}: use {', '.join(SEARCH_MODES)}")
        if floor is not None:
            passages = [p for p in passages if p.similarity >= floor]
        if self.merge_adjacent:
            passages = merge_neighbours(passages[: 2 * k])
        return passages[:k]

    def vector_hits(self, query_vector: np.ndarray, n: int, filters: Filters) -> list[Passage]:
        """The ``n`` nearest passages by vector; uncommitted chunks and other folders left out."""
        where = filters.chroma_where()
        fetch = n if filters.folder is None else n * 4  # folders are filtered after the query
        hits = self.store.query(query_vector.tolist(), fetch, where=where)
        pending = self.uncommitted([h.id for h in hits]) if self.uncommitted else set()
        if pending:  # an ingest is writing: ask for more, then leave its chunks out
            hits = self.store.query(query_vector.tolist(), fetch + 2 * len(pending), where=where)
            pending = self.uncommitted([h.id for h in hits]) if self.uncommitted else set()
            hits = [h for h in hits if h.id not in pending]
        return [
            Passage(h.id, h.text, h.metadata, h.similarity, h.similarity)
            for h in hits
            if filters.allows(h.metadata)
        ][:n]

    def keyword_hits(
        self,
        query: str,
        query_vector: np.ndarray,
        n: int,
        filters: Filters,
        known: dict[str, Passage] | None = None,
    ) -> list[Passage]:
        """BM25 hits, read back from the store with their similarity to the query.

        ``known`` are passages already read (the vector hits of a hybrid search): they
        are not read again. A hit the store no longer has (deleted by a concurrent
        ingest after the keyword index was built) is left out.
        """
        known = known or {}
        hits = self.keywords.search(query, n, allowed=None if filters.empty else filters.allows)
        stored = {
            c.id: c
            for c in self.store.get([h.id for h in hits if h.id not in known], with_embeddings=True)
        }
        passages = []
        for hit in hits:
            if hit.id in known:
                seen = known[hit.id]
                passages.append(
                    Passage(hit.id, seen.text, seen.metadata, hit.score, seen.similarity)
                )
            elif hit.id in stored:
                chunk = stored[hit.id]
                similarity = float(np.dot(np.asarray(chunk.embedding, np.float32), query_vector))
                passages.append(Passage(hit.id, chunk.text, chunk.metadata, hit.score, similarity))
        return passages

    def _hybrid(
        self,
        query: str,
        query_vector: np.ndarray,
        filters: Filters,
        rule: Abstention | None = None,
    ) -> list[Passage]:
        vector = self.vector_hits(query_vector, self.candidates, filters)
        keyword = self.keyword_hits(
            query, query_vector, self.candidates, filters, known={p.id: p for p in vector}
        )
        fused = self.fusion.scores(vector, keyword)
        by_id = {p.id: p for p in keyword} | {p.id: p for p in vector}
        ranked = sorted(fused, key=lambda i: (-fused[i], i))
        passages = [
            Passage(i, by_id[i].text, by_id[i].metadata, fused[i], by_id[i].similarity)
            for i in ranked
        ]
        if rule and rule.out_of_scope(query, vector, passages):
            return []
        return passages
