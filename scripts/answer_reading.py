"""Reading an Answer of any version of the code, and scoring it against the dev set.

The answer benchmarks run on the code before and after a change: every newer field
of ``Answer`` (evidence, checked sentences) is read with ``getattr`` and is None
where the code has no such field. ``repeated_sentence`` finds answers that loop.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from scripts.devset_common import Question, contains_facts, normalize, page_matches

__all__ = [
    "cited_right_page",
    "evidence_of",
    "evidence_source_numbers",
    "evidence_text",
    "field_of",
    "is_answer",
    "repeated_sentence",
    "rounded",
    "score_answerable",
    "sentence_support",
]

_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")  # identifiers split: a loop inside one name counts


# --- repetition -----------------------------------------------------------------
def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(_CITATION.sub(" ", text)))


def repeated_sentence(text: str, min_words: int = 5, ngram: int = 8, ngram_times: int = 3) -> bool:
    """Whether an answer repeats itself.

    True when a normalized sentence (lower case, citation markers and punctuation dropped)
    of at least ``min_words`` words occurs twice, or any run of ``ngram`` words occurs
    ``ngram_times`` times or more (a loop that never ends a sentence). Words are split at
    any non-alphanumeric character, so ``FLAG_ON_EXIT_ON_EXIT_ON_EXIT...`` is a loop too.
    """
    sentences = [" ".join(_words(s)) for s in _SENTENCE_END.split(text)]
    counted = Counter(s for s in sentences if len(s.split()) >= min_words)
    if any(n >= 2 for n in counted.values()):
        return True
    words = _words(text)
    grams = Counter(tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1))
    return any(n >= ngram_times for n in grams.values())


# --- reading an Answer whatever its version -----------------------------------------
def field_of(item: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or an object."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def evidence_of(answer: Any) -> list[Any] | None:
    """``answer.evidence`` as a list, or None where the Answer has no such field."""
    evidence = getattr(answer, "evidence", None)
    return None if evidence is None else list(evidence)


def evidence_text(items: list[Any]) -> str:
    return " ".join(str(field_of(item, "text", "") or "") for item in items)


def evidence_source_numbers(items: list[Any]) -> list[int]:
    numbers = []
    for item in items:
        source = field_of(item, "source", field_of(item, "number"))
        if isinstance(source, int):
            numbers.append(source)
        elif source is not None and field_of(source, "number") is not None:
            numbers.append(int(field_of(source, "number")))
    return numbers


def sentence_support(answer: Any) -> dict[str, Any]:
    """Unsupported and inferred-citation counts from ``answer.sentences`` (None if absent)."""
    sentences = getattr(answer, "sentences", None)
    if sentences is None:
        return {"sentences": None, "unsupported": None, "inferred": None, "support": None}
    items = list(sentences)
    flags = [field_of(s, "supported") for s in items]
    known = any(f is not None for f in flags)
    return {
        "sentences": len(items),
        "unsupported": sum(f is False for f in flags) if known else None,
        "inferred": sum(bool(field_of(s, "inferred", False)) for s in items),
        "support": [rounded(field_of(s, "support")) for s in items],
    }


def rounded(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) else None


def is_answer(item: Any) -> bool:
    return hasattr(item, "sources") and hasattr(item, "text") and hasattr(item, "question")


def cited_right_page(q: Question, answer: Any) -> bool:
    by_number = {s.number: s for s in answer.sources}
    return any(
        n in by_number and page_matches(q, by_number[n].file, by_number[n].page)
        for n in answer.cited
    )


def score_answerable(q: Question, answer: Any, evidence: list[Any] | None) -> dict[str, Any]:
    by_number = {s.number: s for s in answer.sources}
    evidence_pages = None
    if evidence is not None:
        numbers = evidence_source_numbers(evidence)
        evidence_pages = any(
            n in by_number and page_matches(q, by_number[n].file, by_number[n].page)
            for n in numbers
        )
    return {
        "right_page_in_sources": any(page_matches(q, s.file, s.page) for s in answer.sources),
        "right_page_cited": cited_right_page(q, answer),
        "fact_in_answer": bool(contains_facts(q.facts, answer.text)),
        "fact_in_evidence": None
        if evidence is None
        else bool(contains_facts(q.facts, evidence_text(evidence))),
        # what the person reads: the evidence above the answer, and the answer
        "fact_shown": bool(
            contains_facts(q.facts, evidence_text(evidence or []) + " " + answer.text)
        ),
        "evidence_right_page": evidence_pages,
    }
