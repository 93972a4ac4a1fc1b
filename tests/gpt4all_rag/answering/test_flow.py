"""The question flow and the public API with a scripted LLM over a real Chroma (fast tier)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from langchain_core.runnables import Runnable, RunnableLambda

from gpt4all_rag import Answer, Filters
from gpt4all_rag.answering.flow import (
    EvidenceEvent,
    FlowConfig,
    FlowHooks,
    QuestionFlow,
    SourcesEvent,
    TokenEvent,
)
from gpt4all_rag.answering.prompts import NOT_FOUND_ANSWER
from gpt4all_rag.testing import HashEmbedder, ScriptedLLM
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport
from vectorstore.abstention import Abstention


def ready(docs_copy, make_assistant, llm, floor=0.1, **overrides):
    # Bag-of-words vectors of long chunks score low against short questions: a low floor.
    assistant = make_assistant(
        docs_copy, embedder=HashEmbedder(), llm=llm, relevance_floor=floor, **overrides
    )
    assistant.ingest()
    return assistant


def test_ask_numbers_sources_and_parses_citations(docs_copy, make_assistant):
    llm = ScriptedLLM(["It runs at 451 kelvin [1]."])
    assistant = ready(docs_copy, make_assistant, llm)
    answer = assistant.ask("Zorblax reactor core temperature kelvin")
    assert answer.found
    assert answer.text == "It runs at 451 kelvin [1]."
    assert answer.cited == (1,)
    assert (answer.sources[0].file, answer.sources[0].page) == ("manual.pdf", 2)
    assert [s.number for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    prompt = llm.prompts[0][1]["content"]
    assert '<passage n="1" file="manual.pdf" page="2">' in prompt
    assert prompt.endswith("Question: Zorblax reactor core temperature kelvin")


def test_nothing_relevant_means_no_llm_call(docs_copy, make_assistant):
    llm = ScriptedLLM()
    assistant = ready(docs_copy, make_assistant, llm, floor=0.25)
    answer = assistant.ask("quokka xylophone zeppelin")
    assert not answer.found
    assert answer.text == NOT_FOUND_ANSWER
    assert answer.sources == () and answer.cited == ()
    assert llm.prompts == []


REACTOR_HISTORY = [
    {"role": "user", "content": "What is the Zorblax reactor?"},
    {"role": "assistant", "content": "A research reactor [1]."},
]
FOLLOW_UP = "and how often is it serviced?"


class RecordingSearcher:
    """The real retriever, with every query it was asked kept in order."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.queries: list[str] = []

    def search(self, query, k=5, mode="hybrid", filters=None):
        self.queries.append(query)
        return self.searcher.search(query, k=k, mode=mode, filters=filters)


def pages(answer) -> list[tuple[str, int | None]]:
    return [(s.file, s.page) for s in answer.sources]


def recording(assistant) -> RecordingSearcher:
    searcher = RecordingSearcher(assistant.flow.searcher)
    assistant.flow.searcher = searcher
    return searcher


def test_a_follow_up_is_searched_as_typed_and_with_the_earlier_key_terms(docs_copy, make_assistant):
    llm = ScriptedLLM(["Every 17 days [1]."])
    assistant = ready(docs_copy, make_assistant, llm)
    searched = recording(assistant)
    answer = assistant.ask(FOLLOW_UP, history=REACTOR_HISTORY)
    expanded = "and how often is it serviced? (Zorblax, reactor)"
    assert searched.queries == [FOLLOW_UP, expanded]
    assert answer.standalone_question == expanded
    assert len(llm.prompts) == 1  # the answer's prompt only: no model before the search
    assert llm.prompts[0][1]["content"].endswith(f"Question: {expanded}")
    assert ("manual.pdf", 3) in pages(answer)


