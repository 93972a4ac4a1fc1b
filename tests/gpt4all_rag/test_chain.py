"""The chain and the public API with a scripted LLM over a real Chroma (fast tier)."""

from __future__ import annotations

from langchain_core.runnables import Runnable

from gpt4all_rag import Answer, Filters
from gpt4all_rag.prompts import NOT_FOUND_ANSWER
from tests.conftest import HashEmbedder, ScriptedLLM


def ready(docs_copy, make_assistant, llm, floor=0.1):
    # Bag-of-words vectors of long chunks score low against short questions: a low floor.
    assistant = make_assistant(docs_copy, embedder=HashEmbedder(), llm=llm, relevance_floor=floor)
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


def test_follow_up_is_rewritten_before_retrieval(docs_copy, make_assistant):
    llm = ScriptedLLM(["How often is Zorblax reactor maintenance required?", "Every 17 days [1]."])
    assistant = ready(docs_copy, make_assistant, llm)
    history = [
        {"role": "user", "content": "What is the Zorblax reactor?"},
        {"role": "assistant", "content": "A research reactor [1]."},
    ]
    answer = assistant.ask("and how often is it serviced?", history=history)
    assert answer.standalone_question == "How often is Zorblax reactor maintenance required?"
    assert "Follow-up question: and how often is it serviced?" in llm.prompts[0][1]["content"]
    assert llm.prompts[1][1]["content"].endswith(
        "Question: How often is Zorblax reactor maintenance required?"
    )
    assert (answer.sources[0].file, answer.sources[0].page) == ("manual.pdf", 3)
    assert answer.text == "Every 17 days [1]."


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
