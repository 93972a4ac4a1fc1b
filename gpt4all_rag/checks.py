"""The trust steps of an answer, wired for the flow: evidence, loop guard, attribution.

The evidence and the attribution embed the same source sentences, so one
:class:`~gpt4all_rag.evidence.CachedEmbedder` serves both steps of one answer;
it is kept per thread (the app answers in several threads) and replaced when
the sources change, so it never outlives the answer it was made for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gpt4all_rag.evidence import CachedEmbedder, Embedder, Evidence, SourceText, select_evidence
from gpt4all_rag.flow import FlowHooks
from gpt4all_rag.grounding import SUPPORT_THRESHOLD, SentenceSupport, attribute
from gpt4all_rag.guard import RepetitionGuard

__all__ = ["AnswerChecks", "answer_hooks"]


class AnswerChecks:
    """Evidence selection and per-sentence attribution over one shared embedder.

    Args:
        embedder: the retrieval embedder (MiniLM by default).
        evidence_words: the evidence's word budget.
        support_threshold: support under which an answer sentence is unsupported.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        evidence_words: int = 60,
        support_threshold: float = SUPPORT_THRESHOLD,
    ) -> None:
        self.embedder = embedder
        self.evidence_words = evidence_words
        self.support_threshold = support_threshold
        self._local = threading.local()

    def _cached(self, sources: Sequence[SourceText]) -> CachedEmbedder:
        """The cache for these sources: the one the evidence step filled, or a new one."""
        key = tuple((s.number, s.text) for s in sources)
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

    def attribution(self, text: str, sources: Sequence[SourceText]) -> list[SentenceSupport]:
        """Each sentence of ``text`` with the sources that support it."""
        return attribute(text, sources, self._cached(sources), threshold=self.support_threshold)


def answer_hooks(
    embedder: Embedder,
    *,
    evidence: bool = True,
    evidence_words: int = 60,
    support_threshold: float = SUPPORT_THRESHOLD,
) -> FlowHooks:
    """The flow's loop-guard and attribution steps over ``embedder``, and the evidence step."""
    checks = AnswerChecks(
        embedder, evidence_words=evidence_words, support_threshold=support_threshold
    )
    return FlowHooks(
        evidence=checks.evidence if evidence else None,
        guard=RepetitionGuard,
        attribution=checks.attribution,
    )