def test_a_model_rewrite_that_is_an_answer_is_rejected_and_the_typed_question_searched(
    docs_copy, make_assistant
):
    llm = ScriptedLLM(["The answer is: 1.", "Every 17 days [1]."])
    assistant = ready(docs_copy, make_assistant, llm, rewrite_follow_ups_with_model=True)
    searched = recording(assistant)
    answer = assistant.ask(FOLLOW_UP, history=REACTOR_HISTORY)
    assert "Follow-up question: and how often is it serviced?" in llm.prompts[0][1]["content"]
    assert searched.queries == [FOLLOW_UP, "and how often is it serviced? (Zorblax, reactor)"]
    assert "answer" not in answer.standalone_question
    assert ("manual.pdf", 3) in pages(answer)


def test_a_valid_model_rewrite_is_searched_with_the_typed_question(docs_copy, make_assistant):
    rewrite = "How often is the Zorblax reactor serviced?"
    llm = ScriptedLLM([rewrite, "Every 17 days [1]."])
    assistant = ready(docs_copy, make_assistant, llm, rewrite_follow_ups_with_model=True)
    searched = recording(assistant)
    answer = assistant.ask(FOLLOW_UP, history=REACTOR_HISTORY)
    assert searched.queries == [FOLLOW_UP, rewrite]
    assert answer.standalone_question == rewrite
    assert llm.prompts[1][1]["content"].endswith(f"Question: {rewrite}")
    assert ("manual.pdf", 3) in pages(answer)


def test_an_evidence_only_flow_never_calls_the_model_for_a_follow_up(docs_copy, make_assistant):
    assistant = ready(
        docs_copy,
        make_assistant,
        ScriptedLLM(),
        answer_style="evidence",
        rewrite_follow_ups_with_model=True,  # even so: "quotes only, no model"
    )
    assistant.flow.llm = lambda: pytest.fail("the model was asked for")
    answer = assistant.ask(FOLLOW_UP, history=REACTOR_HISTORY)
    assert answer.found and ("manual.pdf", 3) in pages(answer)
    assert answer.standalone_question == "and how often is it serviced? (Zorblax, reactor)"


def test_a_new_question_after_history_is_not_rewritten(docs_copy, make_assistant):
    llm = ScriptedLLM(["What is the Zorblax reactor made of?", "Queens live five years [1]."])
    assistant = ready(docs_copy, make_assistant, llm, rewrite_follow_ups_with_model=True)
    searched = recording(assistant)
    question = "How long can queen bees live?"
    answer = assistant.ask(question, history=REACTOR_HISTORY)
    assert searched.queries == [question]
    assert answer.standalone_question == question
    assert [m[1]["content"].endswith(f"Question: {question}") for m in llm.prompts] == [True]
    assert answer.sources[0].file == "notes.md"


@pytest.mark.parametrize("question", ["How hot is Venus?", "And in Kotlin?"])
def test_a_question_whose_own_words_are_not_in_the_documents_is_refused_mid_thread(
    docs_copy, make_assistant, question
):
    # The model drags the question into the earlier topic, as the bundled one did.
    llm = ScriptedLLM(["What is the Zorblax reactor core temperature?"])
    assistant = ready(docs_copy, make_assistant, llm, rewrite_follow_ups_with_model=True)
    # The out-of-scope rule on the words alone: hash vectors say nothing of meaning.
    assistant.retriever.abstention = Abstention(min_similarity=1.01, min_coverage=0.5)
    assert assistant.ask("What is the Zorblax reactor?").found  # the thread's topic is there
    answer = assistant.ask(question, history=REACTOR_HISTORY)
    assert not answer.found
    assert answer.text == NOT_FOUND_ANSWER and answer.sources == ()


def test_stream_yields_tokens_then_the_answer(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM(["Queen bees live five years [1]."]))
    pieces = list(assistant.stream("How long can queen bees live?"))
    *tokens, final = pieces
    assert all(isinstance(t, str) for t in tokens) and len(tokens) == 6
    assert isinstance(final, Answer)
    assert "".join(tokens).strip() == final.text == "Queen bees live five years [1]."
    assert final.sources[0].file == "notes.md"


