"""Abstention: finding nothing for a question the documents do not answer."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vectorstore.keyword import STOP_WORDS
from vectorstore.passage import Passage

__all__ = ["QUESTION_STOP_WORDS", "Abstention", "coverage"]


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
    import Stemmer  # PyStemmer: on first use only

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
