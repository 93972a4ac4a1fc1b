"""The question flow, top to bottom: plan, retrieve, evidence, prompt, generate, answer.

    Question(text, history, filters)
      -> search plan           (the question as typed; a follow-up also with the earlier
                                questions' key terms, or a validated model rewrite)
      -> sources               (hybrid retrieval of each query, fused; filters, relevance
                                floor, abstention on the typed question too), numbered [1]...
      -> evidence              (hook: quoted sentences of the best ``read_passages`` sources)
      -> prompt                (those passages, focused, within the model's token budget)
      -> tokens                (the LLM through the stream guard hook; no sources, no LLM)
      -> Answer                (text, sources, citations; hook: per-sentence attribution)

:meth:`QuestionFlow.events` yields typed events as the steps finish
(:class:`SourcesEvent`, :class:`EvidenceEvent`, :class:`TokenEvent`) and the
finished :class:`~gpt4all_rag.answer.Answer` last. The flow is built once per
assistant; each call carries its own :class:`Question`, and no step grows a
shared dict. The model is asked for only when a step needs it: to count the
prompt's tokens right before it generates, or, where ``rewrite_with_model`` is set
and the answer style runs a model, to rewrite a question that depends on the
conversation (:mod:`gpt4all_rag.answering.followup`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from gpt4all_rag.answer import Answer, Source, numbered_sources
from gpt4all_rag.answering.followup import (
    SearchPlan,
    content_words,
    fuse_rankings,
    mentions,
    plan_search,
)
from gpt4all_rag.answering.prompts import (
    NOT_FOUND_ANSWER,
    BuiltPrompt,
    build_answer_prompt,
    build_condense_prompt,
    parse_citations,
)
from gpt4all_rag.llm.protocol import LLMBackend
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport, with_markers
from gpt4all_rag.types import Message
from vectorstore.passage import Passage
from vectorstore.retriever import Filters
from vectorstore.schema import SearchMode

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = [
    "AttributionStep",
    "EvidenceEvent",
    "EvidenceStep",
    "FlowConfig",
    "FlowEvent",
    "FlowHooks",
    "FocusStep",
    "Question",
    "QuestionFlow",
    "Retrieval",
    "Searcher",
    "SourcesEvent",
    "StreamGuard",
    "TokenEvent",
    "model_rewrite",
]

T = TypeVar("T")


class Searcher(Protocol):
    """What the flow needs of a retriever."""

    def search(
        self, query: str, k: int = 5, mode: SearchMode = "hybrid", filters: Filters | None = None
    ) -> list[Passage]:
        """The best passages for a query, best first."""
        ...


class EvidenceStep(Protocol):
    """Hook: the source sentences that answer the question (``gpt4all_rag.trust.evidence``)."""

    def __call__(self, question: str, sources: Sequence[Source]) -> Sequence[Evidence]:
        """Quotes from ``sources``, best first; run before any model."""
        ...


class FocusStep(Protocol):
    """Cuts the passages the model reads to what bears on the question (``focus``)."""

    def __call__(self, question: str, passages: Sequence[Passage]) -> Sequence[Passage]:
        """The passages for the prompt, in the same order."""
        ...


class AttributionStep(Protocol):
    """Hook: each answer sentence with the sources that support it (``trust.grounding``)."""

    def __call__(self, text: str, sources: Sequence[Source]) -> Sequence[SentenceSupport]:
        """Per-sentence attribution of a finished answer."""
        ...


StreamGuard = Callable[[Iterable[str]], Iterable[str]]
"""Hook: wraps the model's token stream, e.g. to end it when it loops (``trust.guard``)."""


def _unguarded(tokens: Iterable[str]) -> Iterable[str]:
    return tokens


@dataclass(frozen=True)
class FlowHooks:
    """Optional steps that slot into the flow; by default the flow runs without them."""

    evidence: EvidenceStep | None = None
    guard: StreamGuard = _unguarded
    attribution: AttributionStep | None = None
    focus: FocusStep | None = None