def test_filters_restrict_the_sources(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM(["Heron [1]."]))
    answer = assistant.ask("Project Heron", filters=Filters(extensions=("pptx",)))
    assert answer.sources and {s.file for s in answer.sources} == {"slides.pptx"}
    hits = assistant.search(
        "Project Heron budget euros", k=5, mode="keyword", filters=Filters(files=("report.docx",))
    )
    assert [h.file for h in hits] == ["report.docx"]


def test_search_modes_agree_on_an_exact_fact(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM())
    for mode in ("vector", "keyword", "hybrid"):
        top = assistant.search("green tea steep degrees Celsius", k=1, mode=mode)
        assert [h.file for h in top] == ["page.html"], mode


def test_as_runnable_is_a_langchain_runnable_returning_an_answer(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM(["Lyon [1]."]))
    chain = assistant.as_runnable()
    assert isinstance(chain, Runnable)
    answer = chain.invoke({"question": "Lyon France population city"})
    assert isinstance(answer, Answer) and answer.sources[0].file == "table.csv"
    batch = chain.batch([{"question": "Lyon France population city"}] * 2)
    assert [a.text for a in batch] == ["Lyon [1].", "Lyon [1]."]


def test_the_runnable_streams_events_and_pipes_the_answer(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM(["Lyon is big [1]."]))
    chain = assistant.as_runnable()
    events = list(chain.stream({"question": "Lyon France population city"}))
    assert isinstance(events[0], SourcesEvent) and events[0].sources[0].file == "table.csv"
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) == 4 and "".join(tokens).strip() == "Lyon is big [1]."  # streamed
    assert isinstance(events[-1], Answer) and events[-1].text == "Lyon is big [1]."
    piped = chain | RunnableLambda(lambda answer: answer.cited)
    assert piped.invoke({"question": "Lyon France population city"}) == (1,)
    assert list(piped.stream({"question": "Lyon France population city"})) == [(1,)]


class RecordingLLM(ScriptedLLM):
    """A scripted model that also records when a token count was asked for."""

    def __init__(self, replies=None):
        super().__init__(replies)
        self.counted = 0

    def count_tokens(self, text: str) -> int:
        self.counted += 1
        return super().count_tokens(text)


def test_events_come_in_flow_order_and_evidence_precedes_the_model(docs_copy, make_assistant):
    llm = RecordingLLM(["Queen bees live five years [1]."])
    seen_by_evidence: list[tuple[int, int]] = []

    def evidence(question, sources):
        seen_by_evidence.append((len(llm.prompts), llm.counted))  # the model has not run
        return [f"[{sources[0].number}] {sources[0].file}"]

    assistant = ready(docs_copy, make_assistant, llm, hooks=FlowHooks(evidence=evidence))
    events = list(assistant.events("How long can queen bees live?"))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SourcesEvent", "EvidenceEvent"] + ["TokenEvent"] * 6 + ["Answer"]
    assert events[1] == EvidenceEvent(("[1] notes.md",))
    assert seen_by_evidence == [(0, 0)]
    assert events[-1].evidence == ("[1] notes.md",)
    tokens = list(assistant.stream("How long can queen bees live?"))
    assert [type(t).__name__ for t in tokens] == ["str"] * 6 + ["Answer"]  # stream(): as before


def test_the_guard_hook_sees_the_token_stream(docs_copy, make_assistant):
    def two_tokens(tokens: Iterable[str]) -> Iterator[str]:
        for n, token in enumerate(tokens):
            if n == 2:
                return
            yield token

    llm = ScriptedLLM(["One two three four [1]."])
    assistant = ready(docs_copy, make_assistant, llm, hooks=FlowHooks(guard=two_tokens))
    answer = assistant.ask("How long can queen bees live?")
    assert answer.text == "One two"
    tokens = [e for e in assistant.events("queen bees") if isinstance(e, TokenEvent)]
    assert [t.text for t in tokens] == ["One ", "two "]


