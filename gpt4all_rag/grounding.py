"""Each answer sentence, the sources it cites, and how well the sources support it.

Small models rarely write ``[n]`` markers and sometimes invent. So every
sentence of an answer is checked against the passages: its support is the
best, over the passages, of its MiniLM similarity to the passage's closest
sentence plus a weighted share of its words the passage contains. A sentence
without markers is attributed to its best passage (the marker is added and
flagged as inferred); a sentence no passage supports above the threshold is
flagged as unsupported, not hidden.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpt4all_rag.evidence import Embedder, SourceText, unit_rows
from gpt4all_rag.text import CITATION, content_terms, sentence_spans, split_sentences, words

__all__ = [
    "OVERLAP_WEIGHT",
    "SUPPORT_THRESHOLD",
    "SentenceSupport",
    "attribute",
    "is_claim",
    "similarity_and_overlap",
    "support_matrix",
    "with_markers",
]

# support = best passage-sentence similarity + OVERLAP_WEIGHT * share of the sentence's
# terms found in the passage. Both calibrated with the bundled MiniLM on the R-manual dev
# set (scripts/calibrate_grounding.py): the pair that flags the most false sentences while
# flagging at most 5% of each kind of true one. There, 0.75 flags 3% of right answers in a
# model's words, 2% of paraphrased source sentences, and 100% of sentences from other
# manuals, 96% of invented answers, 52% of wrong answers on the right topic (P 0.99, R 0.83).
OVERLAP_WEIGHT = 0.25
SUPPORT_THRESHOLD = 0.75
_MIN_CLAIM_WORDS = 4
_NOT_A_CLAIM = re.compile(
    r"\b(?:could ?n[o']t|can ?n[o']t|unable to|do(?:es)? ?n[o']t)\s+"
    r"(?:find|answer|contain|mention|say)"
    r"|\bnot (?:\w+ )?(?:in|from) (?:the|your|these|those) (?:documents|sources|passages)"
    r"|\bno (?:information|mention)\b",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = re.compile(r"[.!?:;,]*[\"')\]]*\s*$")


@dataclass(frozen=True)
class SentenceSupport:
    """One answer sentence and what stands behind it.

    Attributes:
        text: the sentence as the model wrote it (with its own markers).
        cited: the sources it cites: the model's markers, or the inferred one.
        support: the best support any passage gives it (see the module docstring).
        inferred: whether ``cited`` was added by attribution, not written by the model.
        supported: whether ``support`` reaches the threshold (always true for a
            sentence that is not a claim, such as "I could not find that").
        claim: whether the sentence states something that can be checked.
    """

    text: str
    cited: tuple[int, ...]
    support: float
    inferred: bool
    supported: bool
    claim: bool = True
    before: str = field(default=" ", compare=False, repr=False)  # layout before it

    def marked_text(self) -> str:
        """The sentence with its inferred marker before the final punctuation."""
        if not self.inferred:
            return self.text
        markers = "".join(f"[{n}]" for n in self.cited)
        end = _TRAILING_PUNCTUATION.search(self.text)
        cut = end.start() if end else len(self.text)
        return f"{self.text[:cut]} {markers}{self.text[cut:]}"

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` shape of one sentence."""
        return {
            "text": self.text,
            "cited": list(self.cited),
            "support": round(self.support, 4),
            "inferred": self.inferred,
            "supported": self.supported,
        }


def is_claim(sentence: str) -> bool:
    """Whether a sentence states something the sources could support.

    Very short sentences, questions, and "I could not find that in your
    documents" are not claims: they are never flagged.
    """
    plain = CITATION.sub("", sentence).strip()
    if len(words(plain)) < _MIN_CLAIM_WORDS or plain.endswith("?"):
        return False
    return _NOT_A_CLAIM.search(plain) is None


