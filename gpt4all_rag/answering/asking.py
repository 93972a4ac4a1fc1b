"""What ``DocumentAssistant`` and ``CollectionSet`` share: the ``Asker`` protocol and its methods.

Both hold a ``QuestionFlow`` over a retriever (one index, or several fused); asking is
the same over either, so it is written once here (:class:`Asking`). The surfaces (CLI,
server, page) that only ask are typed against :class:`Asker`, which both satisfy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from gpt4all_rag.answer import Answer, Source, numbered_sources
from gpt4all_rag.answering.flow import FlowEvent, Question, QuestionFlow, Searcher, TokenEvent

if TYPE_CHECKING:
    from gpt4all_rag.answering.runnable import FlowRunnable
    from gpt4all_rag.index.status import DocumentInfo
    from gpt4all_rag.settings import Settings
    from gpt4all_rag.settings_answering import RetrievalMode
    from gpt4all_rag.types import Message
    from vectorstore.retriever import Filters

__all__ = ["Asker", "Asking"]


class Asker(Protocol):
    """What a surface needs to ask: one collection's assistant or several as one."""

    settings: Settings

    @property
    def model_name(self) -> str:
        """The model that answers, without loading it."""
        ...

    def events(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[FlowEvent]:
        """The flow's events (sources, evidence, tokens), then the ``Answer``."""
        ...

    def stream(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[str | Answer]:
        """The answer's tokens, then the finished ``Answer``."""
        ...

    def ask(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Answer:
        """The answer, with the sources it used."""
        ...

    def search(
        self,
        query: str,
        k: int = 5,
        mode: RetrievalMode | None = None,
        filters: Filters | None = None,
    ) -> list[Source]:
        """The passages a question would retrieve, without the model."""
        ...

    def as_runnable(self) -> FlowRunnable:
        """The question flow as a LangChain ``Runnable``."""
        ...

    def documents(self) -> list[DocumentInfo]:
        """The indexed files (of every collection asked)."""
        ...


class Asking:
    """``events``, ``stream``, ``ask``, ``search`` and ``as_runnable`` over ``self.flow``."""

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

    def as_runnable(self) -> FlowRunnable:
        """The question flow as a LangChain ``Runnable`` from ``{"question", "history", ...}``.

        ``invoke`` returns an ``Answer``; ``stream`` yields the flow's events, the
        ``Answer`` last. Compose it like any other runnable.
        """
        from gpt4all_rag.answering.runnable import FlowRunnable  # LangChain: on use only

        return FlowRunnable(self.flow)
