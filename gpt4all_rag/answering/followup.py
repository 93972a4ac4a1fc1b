"""Follow-up questions: whether one needs the conversation, and what to search it with.

Why not let the model rewrite every follow-up: the bundled 135M model often answers
instead of rewriting ("The answer is: 1."), or drags a new question back into the old
topic, and the search then finds unrelated passages. Here the question as typed is
always searched; a question that reads on its own ("What is the capital of France?")
is never rewritten; and one that leans on the conversation ("And with valgrind?",
"Which header declares those two?") is searched also with the key terms of the
earlier questions, or with a model's rewrite when that rewrite passes
:func:`valid_rewrite`. No model is needed for any of it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gpt4all_rag.trust.citations import ONE_NUMBER_CITATION
from gpt4all_rag.types import Message
from vectorstore.abstention import QUESTION_STOP_WORDS
from vectorstore.fusion import reciprocal_rank_fusion
from vectorstore.keyword import STOP_WORDS
from vectorstore.passage import Passage

__all__ = [
    "RewriteKind",
    "SearchPlan",
    "content_words",
    "depends_on_history",
    "fuse_rankings",
    "key_terms",
    "mentions",
    "plan_search",
    "valid_rewrite",
    "with_key_terms",
]

RewriteKind = Literal["none", "terms", "model"]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z]")
# Openers that continue the conversation: "And with valgrind?", "What about gdb?".
_CONTINUES = re.compile(
    r"^\s*(and|also|but|or|so|then|plus|what about|how about|what if|same|why not|"
    r"what else|anything else|ok|okay)\b",
    re.IGNORECASE,
)
# Words that point back at something said before.
_REFERS = frozenset(
    [
        "it",
        "its",
        "itself",
        "that",
        "this",
        "those",
        "these",
        "them",
        "they",
        "their",
        "one",
        "ones",
        "same",
        "such",
        "instead",
        "either",
        "too",
        "former",
        "latter",
        "above",
        "previous",
        "earlier",
        "there",
    ]
)
# Words that say nothing of a topic, beyond the search's own stop words.
_FILLER = frozenset(
    [
        "about",
        "through",
        "again",
        "also",
        "else",
        "then",
        "just",
        "now",
        "here",
        "thing",
        "things",
        "something",
        "anything",
        "way",
        "ways",
        "kind",
        "sort",
        "under",
        "over",
        "within",
    ]
)
# A question with a pointer word and this many content words or fewer is a follow-up;
# a longer one names its own subject ("... let the user interrupt it?").
_FEW_WORDS = 3
_QUESTION_START = re.compile(
    r"^\s*(what|which|who|whom|whose|why|when|where|how|is|are|was|were|do|does|did|can|"
    r"could|should|would|will|may|might|must|shall|has|have|had|in what|for what)\b",
    re.IGNORECASE,
)
# What a small model writes when it answers instead of rewriting.
_ANSWER_SIGNS = re.compile(
    ONE_NUMBER_CITATION + r"|\banswer\b|^\s*(yes|no|sure|here|this is|it is|you can|you should|"
    r"the \w+ (is|are|was)|to \w+)\b|```",
    re.IGNORECASE,
)
_MAX_REWRITE_WORDS = 40
_EARLIER_TURNS = 3  # user turns walked back for key terms
# Share of a follow-up's own content words that its best passages must hold
# (docs/benchmarks.md, follow-ups).
OWN_WORDS = 0.5


@dataclass(frozen=True)
class SearchPlan:
    """What one question is searched with.

    ``typed`` is always searched (where it has a content word); ``rewrite``, where
    there is one, is searched too and the two rankings fused. ``standalone`` is the
    text the evidence and the prompt read: the rewrite, else the typed question.
    """

    typed: str
    depends: bool = False
    rewrite: str | None = None
    kind: RewriteKind = "none"

    @property
    def standalone(self) -> str:
        """The rewrite where there is one, else the question as typed."""
        return self.rewrite or self.typed


@functools.cache
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: on first use only

    return Stemmer.Stemmer("english")


@functools.cache
def _stop_words() -> frozenset[str]:
    return STOP_WORDS | QUESTION_STOP_WORDS | _REFERS | _FILLER


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry its topic, in order, each once (case kept)."""
    seen: set[str] = set()
    words: list[str] = []
    for word in _WORD.findall(text):
        word = word.strip("._")
        low = word.lower()
        if len(low) < 3 or low in _stop_words() or low in seen:
            continue
        seen.add(low)
        words.append(word)
    return words


def _stems(words: Sequence[str]) -> set[str]:
    return {_stemmer().stemWord(w.lower()) for w in words}


