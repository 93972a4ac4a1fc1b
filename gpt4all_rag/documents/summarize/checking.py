"""Each summary sentence checked against the chunks it summarizes, as an answer's are.

The small model's summaries are fluent and often wrong ("the Sun ... is the only
planet that supports life"). Every sentence of a section summary is checked against
that section's chunks, and every sentence of the final summary against all the
chunks, with the answers' own check (``trust.grounding.attribute``: support score,
exact names, repetition) and the same threshold and embedder. A summary whose claims
mostly fail comes with the document's key sentences, quoted by the answers' evidence
selector with the title and headings as the question.

One check is the summaries' own (``SummaryChecker.linked_facts``): a sentence that
links two facts ("The Sun holds 99.8 percent of its mass, making it the only planet
that supports life") is flagged when the two halves stand on sentences the document
states apart, however well each half alone is supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gpt4all_rag.documents.summarize.document import DocumentChunk
from gpt4all_rag.documents.summarize.hygiene import (
    LISTED_TWICE,
    SAME_BOTH_SIDES,
    compares_with_itself,
    lists_an_item_twice,
)
from gpt4all_rag.trust.citations import PAGE_CITATION
from gpt4all_rag.trust.embedding import CachedEmbedder, Embedder, unit_rows
from gpt4all_rag.trust.evidence import Evidence, select_evidence
from gpt4all_rag.trust.grounding import SUPPORT_THRESHOLD, SentenceSupport, attribute
from gpt4all_rag.trust.quotable import EvidenceRules, is_index_row
from gpt4all_rag.trust.text import normalise, sentence_spans, split_sentences, typed_sentences

__all__ = [
    "LINKED_APART",
    "MOSTLY_UNSUPPORTED",
    "ChunkSource",
    "DocumentCheck",
    "SummaryChecker",
    "document_question",
    "mostly_unsupported",
]

MOSTLY_UNSUPPORTED = (
    "Most of this summary is not supported by the document: read the quoted sentences instead."
)
QUOTE_WORDS = 120  # the key sentences' word budget
QUOTES = 5  # at most this many key sentences
_HEADINGS = 6  # the headings of the question the key sentences answer
LINKED_APART = "links two facts that the document states apart"
# What links a second fact to the first as its consequence or its description.
_LINK = re.compile(
    r",\s+(?:making|meaning|so that|thus|hence|therefore|which (?:is|are|was|were|makes|means))\b"
    r"|\s+because\b",
    re.IGNORECASE,
)
_MIN_SIDE_WORDS = 3
_CHAPTER = re.compile(r"^(?:Chapter )?(\d+)\s+[A-Z]\D*$")  # "2 Spreadsheet-like data"


@dataclass(frozen=True)
class ChunkSource:
    """A chunk as the checks read a source: its number (1-based), text, file and page."""

    number: int
    text: str
    file: str
    page: int | None


@dataclass(frozen=True)
class SummaryChecker:
    """How summary sentences are checked: the answers' embedder and threshold.

    Args:
        embedder: the retrieval embedder (the one the answers' check uses).
        threshold: support under which a sentence is flagged (``support_threshold``).
        quote_words: the word budget of the key sentences of a mostly unsupported summary.
        linked_facts: flag a sentence that links two facts the document states apart.
    """

    embedder: Embedder
    threshold: float = SUPPORT_THRESHOLD
    quote_words: int = QUOTE_WORDS
    linked_facts: bool = True

    def for_document(self, path: str, chunks: Sequence[DocumentChunk]) -> DocumentCheck:
        """The checks of one summary run over these chunks (numbered from 1)."""
        return DocumentCheck(self, path, chunks)


class DocumentCheck:
    """The checks of one summary: one embedding cache, so each chunk sentence is embedded once."""

    def __init__(self, checker: SummaryChecker, path: str, chunks: Sequence[DocumentChunk]) -> None:
        self.checker = checker
        self.path = path
        self.chunks = tuple(chunks)
        self.sources = tuple(
            ChunkSource(n, c.text, path, c.page) for n, c in enumerate(self.chunks, start=1)
        )
        self.embedder = CachedEmbedder(checker.embedder)

    def sentences(self, text: str, numbers: Sequence[int] = ()) -> tuple[SentenceSupport, ...]:
        """Each sentence of ``text`` with its support by the chunks ``numbers`` (default: all).

        Page citations are not part of what is checked (a page number is no claim).
        """
        sources = [self.sources[n - 1] for n in numbers] if numbers else list(self.sources)
        spans = sentence_spans(text)
        return tuple(
            self._verdict(text[start:end], text[spans[i - 1][1] if i else 0 : start], sources)
            for i, (start, end) in enumerate(spans)
        )

    def _verdict(
        self, sentence: str, before: str, sources: Sequence[ChunkSource]
    ) -> SentenceSupport:
        checked = " ".join(PAGE_CITATION.sub(" ", sentence).split())
        threshold = self.checker.threshold
        parts = attribute(checked, sources, self.embedder, threshold=threshold) if checked else []
        claims = [p for p in parts if p.claim]
        support = round(min((p.support for p in claims), default=0.0), 4)  # as the cache keeps it
        if problem := _empty_claim(checked):
            return SentenceSupport(sentence, (), support, False, False, True, before, problem)
        if not claims:
            return SentenceSupport(sentence, (), support, False, True, False, before)
        failed = [p for p in claims if not p.supported]
        cited = tuple(dict.fromkeys(n for p in claims for n in p.cited))
        reason = failed[0].reason if failed else ""
        if not reason and self.checker.linked_facts and self._linked_apart(checked, sources):
            reason = LINKED_APART
        return SentenceSupport(sentence, cited, support, False, not reason, True, before, reason)

    def _linked_apart(self, sentence: str, sources: Sequence[ChunkSource]) -> bool:
        """Whether the sentence's two linked halves stand on sentences that are not neighbours.

        The chunks' sentences are taken once each in the document's order (chunks
        overlap), and each half is matched to its closest one by the embedder.
        """
        link = _LINK.search(sentence)
        sides = [sentence[: link.start()], sentence[link.start() :]] if link else []
        if len(sides) < 2 or min(len(side.split()) for side in sides) < _MIN_SIDE_WORDS:
            return False
        units = list(dict.fromkeys(u for s in sources for u in split_sentences(s.text) or [s.text]))
        vectors = unit_rows(self.embedder.embed_documents([*sides, *units]))
        first, second = (int(np.argmax(vectors[2:] @ v)) for v in vectors[:2])
        return abs(first - second) > 1 and normalise(units[first]) != normalise(units[second])

    def quotes(self) -> tuple[Evidence, ...]:
        """The document's key sentences: those that best answer its title and headings."""
        rules = EvidenceRules().but(max_sentences=QUOTES)
        question = document_question(self.path, self.chunks)
        found = select_evidence(
            question, self.sources, self.embedder, max_words=self.checker.quote_words, rules=rules
        )
        return tuple(replace(q, score=round(q.score, 4)) for q in found)  # as the cache keeps it


def document_question(path: str, chunks: Sequence[DocumentChunk]) -> str:
    """What a summary answers: the file's name as words, then the document's headings.

    A manual's chapter headings ("2 Spreadsheet-like data") say what it is about
    better than its first short lines (names in its acknowledgements read as
    headings too), so the top-level numbered headings come first where there are any.
    """
    title = Path(path).stem.replace("-", " ").replace("_", " ")
    headings = list(
        dict.fromkeys(
            sentence
            for chunk in chunks
            for sentence, kind in typed_sentences(chunk.text)
            if kind == "heading" and not is_index_row(sentence)
        )
    )
    chapters = _chapters(headings)
    return ". ".join([title, *(chapters or headings)[:_HEADINGS]])


def _chapters(headings: Sequence[str]) -> list[str]:
    """The headings numbered 1, 2, 3… in order (a table row "1 Colorado 7.9" is not one)."""
    chapters: list[str] = []
    for heading in headings:
        number = _CHAPTER.match(heading)
        if number and int(number.group(1)) == len(chapters) + 1:
            chapters.append(heading)
    return chapters


def _empty_claim(sentence: str) -> str:
    """Why a sentence says nothing whatever its support: a self-comparison, a list's repeat."""
    if compares_with_itself(sentence):
        return SAME_BOTH_SIDES
    return LISTED_TWICE if lists_an_item_twice(sentence) else ""


def mostly_unsupported(sentences: Sequence[SentenceSupport]) -> bool:
    """Whether at least half of the claims fail the check.

    The small model's sentences that pass are right less often than not
    (docs/benchmarks.md), so when half of them fail the rest is no summary either.
    """
    claims = [s for s in sentences if s.claim]
    return bool(claims) and 2 * sum(not s.supported for s in claims) >= len(claims)
