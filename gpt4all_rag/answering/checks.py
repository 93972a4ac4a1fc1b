"""The trust steps of an answer, wired for the flow: evidence, focus, loop guard, attribution.

The evidence, the focused passages and the attribution embed the same source
sentences, so one
:class:`~gpt4all_rag.trust.embedding.CachedEmbedder` serves both steps of one answer;
it is kept per thread (the app answers in several threads) and replaced when
the sources change, so it never outlives the answer it was made for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gpt4all_rag.answering.flow import FlowHooks
from gpt4all_rag.trust.embedding import CachedEmbedder, Embedder
from gpt4all_rag.trust.evidence import Evidence, SourceText, select_evidence
from gpt4all_rag.trust.focus import focus_passages
from gpt4all_rag.trust.grounding import SUPPORT_THRESHOLD, SentenceSupport, attribute
from gpt4all_rag.trust.guard import RepetitionGuard

if TYPE_CHECKING:
    from vectorstore.passage import Passage

__all__ = ["AnswerChecks", "answer_hooks"]


class AnswerChecks:
    """Evidence selection and per-sentence attribution over one shared embedder.

    Args:
        embedder: the retrieval embedder (MiniLM by default).
        evidence_words: the evidence's word budget.
        support_threshold: support under which an answer sentence is unsupported.
        focus_words: each passage's word budget in the prompt (``focus``).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        evidence_words: int = 80,
        support_threshold: float = SUPPORT_THRESHOLD,
        focus_words: int = 0,
    ) -> None:
        self.embedder = embedder
        self.evidence_words = evidence_words
        self.support_threshold = support_threshold
        self.focus_words = focus_words
        self._local = threading.local()

    def _cached(self, sources: Sequence[SourceText]) -> CachedEmbedder:
        """The cache for these sources: the one the evidence step filled, or a new one."""
        return self._cache_for(tuple((s.number, s.text) for s in sources))

    def _cache_for(self, key: tuple[tuple[int, str], ...]) -> CachedEmbedder:
        if getattr(self._local, "key", None) != key:
            self._local.key = key
            self._local.cache = CachedEmbedder(self.embedder)
        cache: CachedEmbedder = self._local.cache
        return cache

    def evidence(self, question: str, sources: Sequence[SourceText]) -> list[Evidence]:
        """The source sentences that best answer ``question``."""
        return select_evidence(
            question, sources, self._cached(sources), max_words=self.evidence_words
        )

    def focus(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages cut to their sentences on ``question``, for the prompt."""
        key = tuple((n, p.text) for n, p in enumerate(passages, start=1))
        return focus_passages(question, passages, self._cache_for(key), self.focus_words)

    def attribution(self, text: str, sources: Sequence[SourceText]) -> list[SentenceSupport]:
        """Each sentence of ``text`` with the sources that support it."""
        return attribute(text, sources, self._cached(sources), threshold=self.support_threshold)


def answer_hooks(
    embedder: Embedder,
    *,
    evidence: bool = True,
    evidence_words: int = 80,
    support_threshold: float = SUPPORT_THRESHOLD,
    focus_words: int = 0,
) -> FlowHooks:
    """The flow's steps over ``embedder``: loop guard, attribution, evidence and focus.

    The focus step runs when ``focus_words`` is set (0: the model reads whole passages).
    """
    checks = AnswerChecks(
        embedder,
        evidence_words=evidence_words,
        support_threshold=support_threshold,
        focus_words=focus_words,
    )
    return FlowHooks(
        evidence=checks.evidence if evidence else None,
        guard=RepetitionGuard,
        attribution=checks.attribution,
        focus=checks.focus if focus_words > 0 else None,
    )