def depends_on_history(question: str) -> bool:
    """Whether ``question`` needs the conversation to be understood.

    A follow-up opens with a continuation ("And ...", "What about ..."), has no word
    of its own topic ("How do I do that?"), or points back ("it", "those") with
    three content words or fewer. A question that names its subject stands alone.
    """
    if _CONTINUES.match(question):
        return True
    content = content_words(question)
    if not content:
        return True
    words = {w.lower() for w in _WORD.findall(question)}
    return bool(words & _REFERS) and len(content) <= _FEW_WORDS


def _user_turns(history: Sequence[Message]) -> list[str]:
    return [m["content"] for m in history if m["role"] == "user" and m["content"].strip()]


def key_terms(question: str, history: Sequence[Message]) -> list[str]:
    """The earlier questions' content words that ``question`` lacks, latest first.

    Only the user's questions are read, never the answers: a small model's answer
    may be off topic. Questions are walked back until one that stands alone.
    """
    have = _stems(content_words(question))
    terms: list[str] = []
    for earlier in reversed(_user_turns(history)[-_EARLIER_TURNS:]):
        for word in content_words(earlier):
            stem = _stemmer().stemWord(word.lower())
            if stem not in have:
                have.add(stem)
                terms.append(word)
        if not depends_on_history(earlier):
            break
    return terms


def with_key_terms(question: str, history: Sequence[Message]) -> str | None:
    """The question with the earlier questions' key terms after it, or None if none."""
    terms = key_terms(question, history)
    return f"{question.strip()} ({', '.join(terms)})" if terms else None


def valid_rewrite(rewrite: str, question: str) -> bool:
    """Whether a model's rewrite of ``question`` can be searched.

    It keeps every content word of the question, is a question, and is not an
    answer (no citation, no "The answer is", no lead-in such as "You can").
    """
    text = rewrite.strip()
    if not text or len(text.split()) > _MAX_REWRITE_WORDS:
        return False
    if not (text.endswith("?") or _QUESTION_START.match(text)):
        return False
    if _ANSWER_SIGNS.search(text):
        return False
    return _stems(content_words(question)) <= _stems(content_words(text))


def plan_search(
    question: str,
    history: Sequence[Message],
    rewrite: Callable[[], str] | None = None,
) -> SearchPlan:
    """How to search ``question`` asked after ``history``.

    ``rewrite`` asks a model for a standalone question; it is called only for a
    question that depends on the conversation, and its text is used only when
    :func:`valid_rewrite` accepts it. Otherwise the earlier key terms are added.
    """
    typed = question.strip()
    if not _user_turns(history) or not depends_on_history(typed):
        return SearchPlan(typed)
    if rewrite is not None:
        text = _first_line(rewrite())
        if valid_rewrite(text, typed):
            return SearchPlan(typed, True, text, "model")
    expanded = with_key_terms(typed, history)
    return SearchPlan(typed, True, expanded, "terms" if expanded else "none")


def _first_line(text: str) -> str:
    lines = [line.strip().strip('"').strip() for line in text.strip().splitlines()]
    return next((line for line in lines if line), "")


def mentions(question: str, passages: Sequence[Passage], share: float = OWN_WORDS) -> bool:
    """Whether the passages hold at least ``share`` of the question's own content words.

    The out-of-scope check of a follow-up as typed: "And in Kotlin?" after a question
    on R loops finds R passages through the earlier terms, but none says "Kotlin".
    A question without a content word of its own ("How do I do that?") passes.
    """
    wanted = _stems(content_words(question))
    if not wanted:
        return True
    found = _stems(_WORD.findall(" ".join(p.text for p in passages)))
    return len(wanted & found) >= share * len(wanted)


def fuse_rankings(
    rankings: Sequence[Sequence[Passage]], k: int, weights: Sequence[float] | None = None
) -> list[Passage]:
    """The ``k`` best passages of several searches, by weighted reciprocal rank fusion.

    A passage found by two searches keeps the text and similarity of its first
    finding; passages of different collections with one id stay apart.
    """
    found: dict[str, Passage] = {}
    keyed: list[list[str]] = []
    for ranking in rankings:
        keys = [f"{p.metadata.get('collection', '')}\x00{p.id}" for p in ranking]
        for key, passage in zip(keys, ranking, strict=True):
            found.setdefault(key, passage)
        keyed.append(keys)
    scores = reciprocal_rank_fusion(keyed, weights=weights)
    order = sorted(scores, key=lambda key: -scores[key])  # stable: earlier searches win ties
    return [found[key] for key in order[:k]]
