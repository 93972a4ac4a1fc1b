"""The evidence: the few source sentences that best answer the question, before any model runs.

A small model often garbles what the passages say plainly; the sentences that
say it, quoted with their ``[n]``, file and page, are right far more often and
take a fraction of a second. Each candidate sentence is scored by its MiniLM
similarity to the question, the question's words it contains, and the rank of
its passage; the best within a word budget are kept, near-duplicates out. A
sentence that introduces a code line is quoted with it, table-of-contents rows are
never quoted, and the best two quotes take the sentence after them where it names
what they do not ("... when declaring string constants." + "This is the purpose of
the N_ macro ..."): ``EvidenceRules``, in ``trust.quotable``; measured in
docs/benchmarks.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gpt4all_rag.trust.embedding import Embedder, unit_rows
from gpt4all_rag.trust.quotable import EvidenceRules, sentence_units
from gpt4all_rag.trust.text import STOP_WORDS, content_terms, normalise, stem, word_count

__all__ = [
    "Evidence",
    "SourceText",
    "ranked_sentences",
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
# A quote longer than this pays ``EvidenceRules.length_penalty`` for each 10 words over it.
LONG_QUOTE_WORDS = 25
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
# A question that asks for a name in any words ("which tests ...", "what is the name of").
_ASKS_ANY_NAME = re.compile(
    rf"\bwhich\b|\bwhat is the name\b|\bwhat is \w+ called\b|{_ASKS_NAME.pattern}", re.I
)
# A name a person would type (``next_names``, ``name_rescore``): a code span, a backslash
# macro (``\eqn``), a call (``N_("...")``, ``typeof()``), a name joined by . _ :: $ @, ending
# in _ (``N_``) or in CamelCase. Wider than ``_IDENTIFIER``, which stays as measured in round one.
_NAMED = re.compile(
    r"`[^`\n]+`|\\[A-Za-z]+|\b[A-Za-z_][\w.]*\(|"
    r"\b(?!(?:e\.g|i\.e)\b)[A-Za-z]\w*(?:(?:::|[._$@])\w+)+|\b[A-Za-z]\w*_(?!\w)|"
    r"\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z]\w*"
)
# "calls to function bibentry", "the R functions system and system2": a plain word named as
# one; "the CPPFLAGS macro", "a ‘VignetteBuilder’ field": a capitalised word, the same.
_NAMED_AS = re.compile(
    r"\b(?:function|macro|command|routine)s?\s+[‘'\"]?([A-Za-z_](?:[\w.]*\w)?)"
    r"|\b([A-Za-z_]*[A-Z_][\w.]+)[’'\"]?\s+(?:macro|field|variable)s?\b"
)
_HYPHENATED_WORD = re.compile(r"\b\w+(?:-\w+)+\b")


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
    following: str = ""  # the next sentence, quoted too where it names one (``next_names``)

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
    scored = _scored(question, sources, embedder, rules)
    if scored is None:
        return []
    candidates, scores, vectors = scored
    chosen = _choose(scores, vectors, candidates, max_words, rules)
    return [_evidence(candidates[i], scores[i], quote) for i, quote in chosen]


def ranked_sentences(
    question: str,
    sources: Sequence[SourceText],
    embedder: Embedder,
    rules: EvidenceRules | None = None,
) -> list[Evidence]:
    """Every candidate quote with its score, best first: what the benchmark reads of a miss."""
    scored = _scored(question, sources, embedder, rules or EvidenceRules())
    if scored is None:
        return []
    candidates, scores, _ = scored
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [_evidence(candidates[i], scores[i]) for i in order]


def _scored(
    question: str, sources: Sequence[SourceText], embedder: Embedder, rules: EvidenceRules
) -> tuple[list[_Candidate], list[float], np.ndarray] | None:
    """The candidates, their scores and unit vectors; None without question or candidates."""
    candidates = _candidates(sources, rules)
    if not candidates or not question.strip():
        return None
    headings = list(dict.fromkeys(c.heading for c in candidates if c.heading))
    # The question rides in the same batch as the sentences: one forward pass, and for
    # a symmetric sentence model such as MiniLM the same vector as embed_query gives.
    texts = [question, *(c.text for c in candidates), *headings]
    embedded = unit_rows(embedder.embed_documents(texts))
    query, vectors = embedded[0], embedded[1 : len(candidates) + 1]
    heading_similarity = {
        h: float(v @ query) for h, v in zip(headings, embedded[len(candidates) + 1 :], strict=True)
    }
    question_terms = _terms(question, rules)
    asks_name = bool(_ASKS_NAME.search(question))
    scores = [
        _score(float(v @ query), question_terms, c, rules, heading_similarity, asks_name)
        for v, c in zip(vectors, candidates, strict=True)
    ]
    if rules.name_rescore and _ASKS_ANY_NAME.search(question):
        scores = _rescored(scores, candidates, question, rules.identifier_weight)
    return candidates, scores, vectors


def _terms(text: str, rules: EvidenceRules) -> set[str]:
    """The text's content terms; with ``hyphens``, hyphenated words also written joined."""
    terms = content_terms(text)
    if rules.hyphens:
        joined = (m.group(0).replace("-", "") for m in _HYPHENATED_WORD.finditer(text))
        terms |= {stem(word.lower()) for word in joined}
    return terms


