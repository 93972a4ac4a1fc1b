"""The evidence: the few source sentences that best answer the question, before any model runs.

A small model often garbles what the passages say plainly; the sentences that
say it, quoted with their ``[n]``, file and page, are right far more often and
take a fraction of a second. Each candidate sentence is scored by its MiniLM
similarity to the question, the question's words it contains, and the rank of
its passage; the best within a word budget are kept, near-duplicates out. A
sentence that introduces a code line is quoted with it, and table-of-contents rows
are never quoted (``EvidenceRules``, in ``trust.quotable``; measured in
docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gpt4all_rag.trust.embedding import Embedder, unit_rows
from gpt4all_rag.trust.quotable import EvidenceRules, sentence_units
from gpt4all_rag.trust.text import content_terms, normalise, stem, word_count

__all__ = [
    "Evidence",
    "SourceText",
    "select_evidence",
    "sentence_relevance",
]

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
# A question that asks for a name: the answer is an identifier the question cannot spell.
_ASKS_NAME = re.compile(
    r"\b(?:which|what)\b.*\b(?:function|macro|field|file|director(?:y|ies)|command|"
    r"variable|option|routine|call|directive|header|format|class|method|argument|tool|table)s?\b",
    re.I,
)
# An identifier: a name with a joiner or call parentheses, or in CamelCase / CAPS_CASE.
_IDENTIFIER = re.compile(
    r"[A-Za-z_.][\w.]*(?:\(\))|[A-Za-z]\w*(?:(?:::|[._$@])\w+)+|[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*"
)
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


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
    heading: str = ""  # the heading the sentence follows (``after_heading``)
    quote: str = ""  # what is quoted: the sentence and those after it in its window

    @property
    def shown(self) -> str:
        """The quoted text."""
        return self.quote or self.text


def select_evidence(
    question: str,
    sources: Sequence[SourceText],
    embedder: Embedder,
    *,
    max_words: int = 80,
    rules: EvidenceRules | None = None,
) -> list[Evidence]:
    """The source sentences that best answer ``question``, best first.

    Args:
        question: the (standalone) question.
        sources: the passages, best first (their order is the rank).
        embedder: the retrieval embedder; the question, all candidates and the
            headings they follow are embedded in one batch.
        max_words: the evidence's word budget (the best sentence is always kept).
        rules: how candidates are made and scored (default: ``EvidenceRules()``).

    Returns:
        Sentences (or short runs of them), highest score first; none when the
        question or the sources are empty.
    """
    rules = rules or EvidenceRules()
    candidates = _candidates(sources, rules)
    if not candidates or not question.strip():
        return []
    headings = list(dict.fromkeys(c.heading for c in candidates if c.heading))
    # The question rides in the same batch as the sentences: one forward pass, and for
    # a symmetric sentence model such as MiniLM the same vector as embed_query gives.
    texts = [question, *(c.text for c in candidates), *headings]
    embedded = unit_rows(embedder.embed_documents(texts))
    query, vectors = embedded[0], embedded[1 : len(candidates) + 1]
    heading_similarity = {
        h: float(v @ query) for h, v in zip(headings, embedded[len(candidates) + 1 :], strict=True)
    }
    question_terms = content_terms(question)
    asks_name = bool(_ASKS_NAME.search(question))
    scores = [
        _score(float(v @ query), question_terms, c, rules, heading_similarity, asks_name)
        for v, c in zip(vectors, candidates, strict=True)
    ]
    chosen = _choose(scores, vectors, candidates, max_words, rules.max_sentences)
    return [_evidence(candidates[i], scores[i]) for i in chosen]


def _candidates(sources: Sequence[SourceText], rules: EvidenceRules) -> list[_Candidate]:
    """Every usable sentence of every source once (overlapping chunks repeat sentences)."""
    seen: set[str] = set()
    candidates = []
    for rank, source in enumerate(sources, start=1):
        for sentence, quote, heading in sentence_units(source.text, rules):
            key = normalise(sentence)
            if key in seen:
                continue
            seen.add(key)
            terms = frozenset(content_terms(sentence))
            candidates.append(_Candidate(sentence, source, rank, terms, heading, quote))
    return candidates


def _identifier_parts(identifier: str) -> set[str]:
    """The stemmed words an identifier is made of: ``install.packages()`` -> install, packag."""
    parts = re.split(r"[^A-Za-z0-9]+", identifier)
    pieces = [p.lower() for part in parts for p in _CAMEL.findall(part)]
    return {stem(p) for p in pieces if len(p) > 1}


def names_question_identifier(sentence: str, question_terms: set[str]) -> bool:
    """Whether the sentence writes an identifier made of the question's words."""
    return any(_identifier_parts(i) & question_terms for i in _IDENTIFIER.findall(sentence))


def names_an_identifier(sentence: str) -> bool:
    """Whether the sentence writes any identifier (for a question that asks for a name)."""
    return bool(_IDENTIFIER.search(sentence))


def sentence_relevance(
    similarity: float, question_terms: set[str], sentence_terms: frozenset[str] | set[str]
) -> float:
    """A sentence's relevance to the question: MiniLM similarity plus the share of its words.

    The evidence adds the rank of the sentence's passage; the focused passages
    (``gpt4all_rag.trust.focus``) compare sentences of one passage, so they use this alone.
    """
    overlap = len(question_terms & sentence_terms) / len(question_terms) if question_terms else 0.0
    return SIMILARITY_WEIGHT * similarity + OVERLAP_WEIGHT * overlap


def _score(
    similarity: float,
    question_terms: set[str],
    candidate: _Candidate,
    rules: EvidenceRules,
    heading_similarity: dict[str, float],
    asks_name: bool = False,
) -> float:
    relevance = sentence_relevance(similarity, question_terms, candidate.terms)
    if candidate.heading:
        heading_terms = content_terms(candidate.heading)
        heading = heading_similarity[candidate.heading]
        relevance = max(relevance, sentence_relevance(heading, question_terms, heading_terms))
    if _names_wanted(candidate.text, question_terms, rules, asks_name):
        relevance += rules.identifier_weight
    return relevance + RANK_WEIGHT / candidate.rank


def _names_wanted(
    text: str, question_terms: set[str], rules: EvidenceRules, asks_name: bool
) -> bool:
    """Whether the identifier rules favour this sentence."""
    if rules.identifiers and names_question_identifier(text, question_terms):
        return True
    return rules.names and asks_name and names_an_identifier(text)


def _choose(
    scores: list[float],
    vectors: np.ndarray,
    candidates: list[_Candidate],
    max_words: int,
    max_sentences: int | None,
) -> list[int]:
    """Greedy by score: within the word budget, no near-duplicates, not far under the best."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen: list[int] = []
    words = 0
    for index in order:
        if len(chosen) == max_sentences or scores[index] < scores[order[0]] - SCORE_MARGIN:
            break
        length = word_count(candidates[index].shown)
        if chosen and words + length > max_words:
            continue
        if any(float(vectors[index] @ vectors[j]) >= DUPLICATE_SIMILARITY for j in chosen):
            continue
        chosen.append(index)
        words += length
    return chosen


def _evidence(candidate: _Candidate, score: float) -> Evidence:
    source = candidate.source
    return Evidence(candidate.shown, source.number, source.file, source.page, score)