@dataclass(frozen=True)
class FlowConfig:
    """The knobs of one answer, read once from the settings.

    ``generate=False`` answers with sources and evidence only: the model is never
    loaded (an "evidence only" answer style).
    """

    top_k: int = 4
    mode: SearchMode = "hybrid"
    max_new_tokens: int = 384
    temperature: float = 0.2
    condense_max_tokens: int = 64
    generate: bool = True
    rewrite_with_model: bool = False  # ask the model to rewrite a follow-up (validated)
    prompt_tokens: int | None = None
    read_passages: int = 0  # the best n sources the evidence and the model read; 0: all

    def read(self, items: Sequence[T]) -> Sequence[T]:
        """The sources (or passages) the evidence and the model read: the best ``read_passages``."""
        return items[: self.read_passages] if self.read_passages > 0 else items

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowConfig:
        """The settings' retrieval and generation knobs."""
        return cls(
            top_k=settings.top_k,
            mode=settings.retrieval_mode,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            generate=settings.resolved_answer_style() != "evidence",
            rewrite_with_model=settings.rewrite_follow_ups_with_model,
            prompt_tokens=settings.prompt_tokens,
            read_passages=settings.read_passages,
        )


@dataclass(frozen=True)
class Question:
    """One question and what it is asked with; ``k`` and ``mode`` override the config."""

    text: str
    history: tuple[Message, ...] = ()
    filters: Filters | None = None
    k: int | None = None
    mode: SearchMode | None = None

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise ValueError("the question is empty")


@dataclass(frozen=True)
class Retrieval:
    """The question after retrieval: what was searched for and the sources found, numbered.

    ``standalone`` is what the evidence and the prompt read: the plan's rewrite of a
    follow-up, else the question as typed.
    """

    question: Question
    standalone: str
    passages: tuple[Passage, ...]
    sources: tuple[Source, ...]
    plan: SearchPlan | None = None


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcesEvent:
    """The numbered sources, as soon as retrieval ends (empty: nothing found)."""

    sources: tuple[Source, ...]


@dataclass(frozen=True)
class EvidenceEvent:
    """The evidence hook's quotes, before any model runs."""

    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the answer text, as the model writes it (after the guard)."""

    text: str


FlowEvent = SourcesEvent | EvidenceEvent | TokenEvent | Answer
"""What :meth:`QuestionFlow.events` yields; the :class:`Answer` comes last, once."""


# A small model that starts writing the prompt's own passage tags is echoing the prompt,
# not answering: generation ends there (seen on the R dev set: 20 tags in one answer).
ECHO_STOPS = ("<passage", "</passage")
# A follow-up's own words are looked for in this many of its best passages.
OWN_WORDS_PASSAGES = 3


# --- the steps ----------------------------------------------------------------------


def model_rewrite(
    llm: LLMBackend, question: str, history: Sequence[Message], max_tokens: int
) -> str:
    """The model's rewrite of a follow-up, as it wrote it (``plan_search`` validates it)."""
    messages = build_condense_prompt(question, history)
    return "".join(llm.stream_chat(messages, max_tokens=max_tokens, temperature=0.0))


