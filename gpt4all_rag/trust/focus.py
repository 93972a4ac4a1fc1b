"""Passages trimmed to their sentences that bear on the question, for the model's prompt.

Why: on a CPU the model reads the prompt before it writes a word, at about a hundred
tokens a second for the bundled SmolLM2 on two cores, so four whole passages (about
1,100 tokens) keep a person waiting many seconds. Most of a passage does not bear on
the question; a small model is also distracted by it. Each passage keeps its best
sentences (scored like the evidence: MiniLM similarity to the question plus the share
of the question's words) up to a word budget, in their document order, with ``…``
where text was left out. Sources and citations are unchanged: only the model's copy
of each passage is shorter. The budget was chosen on the R-manual dev set
(docs/benchmarks.md, "Speed, session 5").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from gpt4all_rag.trust.embedding import Embedder, unit_rows
from gpt4all_rag.trust.evidence import sentence_relevance
from gpt4all_rag.trust.text import content_terms, split_sentences, word_count
from vectorstore.passage import Passage

__all__ = ["GAP", "focus_passages"]

GAP = " … "  # stands where sentences were left out


def focus_passages(
    question: str, passages: Sequence[Passage], embedder: Embedder, max_words: int
) -> list[Passage]:
    """Each passage cut to its best sentences within ``max_words`` (the best always kept).

    A passage already within the budget, or one without sentences to choose from,
    is kept whole. All sentences are embedded with the question in one batch.
    """
    sentences = [_choices(p.text, max_words) for p in passages]
    flat = [s for group in sentences for s in group]
    if not flat or not question.strip():
        return list(passages)
    vectors = unit_rows(embedder.embed_documents([question, *flat]))
    query, rows = vectors[0], iter(vectors[1:])
    terms = content_terms(question)
    focused = []
    for passage, group in zip(passages, sentences, strict=True):
        if not group:
            focused.append(passage)
            continue
        scores = [
            sentence_relevance(float(next(rows) @ query), terms, content_terms(s)) for s in group
        ]
        text = _trimmed(group, scores, max_words)
        focused.append(dataclasses.replace(passage, text=text))
    return focused


def _choices(text: str, max_words: int) -> list[str]:
    """The sentences to choose among: none for a passage within the budget or of one sentence."""
    if word_count(text) <= max_words:
        return []
    sentences = [s for s in split_sentences(text) if s.strip()]
    return sentences if len(sentences) > 1 else []


def _trimmed(sentences: list[str], scores: list[float], max_words: int) -> str:
    """The best sentences within the budget, in document order, ``…`` over the gaps."""
    chosen: set[int] = set()
    words = 0
    for index in np.argsort(-np.asarray(scores), kind="stable"):
        length = word_count(sentences[index])
        if chosen and words + length > max_words:
            continue
        chosen.add(int(index))
        words += length
    text = ""
    for index, sentence in enumerate(sentences):
        if index in chosen:
            cut = index > 0 and index - 1 not in chosen
            text += (GAP if cut else " ") + sentence
    if len(sentences) - 1 not in chosen:
        text += GAP
    return text.strip()
