"""The question flow as a LangChain ``Runnable``, for those who compose chains.

``invoke`` returns the :class:`~gpt4all_rag.answer.Answer`; ``stream`` yields
the flow's typed events (sources, evidence, tokens) and the ``Answer`` last.
Piped into another runnable, the next step receives the ``Answer``: LangChain
hands a step the last chunk of a stream whose chunks cannot be added up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Required

from langchain_core.runnables import Runnable, RunnableConfig
from typing_extensions import TypedDict

from gpt4all_rag.answer import Answer
from gpt4all_rag.answering.flow import FlowEvent, Question, QuestionFlow
from gpt4all_rag.types import Message
from vectorstore.retriever import Filters
from vectorstore.schema import SearchMode

__all__ = ["FlowRunnable", "QuestionInput", "question_from"]


class QuestionInput(TypedDict, total=False):
    """What the runnable takes: the question, and optionally what it is asked with."""

    question: Required[str]
    history: Sequence[Message]
    filters: Filters | None
    k: int | None
    mode: SearchMode | None


def question_from(inputs: QuestionInput) -> Question:
    """The flow's ``Question`` from a runnable input dict."""
    return Question(
        text=inputs["question"],
        history=tuple(inputs.get("history") or ()),
        filters=inputs.get("filters"),
        k=inputs.get("k"),
        mode=inputs.get("mode"),
    )


class FlowRunnable(Runnable[QuestionInput, FlowEvent]):
    """A :class:`QuestionFlow` that LangChain can invoke, batch, stream and pipe."""

    def __init__(self, flow: QuestionFlow) -> None:
        self.flow = flow

    def invoke(
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        """The finished answer to ``input``."""
        answer = self._call_with_config(self._answer, input, config, run_type="chain")
        assert isinstance(answer, Answer)  # _call_with_config types its result as Output
        return answer

    def stream(
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[FlowEvent]:
        """The flow's events for ``input``, the ``Answer`` last."""
        yield from self.transform(iter([input]), config, **kwargs)

    def transform(
        self,
        input: Iterator[QuestionInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[FlowEvent]:
        """The events for the last input of ``input`` (inputs cannot be added up)."""
        yield from self._transform_stream_with_config(input, self._events, config)

    def _answer(self, inputs: QuestionInput) -> Answer:
        return self.flow.ask(question_from(inputs))

    def _events(self, inputs: Iterator[QuestionInput]) -> Iterator[FlowEvent]:
        last: QuestionInput | None = None
        for last in inputs:  # noqa: B007 - only the last input counts
            pass
        if last is not None:
            yield from self.flow.events(question_from(last))
