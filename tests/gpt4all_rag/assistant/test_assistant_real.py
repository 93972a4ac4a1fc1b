"""The whole product with the real bundled MiniLM and the real bundled GGUF model."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import pytest

from gpt4all_rag import Answer, DocumentAssistant, Settings
from gpt4all_rag.answering.prompts import NOT_FOUND_ANSWER
from gpt4all_rag.llm.llama_cpp import loaded_model_count
from tests.helpers.data import DOCS, DOCS_CHUNKS

pytestmark = pytest.mark.slow


class CountingLLM:
    """Passes everything to the real backend and counts the generations."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    @property
    def context_size(self) -> int:
        return self.inner.context_size

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream_chat(self, messages, **kwargs):
        self.calls += 1
        yield from self.inner.stream_chat(messages, **kwargs)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> DocumentAssistant:
    root = tmp_path_factory.mktemp("real")
    shutil.copytree(DOCS, root / "docs")
    settings = Settings(
        documents_dir=root / "docs", index_dir=root / "index", max_new_tokens=48, temperature=0.0
    )
    real = DocumentAssistant.from_settings(settings)
    counting = DocumentAssistant.from_settings(settings, llm=CountingLLM(real.llm))
    report = counting.ingest()
    assert report.chunks_total == sum(DOCS_CHUNKS.values()) and len(report.failed) == 4
    return counting


@pytest.mark.parametrize(
    ("question", "file", "page"),
    [
        ("What is the core temperature of the Zorblax reactor?", "manual.pdf", 2),
        ("How often does the Zorblax reactor need maintenance?", "manual.pdf", 3),
        ("When is the Heron launch date?", "slides.pptx", 2),
        ("How long can queen bees live?", "notes.md", None),
    ],
)
def test_sources_hold_the_fact_asked_about(assistant, question, file, page):
    answer = assistant.ask(question)
    assert answer.found
    assert (answer.sources[0].file, answer.sources[0].page) == (file, page)
    assert answer.text and answer.text != NOT_FOUND_ANSWER


@pytest.mark.parametrize(
    "question",
    [
        "What is the population of Ulaanbaatar in Mongolia?",
        "How do I configure Kubernetes horizontal pod autoscaling?",
        "What is our company's travel expense policy for hotels?",
    ],
)
def test_absent_fact_gets_the_not_found_answer_without_an_llm_call(assistant, question):
    before = assistant.llm.calls
    answer = assistant.ask(question)
    assert answer.text == NOT_FOUND_ANSWER and not answer.found and answer.sources == ()
    assert assistant.llm.calls == before


def test_model_loads_once_across_three_questions(assistant):
    assistant.ask("What is the core temperature of the Zorblax reactor?")
    loads = loaded_model_count()
    assert loads >= 1
    for question in (
        "How long can queen bees live?",
        "At what temperature should green tea steep?",
        "What is the quarterly budget for Project Heron?",
    ):
        assert isinstance(assistant.ask(question), Answer)
    assert loaded_model_count() == loads
    assistant2 = DocumentAssistant.from_settings(assistant.settings)
    assistant2.ask("What is the core temperature of the Zorblax reactor?")
    assert loaded_model_count() == loads  # a second assistant reuses the process's model


def test_stream_yields_real_tokens(assistant):
    pieces = list(assistant.stream("At what temperature should green tea steep?"))
    *tokens, final = pieces
    assert len(tokens) > 1 and isinstance(final, Answer)
    assert "".join(tokens).strip() == final.text
    assert final.sources[0].file == "page.html"


def test_follow_up_with_real_model_retrieves_the_right_document(assistant):
    history = [
        {"role": "user", "content": "What does the Zorblax reactor manual say about temperature?"},
        {"role": "assistant", "content": "It operates at 451 kelvin [1]."},
    ]
    answer = assistant.ask("How often does it need maintenance?", history=history)
    assert "manual.pdf" in {s.file for s in answer.sources}


def repeats_itself(text: str) -> bool:
    """A sentence of 5+ words said twice, or any 8 words in a row said three times."""
    sentences = [re.findall(r"[a-z0-9]+", s.lower()) for s in re.split(r"(?<=[.!?])\s+", text)]
    said = Counter(tuple(s) for s in sentences if len(s) >= 5)
    words = re.findall(r"[a-z0-9]+", text.lower())
    runs = Counter(tuple(words[i : i + 8]) for i in range(len(words) - 7))
    return any(n > 1 for n in said.values()) or any(n > 2 for n in runs.values())


def test_real_answers_never_repeat_a_sentence(tmp_path):
    shutil.copytree(DOCS, tmp_path / "docs")
    settings = Settings(  # the model's draft: the bundled model's default is the quotes alone
        documents_dir=tmp_path / "docs", index_dir=tmp_path / "index", answer_style="both"
    )
    assistant = DocumentAssistant.from_settings(settings)  # the default 384 new tokens
    assistant.ingest()
    for question in (
        "What is the core temperature of the Zorblax reactor?",
        "How long can queen bees live?",
        "When is the Heron launch date?",
    ):
        answer = assistant.ask(question)
        assert answer.found and not repeats_itself(answer.text), answer.text


def test_the_command_line_search_ranks_as_the_assistant_does(assistant, capsys, monkeypatch):
    # `gpt4all-rag search` builds the retriever alone (numpy query vectors, no LangChain).
    from gpt4all_rag.cli.main import main
    from gpt4all_rag.index.retrieval import search_only

    settings = assistant.settings
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(settings.documents_dir))
    monkeypatch.setenv("GPT4ALL_RAG_USE_RUNNING_SERVER", "false")
    assert search_only(settings) is not None  # the path the command takes
    for question in ("core temperature of the Zorblax reactor", "queen bees", "Heron launch"):
        expected = [source.to_json() for source in assistant.search(question, k=3)]
        assert (
            main(["search", "--index", str(settings.index_dir), "--json", "--k", "3", question])
            == 0
        )
        assert json.loads(capsys.readouterr().out)["results"] == expected
