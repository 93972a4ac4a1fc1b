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
from typing import Any, Literal

import numpy as np

from gpt4all_rag.trust.citations import CITATION, marker_numbers
from gpt4all_rag.trust.embedding import Embedder, unit_rows
from gpt4all_rag.trust.evidence import SourceText
from gpt4all_rag.trust.text import (
    content_terms,
    sentence_spans,
    split_sentences,
    strip_markers,
    words,
)

__all__ = [
    "OVERLAP_WEIGHT",
    "SUPPORT_THRESHOLD",
    "CheckRules",
    "SentenceSupport",
    "LOW_SUPPORT",
    "SCORE_ONLY",
    "attribute",
    "draft_problem",
    "exact_terms",
    "failed_rule",
    "negation_differs",
    "is_claim",
    "missing_terms",
    "repeats_itself",
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
    reason: str = ""  # why it is flagged, in a reader's words ("" when supported)

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
            "reason": self.reason,
        }


LOW_SUPPORT = "not found in your documents"


@dataclass(frozen=True)
class CheckRules:
    """The checks a claim must pass besides its support score.

    Each was measured alone on the bundled model's own sentences
    (tests/data/rdev/grounding_labels.jsonl, docs/benchmarks.md): word overlap and
    MiniLM similarity pass a fluent sentence that reuses the passage's words, so
    what such a sentence gets wrong (a name, a number, a loop) is checked exactly.

    Attributes:
        exact_terms: every identifier, number, version and proper noun of the claim
            must occur in the passages it stands on.
        terms_in: those passages: the cited ones (or the best, when the model cited
            none), or any source (the default: the small model often cites the wrong
            passage of the right few, and on the labelled set "cited" flagged no more
            wrong sentences but one more right one).
        repetition: a claim that says the same thing twice ("X is not a function in
            the sense that it is not a function") is flagged.
        negation: a claim whose closest source sentence differs in negation is flagged.
        lead_ins: lead-ins ("Here is an example:") and code comments are not claims.
    """

    exact_terms: bool = True
    terms_in: Literal["cited", "any"] = "any"
    repetition: bool = True
    negation: bool = False
    lead_ins: bool = True


SCORE_ONLY = CheckRules(exact_terms=False, repetition=False, negation=False, lead_ins=False)

# Code a reader would copy: `backticked`, or quoted ‘NAME’ of a few words at most.
_CODE_SPAN = re.compile(r"`([^`\n]{1,60})`|[‘“]([^’”\n]{1,60})[’”]")
_TOKEN = re.compile(r"[\w.:$@]+(?:\(\))?")
_CAMEL = re.compile(r"[a-z][A-Z]")
_NEGATION = re.compile(r"\b(?:not|no|never|none|cannot|neither|nor)\b|n't\b", re.IGNORECASE)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})
_LEAD_IN = re.compile(r":\s*$|^\s*(?:#|```|//)")
_ALWAYS_PRESENT = frozenset({"R", "I", "A"})


def exact_terms(sentence: str) -> list[str]:
    """The claim's words that must be found as written: names, numbers, proper nouns.

    Identifiers (``install.packages()``, ``R_HOME``, ``SEXP``, camelCase), numbers
    and versions, code in backticks or quotes, and capitalised words inside the
    sentence. A passage that holds ``install.packages`` does not stand behind
    ``install_packages()``.
    """
    return list(dict.fromkeys(_names_as_written(sentence)))


def _names_as_written(sentence: str) -> list[str]:
    """Every exact term of the sentence in order, repeats included."""
    plain = strip_markers(sentence)
    found = [m.group(1) or m.group(2) for m in _CODE_SPAN.finditer(plain)]
    found = [f for f in found if len(f.split()) <= 4]
    tokens = [m.group(0).strip(".:") for m in _TOKEN.finditer(_CODE_SPAN.sub(" ", plain))]
    for position, token in enumerate(tokens):
        if token and (_is_name(token) or (position and _is_proper(token))):
            found.append(token)
    terms = [t.removesuffix("()").strip(" .,;:") for t in found]
    return [t for t in terms if t and t not in _ALWAYS_PRESENT]


def _is_name(token: str) -> bool:
    """An identifier or a number: what no paraphrase may change."""
    core = token.removesuffix("()")
    return (
        token.endswith("()")
        or any(c.isdigit() for c in core)
        or any(j in core.strip(".") for j in ("_", ".", "::", "$", "@"))
        or _CAMEL.search(core) is not None
        or (core.isupper() and sum(c.isalpha() for c in core) >= 2)
    )


def _is_proper(token: str) -> bool:
    """A capitalised word inside a sentence (Windows, Fortran), not a stop word."""
    return token[:1].isupper() and token.isalpha() and token.lower() not in _COMMON_CAPITALS


_COMMON_CAPITALS = frozenset({"the", "this", "that", "it", "in", "for", "if", "you", "and", "or"})


def missing_terms(sentence: str, text: str) -> list[str]:
    """The exact terms of ``sentence`` that ``text`` does not contain (case ignored)."""
    haystack = " ".join(text.translate(_QUOTES).split()).casefold()
    missing = []
    for term in exact_terms(sentence):
        needle = " ".join(term.translate(_QUOTES).split()).casefold()
        left = r"(?<![\w.])" if needle[:1].isalnum() or needle[:1] == "_" else ""
        right = r"(?![\w])" if not needle.isalpha() else ""
        if not re.search(left + re.escape(needle) + right, haystack):
            missing.append(term)
    return missing


