"""The evidence: the few source sentences that best answer the question, before any model runs.

A small model often garbles what the passages say plainly; the sentences that
say it, quoted with their ``[n]``, file and page, are right far more often and
take a fraction of a second. Each candidate sentence is scored by its MiniLM
similarity to the question, the question's words it contains, and the rank of
its passage; the best few within a word budget are kept, near-duplicates out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gpt4all_rag.text import content_terms, normalise, split_sentences, word_count

__all__ = [
    "MAX_SENTENCE_WORDS",
    "MIN_SENTENCE_WORDS",
    "CachedEmbedder",
    "Embedder",
    "Evidence",
    "SourceText",
    "select_evidence",
    "sentence_candidates",
    "sentence_relevance",
    "unit_rows",
]

MIN_SENTENCE_WORDS = 3  # "void R_CheckUserInterrupt(void);" is an answer
MIN_FRAGMENT_WORDS = 6
MAX_SENTENCE_WORDS = 60
# Score = similarity + OVERLAP_WEIGHT * share of the question's terms in the sentence
#         + RANK_WEIGHT / passage rank. Chosen on the R-manual dev set (57 answerable
# questions, 4 hybrid-search sources each): the key fact is in the evidence for 34
# (similarity alone: 30; the fact is in the sources for 52), from a right page for 45.
# Neighbouring weights score 32-34: the plateau is flat, these are not finely tuned.
SIMILARITY_WEIGHT = 1.0
OVERLAP_WEIGHT = 0.15
RANK_WEIGHT = 0.05
# Two sentences this similar say the same thing: only the better one is shown.
DUPLICATE_SIMILARITY = 0.9
# A sentence scoring this far under the best one adds noise, not evidence.
SCORE_MARGIN = 0.35


class SourceText(Protocol):
    """What evidence and grounding read of a source (``gpt4all_rag.answer.Source`` has it)."""

    @property
    def number(self) -> int:
        """The source's ``[n]``."""

    @property
    def text(self) -> str:
        """The passage."""

    @property
    def file(self) -> str:
        """The file, relative to the documents folder."""

    @property
    def page(self) -> int | None:
        """The 1-based page, where the format has pages."""


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


@dataclass(frozen=True)
class Evidence:
    """One quoted source sentence: its text and the ``[n]`` of the source it comes from."""

    text: str
    source: int
    file: str = ""
    page: int | None = None
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` shape of one evidence sentence."""
        return {
            "text": self.text,
            "source": self.source,
            "file": self.file,
            "page": self.page,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class _Candidate:
    text: str
    source: SourceText
    rank: int
    terms: frozenset[str]


def sentence_candidates(text: str) -> list[str]:
    """The sentences of a passage that can stand on their own as evidence.

    A passage is a chunk: its first sentence may begin mid-way (lower-case) and
    its last may stop mid-way (no final punctuation). Such a fragment is kept,
    with an ellipsis where it was cut, if it has ``MIN_FRAGMENT_WORDS`` words (on
    the R manuals a fact sits in one often enough); sentences under
    ``MIN_SENTENCE_WORDS`` words or over ``MAX_SENTENCE_WORDS`` are left out.
    """
    sentences = split_sentences(text)
    kept = []
    for index, sentence in enumerate(sentences):
        words = word_count(sentence)
        if index == 0 and sentence[:1].islower():
            sentence = f"… {sentence}"
        elif index == len(sentences) - 1 and index and not sentence.endswith(_ENDINGS):
            sentence = f"{sentence} …"
        minimum = MIN_FRAGMENT_WORDS if "…" in sentence else MIN_SENTENCE_WORDS
        if minimum <= words <= MAX_SENTENCE_WORDS:
            kept.append(sentence)
    return kept


_ENDINGS = (".", "!", "?", ":", ")", '"', "'", "]")


def select_evidence(
    question: str,
    sources: Sequence[SourceText],
    embedder: Embedder,
    *,
    max_words: int = 60,
    max_sentences: int = 3,
) -> list[Evidence]:
    """The source sentences that best answer ``question``, best first.

    Args:
        question: the (standalone) question.
        sources: the passages, best first (their order is the rank).
        embedder: the retrieval embedder; the question and all candidates are
            embedded in one batch.
        max_words: the evidence's word budget (the best sentence is always kept).
        max_sentences: at most this many sentences.

    Returns:
        Up to ``max_sentences`` sentences, highest score first; none when the
        question or the sources are empty.
    """
    candidates = _candidates(sources)
    if not candidates or not question.strip():
        return []
    # The question rides in the same batch as the sentences: one forward pass, and for
    # a symmetric sentence model such as MiniLM the same vector as embed_query gives.
    embedded = unit_rows(embedder.embed_documents([question, *(c.text for c in candidates)]))
    query, vectors = embedded[0], embedded[1:]
    question_terms = content_terms(question)
    scores = [
        _score(float(vector @ query), question_terms, candidate)
        for vector, candidate in zip(vectors, candidates, strict=True)
    ]
    chosen = _choose(scores, vectors, candidates, max_words, max_sentences)
    return [_evidence(candidates[i], scores[i]) for i in chosen]


def _candidates(sources: Sequence[SourceText]) -> list[_Candidate]:
    """Every usable sentence of every source once (overlapping chunks repeat sentences)."""
    seen: set[str] = set()
    candidates = []
    for rank, source in enumerate(sources, start=1):
        for sentence in sentence_candidates(source.text):
            key = normalise(sentence)
            if key in seen:
                continue
            seen.add(key)
            candidates.append(
                _Candidate(sentence, source, rank, frozenset(content_terms(sentence)))
            )
    return candidates


def sentence_relevance(
    similarity: float, question_terms: set[str], sentence_terms: frozenset[str] | set[str]
) -> float:
    """A sentence's relevance to the question: MiniLM similarity plus the share of its words.

    The evidence adds the rank of the sentence's passage; the focused passages
    (``gpt4all_rag.focus``) compare sentences of one passage, so they use this alone.
    """
    overlap = len(question_terms & sentence_terms) / len(question_terms) if question_terms else 0.0
    return SIMILARITY_WEIGHT * similarity + OVERLAP_WEIGHT * overlap


def _score(similarity: float, question_terms: set[str], candidate: _Candidate) -> float:
    relevance = sentence_relevance(similarity, question_terms, candidate.terms)
    return relevance + RANK_WEIGHT / candidate.rank


def _choose(
    scores: list[float],
    vectors: np.ndarray,
    candidates: list[_Candidate],
    max_words: int,
    max_sentences: int,
) -> list[int]:
    """Greedy by score: within the word budget, no near-duplicates, not far under the best."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen: list[int] = []
    words = 0
    for index in order:
        if len(chosen) == max_sentences or scores[index] < scores[order[0]] - SCORE_MARGIN:
            break
        length = word_count(candidates[index].text)
        if chosen and words + length > max_words:
            continue
        if any(float(vectors[index] @ vectors[j]) >= DUPLICATE_SIMILARITY for j in chosen):
            continue
        chosen.append(index)
        words += length
    return chosen


def _evidence(candidate: _Candidate, score: float) -> Evidence:
    source = candidate.source
    return Evidence(candidate.text, source.number, source.file, source.page, score)


def unit_rows(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Vectors as unit-length rows (a zero vector stays zero)."""
    matrix = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
