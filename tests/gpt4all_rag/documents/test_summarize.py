"""Summaries: the map-reduce within the budget, streaming, the cache, page citations.

The fast tier runs on the hash embedder and the scripted model, whose prompts
are recorded and whose tokens are words, so the budget can be checked prompt by
prompt. One slow test has the bundled GGUF summarize the three-page manual.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.documents.summarize.checking import MOSTLY_UNSUPPORTED
from gpt4all_rag.documents.summarize.citations import (
    format_pages,
    page_citations,
    validate_page_citations,
)
from gpt4all_rag.documents.summarize.document import indexed_document
from gpt4all_rag.documents.summarize.mapreduce import FINAL_TASK, MAP_PROMPT, REDUCE_PROMPT
from gpt4all_rag.documents.summarize.results import Summary, SummaryProgress
from gpt4all_rag.errors import DocumentLoadError
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.summaries import DRAFT_LABEL
from tests.helpers.app_page import app_page
from tests.helpers.data import DOCS

Build = Callable[..., DocumentAssistant]
ROOT = Path(__file__).resolve().parents[3]
WORDS = " ".join(f"point{n}" for n in range(80))  # a long reply with no repeated words
MANUAL_REPLY = (
    "The reactor runs hot [p. 2]. It was built on Mars (p. 9). Checks are often [pp. 3-4]."
)
MANUAL_SUMMARY = "The reactor runs hot [p. 2]. It was built on Mars. Checks are often [p. 3]."


def long_text(paragraphs: int = 30) -> str:
    """Paragraphs of words found nowhere else, about 150 words each."""
    return "\n\n".join(
        " ".join(f"topic{p}word{w}" for w in range(150)) + "." for p in range(paragraphs)
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DOCS / "manual.pdf", folder / "manual.pdf")
    (folder / "long.txt").write_text(long_text(), encoding="utf-8")
    return folder


def build(
    make_assistant: Build, docs: Path, llm: ScriptedLLM, **settings: object
) -> DocumentAssistant:
    assistant = make_assistant(docs, llm=llm, embedding_backend="hash", **settings)
    assistant.ingest()
    return assistant


class StopsRecorded(ScriptedLLM):
    """The scripted model, also keeping the stop strings of each call (it ignores them)."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.stops: list[list[str] | None] = []

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Record ``stop``, then answer from the script."""
        self.stops.append(stop)
        return super().stream_chat(messages, max_tokens=max_tokens, temperature=temperature)


def prompt_words(prompt: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) for m in prompt)


# --- pages ---------------------------------------------------------------------------------


def test_pages_are_written_as_a_reader_writes_them() -> None:
    assert format_pages([3]) == "p. 3"
    assert format_pages([5, 3, 4, 8, 3]) == "pp. 3–5, 8"
    assert format_pages([]) == ""


def test_page_citations_of_every_usual_form() -> None:
    text = "A [p. 3]. B (p. 5). C [pp. 7-9]. D [p. 2, 11]. E (page 4). F [1] is a passage."
    assert page_citations(text) == [2, 3, 4, 5, 7, 8, 9, 11]


def test_citations_of_pages_the_document_lacks_are_removed() -> None:
    text = "Hot [p. 2]. Old (p. 9). Both [pp. 3-4]. Neither [p. 7, 8]."
    assert validate_page_citations(text, [1, 2, 3]) == "Hot [p. 2]. Old. Both [p. 3]. Neither."


# --- the map-reduce --------------------------------------------------------------------------


def test_a_long_document_is_summarized_in_steps_that_each_fit_the_budget(
    make_assistant: Build, docs: Path
) -> None:
    llm = ScriptedLLM([WORDS], context_size=1024)
    assistant = build(make_assistant, docs, llm, max_new_tokens=64, prompt_tokens=600)
    chunks = indexed_document(assistant, "long.txt").chunks

    summary = assistant.summarize("long.txt")

    assert len(chunks) > 20
    assert all(prompt_words(p) <= 600 for p in llm.prompts)  # min(1024 - 64, 600)
    maps = [p for p in llm.prompts if p[0]["content"] == MAP_PROMPT]
    reduces = [p for p in llm.prompts[len(maps) : -1] if p[0]["content"] == REDUCE_PROMPT]
    assert len(maps) >= 5 and len(reduces) >= 2  # more than one reduce round's worth
    assert len(maps) + len(reduces) + 1 == len(llm.prompts) == summary.llm_calls
    assert llm.prompts[-1][1]["content"].endswith(FINAL_TASK)
    # Every chunk is read once, whole, in order.
    read = "\n".join(p[1]["content"] for p in maps)
    positions = [read.find(c.text) for c in chunks]
    assert -1 not in positions and positions == sorted(positions)
    assert all(read.count(c.text) == 1 for c in chunks)
    assert summary.text == " ".join(WORDS.split()[:64])
    assert len(summary.sections) == len(maps)


def test_progress_comes_first_then_the_final_tokens_then_the_summary(
    make_assistant: Build, docs: Path
) -> None:
    llm = ScriptedLLM(["Part summary.", "Part summary.", "The whole reactor."], 1024)
    assistant = build(make_assistant, docs, llm, max_new_tokens=64, prompt_tokens=600)

    events = list(assistant.summary_events("long.txt"))

    maps = [e for e in events if isinstance(e, SummaryProgress) and e.stage == "map"]
    assert [(e.done, e.total) for e in maps] == [(n, len(maps)) for n in range(1, len(maps) + 1)]
    final = events.index(SummaryProgress("final", 0, 1))
    check = events.index(SummaryProgress("check", 0, 1))
    tokens = [e.text for e in events[final + 1 : check] if isinstance(e, TokenEvent)]
    assert len(tokens) == check - final - 1  # nothing but tokens in between
    assert check == len(events) - 2  # the check, then the Summary
    assert "".join(tokens) == "The whole reactor. "
    assert isinstance(events[-1], Summary) and events[-1].text == "The whole reactor."


def test_a_document_that_fits_is_one_call_that_cites_only_its_pages(
    make_assistant: Build, docs: Path
) -> None:
    llm = ScriptedLLM([MANUAL_REPLY])
    assistant = build(make_assistant, docs, llm)

    summary = assistant.summarize("manual.pdf")

    assert len(llm.prompts) == 1 and summary.llm_calls == 1
    assert summary.text == MANUAL_SUMMARY
    assert summary.cited_pages == [2, 3]
    assert summary.pages == (1, 2, 3)
    assert [s.pages for s in summary.sections] == [(1, 2, 3)]
    assert '<excerpt page="2">' in llm.prompts[0][1]["content"]


def test_an_opening_summary_tag_is_dropped_and_echoed_tags_end_the_text(
    make_assistant: Build, docs: Path
) -> None:
    # The bundled SmolLM2 opens with "<summary>", then may copy the prompt's excerpts.
    llm = StopsRecorded(["<summary>\nThe reactor is hot [p. 2]."])
    assistant = build(make_assistant, docs, llm)

    events = list(assistant.summary_events("manual.pdf"))

    assert assistant.summarize("manual.pdf").text == "The reactor is hot [p. 2]."
    assert "<summary" not in "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert llm.stops == [["</excerpt", "</summary", "<excerpt"]]  # the real backends stop there


def test_each_section_keeps_its_own_pages_and_cites_no_other(
    make_assistant: Build, docs: Path
) -> None:
    llm = ScriptedLLM(["Hot [p. 1] and [p. 2] and [p. 3]."])
    assistant = build(
        make_assistant, docs, llm, context_size=512, max_new_tokens=64, prompt_tokens=190
    )

    summary = assistant.summarize("manual.pdf")

    assert len(summary.sections) >= 2
    assert [p for s in summary.sections for p in s.pages] == [1, 2, 3]  # in order, each once
    for section in summary.sections:
        assert page_citations(section.text) == list(section.pages)
    assert summary.cited_pages == [1, 2, 3]
    assert "By section:" in summary.markdown() and "(p. 3)" in summary.markdown()


def test_a_file_not_in_the_index_is_a_readable_error(make_assistant: Build, docs: Path) -> None:
    assistant = build(make_assistant, docs, ScriptedLLM())
    with pytest.raises(DocumentLoadError, match="not in the index"):
        assistant.summarize("nope.pdf")


# --- the cache ---------------------------------------------------------------------------------


def test_a_second_summary_is_the_cached_one_without_a_model_call(
    make_assistant: Build, docs: Path, tmp_path: Path
) -> None:
    llm = ScriptedLLM([MANUAL_REPLY])
    assistant = build(make_assistant, docs, llm)
    first = assistant.summarize("manual.pdf")

    events = list(assistant.summary_events("manual.pdf"))

    assert len(llm.prompts) == 1
    assert events[0] == SummaryProgress("cached", 1, 1) and len(events) == 2
    second = events[-1]
    assert isinstance(second, Summary) and second.cached and not first.cached
    assert (second.text, second.sections, second.llm_calls) == (
        first.text,
        first.sections,
        first.llm_calls,
    )
    cached = list((tmp_path / "index" / "summaries").glob("*.json"))
    assert [p.name.split("-")[0] for p in cached] == [first.content_hash]
    assert json.loads(cached[0].read_text())["text"] == first.text
    assistant.summarize("manual.pdf", refresh=True)
    assert len(llm.prompts) == 2


def test_a_changed_file_is_summarized_again_and_its_old_summary_dropped(
    make_assistant: Build, docs: Path, tmp_path: Path
) -> None:
    llm = ScriptedLLM(["Old summary.", "New summary."])
    assistant = build(make_assistant, docs, llm)
    (docs / "notes.txt").write_text("The heron nests by the river in spring.", encoding="utf-8")
    assistant.ingest()
    old = assistant.summarize("notes.txt")

    (docs / "notes.txt").write_text("The heron now nests by the lake in winter.", encoding="utf-8")
    assistant.ingest()
    new = assistant.summarize("notes.txt")

    assert (old.text, new.text) == ("Old summary.", "New summary.")
    assert not new.cached and new.content_hash != old.content_hash
    assert "lake" in llm.prompts[-1][1]["content"]
    names = sorted(p.name.split("-")[0] for p in (tmp_path / "index" / "summaries").iterdir())
    assert names == [new.content_hash]


def test_a_moved_file_reuses_its_summary(make_assistant: Build, docs: Path) -> None:
    llm = ScriptedLLM([MANUAL_REPLY])
    assistant = build(make_assistant, docs, llm)
    first = assistant.summarize("manual.pdf")
    (docs / "manual.pdf").rename(docs / "reactor.pdf")
    assistant.ingest()

    moved = assistant.summarize("reactor.pdf")

    assert moved.cached and moved.file == "reactor.pdf" and moved.text == first.text
    assert len(llm.prompts) == 1


# --- the command line and the app -----------------------------------------------------------------


def fakes(*replies: str) -> Callable[[Settings], DocumentAssistant]:
    def make(settings: Settings) -> DocumentAssistant:
        update = {"embedding_backend": "hash", "llm_backend": "scripted"}
        return DocumentAssistant.from_settings(
            settings.model_copy(update={**update, "scripted_replies": list(replies)})
        )

    return make


def test_the_summarize_command_streams_the_summary_and_progress(
    docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "index")
    make = fakes(MANUAL_REPLY)
    assert main(["ingest", str(docs), "--index", index], make) == 0
    capsys.readouterr()

    assert main(["summarize", str(docs / "manual.pdf"), "--index", index], make) == 0
    out, err = capsys.readouterr()
    assert out.startswith(
        MANUAL_REPLY + " \n! cited pages the document does not have, removed: 4, 9\n"
        "! not supported (not found in your documents): The reactor runs hot [p. 2].\n"
        "! not supported (names “Mars”, which your documents do not contain here): "
        "It was built on Mars.\n"
        f"\n! {MOSTLY_UNSUPPORTED}\n"
    )
    assert '  "This manual describes the safe operation of the Zorblax reactor." (p. 1)' in out
    assert err == ""  # one call: no map or reduce steps to report

    assert main(["summarize", "manual.pdf", "--index", index, "--json"], make) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cached"] and summary["cited_pages"] == [2, 3]
    assert summary["text"].endswith("Checks are often [p. 3].")
    assert [s["supported"] for s in summary["sentences"]] == [False, False, True]
    assert summary["sentences"][1]["reason"].startswith("names “Mars”")
    assert summary["mostly_unsupported"] and summary["quotes"][0]["page"] == 1

    assert main(["summarize", "nope.pdf", "--index", index], make) == 2
    assert "nope.pdf: not in the index" in capsys.readouterr().err


def test_the_app_summarizes_a_document_from_its_row(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (docs / "long.txt").unlink()
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.setenv("GPT4ALL_RAG_SCRIPTED_REPLIES", json.dumps([MANUAL_REPLY]))
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    page = app_page(60).run()

    page.button(key="summarize-manual.pdf").click().run()

    assert not page.exception, page.exception
    assert [s.value for s in page.main.subheader] == ["Summary of manual\\.pdf"]
    # Two of its claims fail the check: the key sentences first, the model's text folded.
    assert page.main.caption[0].value == MOSTLY_UNSUPPORTED
    shown = [m.value for m in page.main.markdown]
    assert "- “This manual describes the safe operation of the Zorblax reactor\\.” :gray[p. 1]" in (
        "\n".join(shown)
    )
    assert [e.label for e in page.main.expander] == [DRAFT_LABEL]
    draft = ":gray[It was built on Mars\\.] :gray[*\\(not found in your sources\\)*]"
    assert any(draft in m.value for m in page.main.expander[0].markdown)
    assert page.main.caption[-1].value == "scripted · 1 model call · 0 s · 3 pages"
    page.run()  # the next run of the page shows the cached summary
    assert page.main.caption[-1].value == "scripted · 1 model call · cached · 3 pages"
    page.button(key="summary-close").click().run()
    assert [s.value for s in page.main.subheader] == []


@pytest.mark.slow
def test_the_bundled_model_summarizes_the_manual_citing_its_pages(
    docs: Path, tmp_path: Path
) -> None:
    settings = Settings(documents_dir=docs, index_dir=tmp_path / "index", embedding_backend="hash")
    assistant = DocumentAssistant.from_settings(settings)  # the bundled GGUF by llama-cpp
    assistant.ingest()

    summary = assistant.summarize("manual.pdf")

    assert len(summary.text.split()) >= 5
    assert set(summary.cited_pages) <= {1, 2, 3} and summary.pages == (1, 2, 3)
    assert summary.llm_calls == 1 and 0 < summary.prompt_tokens <= 4096 - 384
    assert 0 < summary.generated_tokens <= 384
    again = assistant.summarize("manual.pdf")
    assert again.cached and again.text == summary.text