def _rescored(
    scores: list[float], candidates: list[_Candidate], question: str, weight: float
) -> list[float]:
    """Scores for a question asking for a name: sentences naming one it does not write gain."""
    asked = _names(question)
    return [
        score + weight if _names(c.text) - asked else score
        for score, c in zip(scores, candidates, strict=True)
    ]


def _names(text: str) -> set[str]:
    """The names a person would type that ``text`` writes, lower-cased."""
    named = {m.lower() for m in _NAMED.findall(text)}
    called = (m.lower() for pair in _NAMED_AS.findall(text) for m in pair if m)
    return named | {m for m in called if m not in STOP_WORDS}


def _candidates(sources: Sequence[SourceText], rules: EvidenceRules) -> list[_Candidate]:
    """Every usable sentence of every source once (overlapping chunks repeat sentences)."""
    seen: set[str] = set()
    candidates = []
    for rank, source in enumerate(sources, start=1):
        for unit in sentence_units(source.text, rules):
            key = normalise(unit.sentence)
            if key in seen:
                continue
            seen.add(key)
            terms = frozenset(_terms(unit.sentence, rules))
            candidates.append(
                _Candidate(
                    unit.sentence, source, rank, terms, unit.heading, unit.quote, unit.following
                )
            )
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
    if rules.length_penalty:
        excess = max(0, word_count(candidate.shown) - LONG_QUOTE_WORDS)
        relevance -= rules.length_penalty * excess / 10
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
    rules: EvidenceRules,
) -> list[tuple[int, str]]:
    """Greedy by score: within the word budget, no near-duplicates, not far under the best.

    Returns each chosen candidate's index and its quote (the first ``rules.next_names``
    with the next sentence where it names an identifier).
    """
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen: list[tuple[int, str]] = []
    words = 0
    for index in order:
        if len(chosen) == rules.max_sentences or scores[index] < scores[order[0]] - SCORE_MARGIN:
            break
        candidate = candidates[index]
        if any(candidate.text in quote for _, quote in chosen):
            continue  # quoted already, as the sentence after a better one
        quote = _quote(candidate, len(chosen) < rules.next_names, chosen, rules)
        length = word_count(quote)
        if chosen and words + length > max_words:
            continue
        if any(float(vectors[index] @ vectors[j]) >= DUPLICATE_SIMILARITY for j, _ in chosen):
            continue
        chosen.append((index, quote))
        words += length
    return chosen


def _quote(
    candidate: _Candidate, extend: bool, chosen: list[tuple[int, str]], rules: EvidenceRules
) -> str:
    """The candidate's quote, joined to its next sentence where that one names an identifier."""
    following = candidate.following
    if not extend or not following or not _names(following):
        return candidate.shown
    if rules.next_plain and _names(candidate.shown):
        return candidate.shown  # it names something itself
    if any(following.rstrip(" …") in quote for _, quote in chosen):
        return candidate.shown  # already quoted on its own
    return f"{candidate.shown} {following}"


def _evidence(candidate: _Candidate, score: float, quote: str = "") -> Evidence:
    source = candidate.source
    return Evidence(quote or candidate.shown, source.number, source.file, source.page, score)
