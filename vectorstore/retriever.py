"""Vector, keyword and hybrid (reciprocal rank fusion) search over the stored chunks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vectorstore.chroma import ChromaStore
from vectorstore.keyword import STOP_WORDS, KeywordIndex
from vectorstore.schema import SEARCH_MODES, ChunkMetadata, SearchMode

if TYPE_CHECKING:
    from typing import Protocol

    class QueryEmbedder(Protocol):
        """What a search needs of an embedder (LangChain's ``Embeddings`` has it)."""

        def embed_query(self, text: str) -> list[float]:
            """The vector of a query."""
            ...


__all__ = [
    "Abstention",
    "Filters",
    "Fusion",
    "Passage",
    "Retriever",
    "SEARCH_MODES",
    "SearchMode",
    "coverage",
    "merge_neighbours",
    "reciprocal_rank_fusion",
]

RRF_K = 60


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


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk.

    ``score`` orders the results of one search (cosine similarity for vector
    search, BM25 for keyword search, the fused score for hybrid);
    ``similarity`` is the cosine similarity to the query, the relevance floor's
    measure, whatever the mode.
    """

    id: str
    text: str
    metadata: ChunkMetadata
    score: float
    similarity: float

    @property
    def file(self) -> str:
        """Path of the source file, relative to the documents folder."""
        return self.metadata.get("path", "")

    @property
    def page(self) -> int | None:
        """1-based page number, where the format has pages."""
        page = self.metadata.get("page")
        return int(page) if page is not None else None


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


def merge_neighbours(passages: Sequence[Passage]) -> list[Passage]:
    """Join passages that are adjacent chunks of one page into one, in rank order.

    Two neighbouring chunks that both score are one stretch of text: shown once, they
    leave a result slot to another page. The joined passage keeps the better rank and
    score, spans both chunks' offsets, and its text is the page's text over that span
    (chunks overlap; the overlap is not repeated). Chunks without offsets stay apart.
    """
    merged: list[Passage] = []
    slot: dict[tuple[str, object, int], int] = {}  # (file, page, chunk) -> index in merged
    for passage in passages:
        meta = passage.metadata
        chunk = meta.get("chunk")
        place = next(
            (
                slot[key]
                for key in ((passage.file, meta.get("page"), c) for c in _neighbours(chunk))
                if key in slot
            ),
            None,
        )
        joined = _join(merged[place], passage) if place is not None else None
        if place is None or joined is None:
            merged.append(passage)
            place = len(merged) - 1
        else:
            merged[place] = joined
        if chunk is not None:
            slot[(passage.file, meta.get("page"), int(chunk))] = place
    return merged


def _neighbours(chunk: object) -> tuple[int, ...]:
    return () if chunk is None else (int(str(chunk)) - 1, int(str(chunk)) + 1)


_MAX_GAP = 2  # characters of whitespace the chunker may leave between two chunks


def _join(kept: Passage, other: Passage) -> Passage | None:
    """``kept`` and ``other`` as one passage, or None if their offsets do not meet."""
    a, b = sorted((kept, other), key=lambda p: int(p.metadata.get("start", 0)))
    a_start, a_end = a.metadata.get("start"), a.metadata.get("end")
    b_start, b_end = b.metadata.get("start"), b.metadata.get("end")
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return None
    if b_start > a_end + _MAX_GAP:
        return None
    if b_start >= a_end:  # whitespace between them, outside both chunks
        text = a.text + "\n" * (b_start - a_end) + b.text
    else:  # they overlap: the overlap once
        text = a.text + b.text[a_end - b_start :]
    metadata = ChunkMetadata(**kept.metadata)
    metadata["start"], metadata["end"] = a_start, max(a_end, b_end)
    metadata["chunk"] = min(int(a.metadata["chunk"]), int(b.metadata["chunk"]))
    similarity = max(kept.similarity, other.similarity)
    return Passage(kept.id, text, metadata, kept.score, similarity)


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


@dataclass(frozen=True)
class Abstention:
    """When a question is out of scope: nothing retrieved is close in meaning, nor says its words.

    A search finds nothing when its best vector hit is under ``min_similarity``
    (cosine) *and* its top three passages hold under ``min_coverage`` of the
    question's content words (stemmed; dotted identifiers whole and in parts).
    Coverage, unlike a BM25 score, means the same in a folder of ten notes and in
    a library of manuals. Keyword search alone is not judged (its similarities are
    those of its own hits, not the best). The defaults were calibrated on the
    R-manual dev set with all-MiniLM-L6-v2 (scripts/calibrate_abstain.py,
    docs/benchmarks.md).
    """

    min_similarity: float = 0.508
    min_coverage: float = 0.817

    def out_of_scope(
        self, question: str, vector: Sequence[Passage], top: Sequence[Passage]
    ) -> bool:
        """Whether the best vector hit and the top passages say the question is not answered."""
        if vector and vector[0].similarity >= self.min_similarity:
            return False
        return coverage(question, top[:3]) < self.min_coverage


_TOKEN = re.compile(r"[a-z][a-z0-9_.]*[a-z0-9_]|[a-z]")


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.cache
def _stop_words() -> frozenset[str]:
    return QUESTION_STOP_WORDS | STOP_WORDS


# Question words that say nothing about the topic, beyond bm25s's English stop words.
QUESTION_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "get",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "make",
        "me",
        "my",
        "of",
        "on",
        "or",
        "should",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "use",
        "using",
        "want",
        "was",
        "way",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    }
)


def _stems(text: str) -> set[str]:
    """Stems of a text's words; ``read.csv`` counts whole and as ``read`` and ``csv``."""
    words: set[str] = set()
    for token in _TOKEN.findall(text.lower()):
        token = token.strip("._")
        words.add(token)
        words.update(part for part in re.split(r"[._]", token) if part)
    return {_stemmer().stemWord(w) for w in words if w}


def _content_stems(question: str) -> set[str]:
    """Stems of the question's words of three letters or more that are not stop words."""
    words = (w.strip("._") for w in _TOKEN.findall(question.lower()))
    return {_stemmer().stemWord(w) for w in words if len(w) >= 3 and w not in _stop_words()}


def coverage(question: str, passages: Sequence[Passage]) -> float:
    """The share of the question's content words that the passages contain (0 with none)."""
    wanted = _content_stems(question)
    if not wanted:
        return 0.0
    found = _stems(" ".join(p.text for p in passages))
    return len(wanted & found) / len(wanted)


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
            passages = self._vector(query_vector, max(k, 1), filters)
            if rule and rule.out_of_scope(query, passages, passages):
                return []
        elif mode == "keyword":
            passages = self._keyword(query, query_vector, k, filters)
        elif mode == "hybrid":
            passages = self._hybrid(query, query_vector, filters, rule)
        else:
            raise ValueError(f"unknown search mode {mode!r}: use {', '.join(SEARCH_MODES)}")
        if floor is not None:
            passages = [p for p in passages if p.similarity >= floor]
        if self.merge_adjacent:
            passages = merge_neighbours(passages[: 2 * k])
        return passages[:k]

    def _vector(self, query_vector: np.ndarray, n: int, filters: Filters) -> list[Passage]:
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

    def _keyword(
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
        vector = self._vector(query_vector, self.candidates, filters)
        keyword = self._keyword(
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