def repeats_itself(sentence: str) -> bool:
    """Whether a claim says something twice: a run of three words, or a name, repeated.

    "X is not a function in the sense that it is not a function", "The field
    ‘NAMESPACE’ should be listed in the ‘NAMESPACE’ field": fluent, on topic, empty.
    """
    tokens = words(sentence)
    grams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    if len(grams) != len(set(grams)):
        return True
    names = [t.casefold() for t in _names_as_written(sentence) if _is_name(t)]
    return len(names) != len(set(names))


def _negated(text: str) -> bool:
    return _NEGATION.search(text) is not None


def negation_differs(sentence: str, text: str) -> bool:
    """Whether the source sentence closest in words to the claim differs from it in negation."""
    terms = content_terms(sentence)
    if not terms:
        return False
    closest = max(split_sentences(text) or [text], key=lambda s: len(terms & content_terms(s)))
    return _negated(strip_markers(sentence)) != _negated(closest)


def failed_rule(sentence: str, text: str, rules: CheckRules) -> str:
    """Why a claim fails the rules against the passages' ``text`` ("" when it passes)."""
    if rules.exact_terms and (missing := missing_terms(sentence, text)):
        shown = ", ".join(f"“{t}”" for t in missing[:3])
        return f"names {shown}, which your documents do not contain here"
    if rules.repetition and repeats_itself(sentence):
        return "says the same thing twice"
    if rules.negation and negation_differs(sentence, text):
        return "its negation differs from the source"
    return ""


def is_claim(sentence: str, *, lead_ins: bool = True) -> bool:
    """Whether a sentence states something the sources could support.

    Very short sentences, questions, and "I could not find that in your
    documents" are not claims: they are never flagged.
    """
    plain = CITATION.sub("", sentence).strip()
    if len(words(plain)) < _MIN_CLAIM_WORDS or plain.endswith("?"):
        return False
    if lead_ins and _LEAD_IN.search(plain):
        return False
    return _NOT_A_CLAIM.search(plain) is None


def attribute(
    answer_text: str,
    sources: Sequence[SourceText],
    embedder: Embedder,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    rules: CheckRules | None = None,
) -> list[SentenceSupport]:
    """Split an answer into sentences and find each one's support in the sources.

    Args:
        answer_text: the model's answer.
        sources: the numbered passages the model was shown.
        embedder: the retrieval embedder; everything is embedded in one batch.
        threshold: the support under which a claim is flagged as unsupported.
        rules: the checks besides the score (default: ``CheckRules()``).

    Returns:
        One ``SentenceSupport`` per sentence, in order. A claim without markers
        cites its best-supporting passage (``inferred=True``) when it is supported.
    """
    spans = sentence_spans(answer_text)
    sentences = [answer_text[start:end] for start, end in spans]
    numbers = {s.number for s in sources}
    rules = rules or CheckRules()
    claims = [is_claim(s, lead_ins=rules.lead_ins) for s in sentences]
    checked = [s for s, claim in zip(sentences, claims, strict=True) if claim]
    scores = support_matrix(checked, sources, embedder) if checked and sources else None
    results = []
    row = 0
    for index, (sentence, claim) in enumerate(zip(sentences, claims, strict=True)):
        before = answer_text[spans[index - 1][1] if index else 0 : spans[index][0]]
        written = tuple(n for n in _markers(sentence) if n in numbers)
        support = scores[row] if claim and scores is not None else None
        row += int(claim)
        verdict = _support(sentence, written, support, sources, threshold, claim, before, rules)
        results.append(verdict)
    return results


def _support(
    sentence: str,
    written: tuple[int, ...],
    support: np.ndarray | None,
    sources: Sequence[SourceText],
    threshold: float,
    claim: bool,
    before: str,
    rules: CheckRules,
) -> SentenceSupport:
    """The verdict on one sentence from its support by each source and the rules."""
    best = float(support.max()) if support is not None else 0.0
    if not claim or support is None:
        return SentenceSupport(sentence, written, best, False, not claim, claim, before)
    inferred = () if written else (sources[int(support.argmax())].number,)
    reason = failed_rule(sentence, _checked_text(written or inferred, sources, rules), rules)
    if best < threshold:
        reason = reason or LOW_SUPPORT
    if reason or written:
        return SentenceSupport(sentence, written, best, False, not reason, claim, before, reason)
    return SentenceSupport(sentence, inferred, best, True, True, claim, before)


def _checked_text(cited: tuple[int, ...], sources: Sequence[SourceText], rules: CheckRules) -> str:
    """The text a claim's exact terms must occur in: its cited passages, or all of them."""
    chosen = [s for s in sources if rules.terms_in == "any" or s.number in cited]
    return "\n".join(s.text for s in chosen or sources)


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
        for number in marker_numbers(match):
            if number not in found:
                found.append(number)
    return found


def draft_problem(sentences: Sequence[SentenceSupport]) -> str:
    """Why an answer is only the model's draft: its failed claims, counted ("" if none).

    A small model's fluent sentences are wrong more often than right
    (docs/benchmarks.md), so one failed claim is enough for the whole text to be
    shown as a draft below the quotes, not as the answer.
    """
    claims = [s for s in sentences if s.claim]
    failed = [s for s in claims if not s.supported]
    if not failed:
        return ""
    first = failed[0].reason or LOW_SUPPORT
    return f"{len(failed)} of its {len(claims)} statements failed the source check ({first})"


def with_markers(sentences: Sequence[SentenceSupport]) -> str:
    """The answer rebuilt from its sentences, with the inferred markers in place."""
    return "".join(s.before + s.marked_text() for s in sentences).strip()