def attribute(
    answer_text: str,
    sources: Sequence[SourceText],
    embedder: Embedder,
    *,
    threshold: float = SUPPORT_THRESHOLD,
) -> list[SentenceSupport]:
    """Split an answer into sentences and find each one's support in the sources.

    Args:
        answer_text: the model's answer.
        sources: the numbered passages the model was shown.
        embedder: the retrieval embedder; everything is embedded in one batch.
        threshold: the support under which a claim is flagged as unsupported.

    Returns:
        One ``SentenceSupport`` per sentence, in order. A claim without markers
        cites its best-supporting passage (``inferred=True``) when it is supported.
    """
    spans = sentence_spans(answer_text)
    sentences = [answer_text[start:end] for start, end in spans]
    numbers = {s.number for s in sources}
    claims = [is_claim(s) for s in sentences]
    checked = [s for s, claim in zip(sentences, claims, strict=True) if claim]
    scores = support_matrix(checked, sources, embedder) if checked and sources else None
    results = []
    row = 0
    for index, (sentence, claim) in enumerate(zip(sentences, claims, strict=True)):
        before = answer_text[spans[index - 1][1] if index else 0 : spans[index][0]]
        written = tuple(n for n in _markers(sentence) if n in numbers)
        support = scores[row] if claim and scores is not None else None
        row += int(claim)
        results.append(_support(sentence, written, support, sources, threshold, claim, before))
    return results


def _support(
    sentence: str,
    written: tuple[int, ...],
    support: np.ndarray | None,
    sources: Sequence[SourceText],
    threshold: float,
    claim: bool,
    before: str,
) -> SentenceSupport:
    """The verdict on one sentence from its support by each source."""
    best = float(support.max()) if support is not None else 0.0
    supported = best >= threshold or not claim
    if written or not claim or not supported or support is None:
        return SentenceSupport(sentence, written, best, False, supported, claim, before)
    inferred = (sources[int(support.argmax())].number,)
    return SentenceSupport(sentence, inferred, best, True, True, claim, before)


def support_matrix(
    sentences: Sequence[str], sources: Sequence[SourceText], embedder: Embedder
) -> np.ndarray:
    """Support of each sentence (rows) by each source (columns): similarity + overlap."""
    similarity, overlap = similarity_and_overlap(sentences, sources, embedder)
    return similarity + OVERLAP_WEIGHT * overlap


def similarity_and_overlap(
    sentences: Sequence[str],
    sources: Sequence[SourceText],
    embedder: Embedder,
    *,
    pairs: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of support, each a (sentences x sources) matrix.

    Similarity is the best cosine between the sentence and the source's units:
    its sentences and, with ``pairs``, each pair of neighbouring sentences too
    (an answer may join two; on the R-manual calibration it changed 38 of 342
    scores slightly and no figure, at twice the embedding cost, so it is off).
    Overlap is the share of the sentence's terms that the source contains.
    """
    units, owners = _units(sources, pairs=pairs)
    vectors = unit_rows(embedder.embed_documents([*sentences, *units]))
    cosine = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    similarity = np.full((len(sentences), len(sources)), -1.0, dtype=np.float32)
    for column in range(len(sources)):
        mine = owners == column
        if mine.any():
            similarity[:, column] = cosine[:, mine].max(axis=1)
    return similarity, _overlap(sentences, sources)


def _units(sources: Sequence[SourceText], *, pairs: bool) -> tuple[list[str], np.ndarray]:
    """Each source's sentences (and neighbouring pairs), and the source each belongs to."""
    units: list[str] = []
    owners: list[int] = []
    for column, source in enumerate(sources):
        sentences = split_sentences(source.text) or [source.text]
        joined = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
        mine = [*sentences, *joined] if pairs else sentences
        units.extend(mine)
        owners.extend([column] * len(mine))
    return units, np.asarray(owners, dtype=np.int64)


def _overlap(sentences: Sequence[str], sources: Sequence[SourceText]) -> np.ndarray:
    """The share of each sentence's terms that each source contains."""
    source_terms = [content_terms(s.text) for s in sources]
    matrix = np.zeros((len(sentences), len(sources)), dtype=np.float32)
    for row, sentence in enumerate(sentences):
        terms = content_terms(sentence)
        for column, available in enumerate(source_terms):
            matrix[row, column] = len(terms & available) / len(terms) if terms else 0.0
    return matrix


def _markers(sentence: str) -> list[int]:
    """The numbers of the ``[n]`` markers in a sentence, in order, each once."""
    found: list[int] = []
    for match in CITATION.finditer(sentence):
        for part in re.split(r"[,;]", match.group(1)):
            if int(part) not in found:
                found.append(int(part))
    return found


def with_markers(sentences: Sequence[SentenceSupport]) -> str:
    """The answer rebuilt from its sentences, with the inferred markers in place."""
    return "".join(s.before + s.marked_text() for s in sentences).strip()