def test_the_attribution_hook_gets_the_finished_text_and_adds_its_markers(
    docs_copy, make_assistant
):
    received: list[str] = []

    def attribution(text, sources):
        received.append(text)
        first, second = text.split(". ")
        return [
            SentenceSupport(first + ".", (sources[0].number,), 0.9, True, True),
            SentenceSupport(second, (1,), 0.9, False, True),
        ]

    llm = ScriptedLLM(["Bees live. Queens longer [1]."])
    assistant = ready(docs_copy, make_assistant, llm, hooks=FlowHooks(attribution=attribution))
    answer = assistant.ask("How long can queen bees live?")
    assert received == ["Bees live. Queens longer [1]."]
    assert [s.text for s in answer.sentences] == ["Bees live.", "Queens longer [1]."]
    assert answer.text == "Bees live [1]. Queens longer [1]."  # the inferred marker added


def test_nothing_found_never_builds_the_model(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM(), floor=0.25)
    built: list[object] = []
    assistant.flow.llm = lambda: built.append(1) or pytest.fail("the model was asked for")
    events = list(assistant.events("quokka xylophone zeppelin"))
    assert events[:2] == [SourcesEvent(()), TokenEvent(NOT_FOUND_ANSWER)]  # shown as it streams
    assert isinstance(events[2], Answer) and events[2].text == NOT_FOUND_ANSWER
    assert len(events) == 3 and built == []


def test_an_evidence_only_flow_never_builds_the_model(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ScriptedLLM())
    assistant.flow = QuestionFlow(
        assistant.retriever,
        lambda: pytest.fail("the model was asked for"),
        FlowConfig(generate=False),
        FlowHooks(evidence=lambda question, sources: [Evidence("Queens live long.", 1)]),
    )
    events = list(assistant.events("How long can queen bees live?"))
    assert [type(e).__name__ for e in events] == ["SourcesEvent", "EvidenceEvent", "Answer"]
    answer = events[-1]
    assert (answer.text, answer.cited, answer.found) == ("Queens live long. [1]", (1,), True)
    assert answer.evidence == (Evidence("Queens live long.", 1),)


def test_an_empty_question_is_refused(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    with pytest.raises(ValueError, match="the question is empty"):
        assistant.ask("   ")


class StopHonouringLLM(ScriptedLLM):
    """A scripted model that, like llama.cpp and OpenAI servers, ends at a stop string."""

    def stream_chat(self, messages, *, max_tokens, temperature, stop=None):
        pieces = super().stream_chat(messages, max_tokens=max_tokens, temperature=temperature)
        text = "".join(pieces)
        for marker in stop or []:
            text = text.split(marker)[0]
        yield text


def test_an_answer_that_echoes_the_prompts_passage_tags_ends_there(docs_copy, make_assistant):
    echo = 'Bees live five years [1].\n\n<passage n="2" file="notes.md">\n<passage n="3">'
    assistant = ready(docs_copy, make_assistant, StopHonouringLLM([echo]))
    answer = assistant.ask("How long can queen bees live?")
    assert answer.text == "Bees live five years [1]."


def test_the_evidence_and_the_model_read_the_best_sources_and_all_are_listed(
    docs_copy, make_assistant
):
    llm = ScriptedLLM(["Queens live longest [1]."])
    read_by_evidence: list[list[int]] = []

    def evidence(question, sources):
        read_by_evidence.append([s.number for s in sources])
        return []

    hooks = FlowHooks(evidence=evidence)
    assistant = ready(
        docs_copy, make_assistant, llm, hooks=hooks, top_k=4, read_passages=2, floor=0.0
    )
    answer = assistant.ask("How long can queen bees live?")
    assert len(answer.sources) == 4
    assert read_by_evidence == [[1, 2]]
    prompt = llm.prompts[0][1]["content"]
    assert '<passage n="2"' in prompt and '<passage n="3"' not in prompt
    reads_all = ScriptedLLM(["Queens live longest [1]."])
    ready(docs_copy, make_assistant, reads_all, top_k=4, read_passages=0, floor=0.0).ask(
        "How long can queen bees live?"
    )
    assert '<passage n="4"' in reads_all.prompts[0][1]["content"]
