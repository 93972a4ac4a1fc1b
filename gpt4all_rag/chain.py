"""The question-answering chain, in LangChain Expression Language.

    {question, history, filters}
      -> standalone question (rewritten by the LLM only when there is history)
      -> passages (hybrid retrieval, filters, relevance floor)
      -> prompt (numbered passages inside the token budget)
      -> answer tokens (the LLM, or the fixed "not found" text without any LLM call)

Each step adds one key to a dict, so streaming yields the answer's tokens as
``{"answer": token}`` chunks and the finished dict carries everything an
``Answer`` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.runnables import (
    Runnable,
    RunnableGenerator,
    RunnableLambda,
    RunnablePassthrough,
)

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.llm import LLMBackend
from gpt4all_rag.prompts import (
    NOT_FOUND_ANSWER,
    BuiltPrompt,
    build_answer_prompt,
    build_condense_prompt,
    parse_citations,
)
from vectorstore.retriever import Filters, Passage, SearchMode

__all__ = ["ChainConfig", "Searcher", "build_chain", "to_answer"]

Message = dict[str, str]


class Searcher(Protocol):
    """What the chain needs of a retriever."""

    def search(
        self, query: str, k: int = 5, mode: SearchMode = "hybrid", filters: Filters | None = None
    ) -> list[Passage]:
        """The best passages for a query."""


@dataclass(frozen=True)
class ChainConfig:
    """The knobs of one answer."""

    top_k: int = 4
    mode: SearchMode = "hybrid"
    max_new_tokens: int = 384
    temperature: float = 0.2
    condense_max_tokens: int = 64


def build_chain(
    searcher: Searcher, llm_provider: Any, config: ChainConfig
) -> Runnable[dict[str, Any], dict[str, Any]]:
    """Wire the steps; ``llm_provider()`` returns the LLM, so it loads only when needed."""

    def standalone(inputs: dict[str, Any]) -> str:
        history: Sequence[Message] = inputs.get("history") or []
        question = str(inputs["question"]).strip()
        if not history:
            return question
        return _condense(llm_provider(), question, history, config)

    def retrieve(inputs: dict[str, Any]) -> list[Passage]:
        return searcher.search(
            inputs["standalone_question"],
            k=int(inputs.get("k") or config.top_k),
            mode=inputs.get("mode") or config.mode,
            filters=inputs.get("filters"),
        )

    def prompt(inputs: dict[str, Any]) -> BuiltPrompt | None:
        if not inputs["passages"]:
            return None  # nothing found: the model is not even loaded
        llm = llm_provider()
        budget = llm.context_size - config.max_new_tokens
        return build_answer_prompt(
            inputs["standalone_question"], inputs["passages"], llm.count_tokens, budget
        )

    def generate(inputs: Iterator[dict[str, Any]]) -> Iterator[str]:
        built: BuiltPrompt | None = _last(inputs)["prompt"]
        if built is None or not built.passages:
            yield NOT_FOUND_ANSWER
            return
        yield from llm_provider().stream_chat(
            built.messages, max_tokens=config.max_new_tokens, temperature=config.temperature
        )

    return (
        RunnablePassthrough.assign(standalone_question=RunnableLambda(standalone))
        | RunnablePassthrough.assign(passages=RunnableLambda(retrieve))
        | RunnablePassthrough.assign(prompt=RunnableLambda(prompt))
        | RunnablePassthrough.assign(answer=RunnableGenerator(generate))
    ).with_config(run_name="gpt4all_rag")


def _last(inputs: Iterator[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for chunk in inputs:
        merged.update(chunk)
    return merged


def _condense(
    llm: LLMBackend, question: str, history: Sequence[Message], config: ChainConfig
) -> str:
    """Rewrite a follow-up into a standalone question; keep the original if that fails."""
    messages = build_condense_prompt(question, history)
    text = "".join(
        llm.stream_chat(messages, max_tokens=config.condense_max_tokens, temperature=0.0)
    )
    rewritten = text.strip().splitlines()[0].strip().strip('"') if text.strip() else ""
    if len(rewritten) < 3:
        last_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
        return f"{last_user} {question}".strip()
    return rewritten


def to_answer(result: dict[str, Any]) -> Answer:
    """Turn the chain's finished dict into an ``Answer``."""
    built: BuiltPrompt | None = result.get("prompt")
    passages = built.passages if built else []
    text = str(result.get("answer", "")).strip()
    sources = tuple(Source.from_passage(n, p) for n, p in enumerate(passages, start=1))
    return Answer(
        question=str(result["question"]),
        text=text,
        sources=sources,
        cited=tuple(parse_citations(text, len(sources))),
        standalone_question=str(result.get("standalone_question", "")),
        found=bool(passages),
    )
