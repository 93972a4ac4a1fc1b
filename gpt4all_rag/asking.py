"""The question methods that ``DocumentAssistant`` and ``CollectionSet`` share.

Both hold a ``QuestionFlow`` over a retriever (one index, or several fused); asking is
the same over either, so it is written once here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from gpt4all_rag.answer import Answer, Source, numbered_sources
from gpt4all_rag.flow import FlowEvent, Question, QuestionFlow, Searcher, TokenEvent

if TYPE_CHECKING:
    from gpt4all_rag.settings import RetrievalMode, Settings
    from gpt4all_rag.types import Message
    from vectorstore.retriever import Filters

__all__ = ["Asking"]


class Asking:
    """``events``, ``stream``, ``ask`` and ``search`` over ``self.flow`` and ``self.retriever``."""

    flow: QuestionFlow
    retriever: Searcher
    settings: Settings

    def events(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[FlowEvent]:
        """Yield the flow's events (sources, evidence, tokens), then the ``Answer``."""
        yield from self.flow.events(Question(question, tuple(history or ()), filters, k, mode))

    def stream(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer's tokens as they are generated, then the finished ``Answer``."""
        for event in self.events(question, history, filters, k, mode):
            if isinstance(event, TokenEvent):
                yield event.text
            elif isinstance(event, Answer):
                yield event

    def ask(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Answer:
        """Answer a question from the documents, with the sources it used."""
        return self.flow.ask(Question(question, tuple(history or ()), filters, k, mode))

    def search(
        self,
        query: str,
        k: int = 5,
        mode: RetrievalMode | None = None,
        filters: Filters | None = None,
    ) -> list[Source]:
        """The passages a question would retrieve, without the LLM."""
        passages = self.retriever.search(
            query, k=k, mode=mode or self.settings.retrieval_mode, filters=filters
        )
        return numbered_sources(passages)