class QuestionFlow:
    """The steps from a question to an ``Answer``, wired once.

    Args:
        searcher: the retriever.
        llm: returns the language model; called only when a step needs it, so
            the model is not loaded for a question nothing was found for.
        config: retrieval and generation knobs.
        hooks: optional evidence, stream-guard and attribution steps.
    """

    def __init__(
        self,
        searcher: Searcher,
        llm: Callable[[], LLMBackend],
        config: FlowConfig,
        hooks: FlowHooks | None = None,
    ) -> None:
        self.searcher = searcher
        self.llm = llm
        self.config = config
        self.hooks = hooks or FlowHooks()

    def events(self, question: Question) -> Iterator[FlowEvent]:
        """Run the flow, yielding each step's event as it finishes and the ``Answer`` last."""
        retrieval = self.retrieve(question, self.plan(question))
        yield SourcesEvent(retrieval.sources)
        evidence = self.evidence(retrieval)
        if evidence:
            yield EvidenceEvent(evidence)
        prompt = self.prompt(retrieval)
        pieces: list[str] = []
        for token in self.generate(retrieval, prompt):
            pieces.append(token)
            yield TokenEvent(token)
        yield self.answer(retrieval, "".join(pieces), evidence)

    def ask(self, question: Question) -> Answer:
        """Run the flow to its end and return the ``Answer``."""
        for event in self.events(question):
            if isinstance(event, Answer):
                return event
        raise AssertionError("the flow ended without an Answer")  # pragma: no cover

    def plan(self, question: Question) -> SearchPlan:
        """What to search: the question as typed, and a follow-up's rewrite.

        The model is asked to rewrite only where ``rewrite_with_model`` is set and
        the answer style runs a model at all (an evidence-only flow never loads it).
        """

        def ask_model() -> str:
            return model_rewrite(
                self.llm(), question.text, question.history, self.config.condense_max_tokens
            )

        use_model = self.config.rewrite_with_model and self.config.generate
        return plan_search(question.text, question.history, ask_model if use_model else None)

    def standalone(self, question: Question) -> str:
        """The question as the evidence and the prompt read it (see :meth:`plan`)."""
        return self.plan(question).standalone

    def retrieve(self, question: Question, plan: SearchPlan) -> Retrieval:
        """Search each query of the plan, fuse, and number the passages ([1] first).

        The question as typed is always searched (a follow-up, where it has a word of
        its own), and its out-of-scope check holds: a new question is judged on its own
        words alone; a follow-up that the check finds out of scope as typed is answered
        only if its own words are in the best passages of the fused search, so that
        "And in Kotlin?" after a question on R loops finds nothing in R manuals.
        """
        k = question.k or self.config.top_k
        if plan.rewrite is None:
            found = not plan.depends or bool(content_words(plan.typed))
            passages = self._search(question, plan.typed, k) if found else []
        else:
            typed = self._search(question, plan.typed, k) if content_words(plan.typed) else []
            passages = fuse_rankings([typed, self._search(question, plan.rewrite, k)], k)
            if not typed and not mentions(plan.typed, passages[:OWN_WORDS_PASSAGES]):
                passages = []  # the typed question is out of scope, and its words not found
        sources = tuple(numbered_sources(passages))
        return Retrieval(question, plan.standalone, tuple(passages), sources, plan)

    def _search(self, question: Question, query: str, k: int) -> list[Passage]:
        return self.searcher.search(
            query, k=k, mode=question.mode or self.config.mode, filters=question.filters
        )

    def evidence(self, retrieval: Retrieval) -> tuple[Evidence, ...]:
        """The evidence hook's quotes, or none (no hook, or nothing found)."""
        if self.hooks.evidence is None or not retrieval.sources:
            return ()
        return tuple(self.hooks.evidence(retrieval.standalone, self.config.read(retrieval.sources)))

    def prompt(self, retrieval: Retrieval) -> BuiltPrompt | None:
        """The prompt, or None when no model should run (nothing found, or evidence only).

        The token budget is counted with the model's own tokenizer: the model
        loads here, because it is about to generate anyway.
        """
        if not retrieval.sources or not self.config.generate:
            return None
        llm = self.llm()
        budget = llm.context_size - self.config.max_new_tokens
        if self.config.prompt_tokens is not None:
            budget = min(budget, self.config.prompt_tokens)
        passages = self.config.read(retrieval.passages)
        if self.hooks.focus is not None:
            passages = self.hooks.focus(retrieval.standalone, passages)
        return build_answer_prompt(retrieval.standalone, passages, llm.count_tokens, budget)

    def generate(self, retrieval: Retrieval, prompt: BuiltPrompt | None) -> Iterator[str]:
        """The answer's tokens through the stream guard.

        Nothing found (or no passage fits the budget) streams the fixed "not in
        your documents" text, so a reader of the stream sees it like any answer;
        an evidence-only flow (no prompt) streams nothing.
        """
        if not retrieval.sources or (prompt is not None and not prompt.passages):
            yield NOT_FOUND_ANSWER
            return
        if prompt is None:
            return
        tokens = self.llm().stream_chat(
            prompt.messages,
            max_tokens=self.config.max_new_tokens,
            temperature=self.config.temperature,
            stop=list(ECHO_STOPS),
        )
        yield from self.hooks.guard(tokens)

    def answer(self, retrieval: Retrieval, text: str, evidence: tuple[Evidence, ...]) -> Answer:
        """The finished answer: attribution applied, its inferred markers added, citations parsed.

        An evidence-only answer is the evidence itself, each quote with its marker.
        """
        sources = retrieval.sources
        if not sources:
            text = NOT_FOUND_ANSWER
        elif not self.config.generate:
            text = evidence_text(evidence)
        text = text.strip()
        sentences: tuple[SentenceSupport, ...] = ()
        if self.hooks.attribution and self.config.generate and sources:
            sentences = tuple(self.hooks.attribution(text, sources))
            text = with_markers(sentences).strip() if sentences else text
        return Answer(
            question=retrieval.question.text,
            text=text,
            sources=sources,
            cited=tuple(parse_citations(text, len(sources))),
            standalone_question=retrieval.standalone,
            found=bool(sources),
            evidence=evidence,
            sentences=tuple(sentences),
        )


def evidence_text(evidence: Sequence[Evidence]) -> str:
    """The evidence as an answer: each quote followed by its source marker."""
    return " ".join(f"{e.text.strip()} [{e.source}]" for e in evidence)
