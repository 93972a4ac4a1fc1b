"""Summaries are checked as answers are, and hold no tags, index rows or self-comparisons.

Fast tier: the scripted model and the hash embedder, on the three-page manual (a
sentence copied from it is supported, one about Mars is not).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.summarize import cache as summary_cache
from gpt4all_rag.documents.summarize.checking import (
    LINKED_APART,
    MOSTLY_UNSUPPORTED,
    document_question,
    mostly_unsupported,
)
from gpt4all_rag.documents.summarize.document import DocumentChunk, indexed_document
from gpt4all_rag.documents.summarize.hygiene import (
    LISTED_TWICE,
    SAME_BOTH_SIDES,
    compares_with_itself,
    lists_an_item_twice,
    readable_chunks,
    strip_tags,
    tidy_model_text,
    without_index_rows,
    without_tags,
)
from gpt4all_rag.documents.summarize.results import Summary
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.trust.grounding import SentenceSupport
from gpt4all_rag.ui.summaries import quotes_markdown, summary_body
from tests.helpers.data import DOCS

Build = Callable[..., DocumentAssistant]
TRUE = "The Zorblax reactor operates at a core temperature of 451 kelvin [p. 2]."
INVENTED = "The reactor was built on Mars by penguins in 1850."
VISITS = "Each visit includes a coolant inspection and a check of the control rods [p. 3]."
TOC = (
    "Table of Contents\n"
    "1 Introduction . . . . . . . . . . . . . . . . . . 3\n"
    "1.1 Imports . . . . . . . . . . . . . . . . . . . . 3\n"
    "1.2 Export to text files . . . . . . . . . . . . . 4\n"
)
PROSE = (
    "The heron nests by the river in spring and feeds on small fish in the shallows. "
    "Its eggs hatch after about four weeks and the young leave the nest in summer."
)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DOCS / "manual.pdf", folder / "manual.pdf")
    return folder


def summarize(
    make_assistant: Build, docs: Path, *replies: str, path: str = "manual.pdf"
) -> tuple[DocumentAssistant, ScriptedLLM, list[object]]:
    llm = ScriptedLLM(list(replies))
    assistant = make_assistant(docs, llm=llm, embedding_backend="hash")
    assistant.ingest()
    return assistant, llm, list(assistant.summary_events(path))


def final(events: list[object]) -> Summary:
    summary = events[-1]
    assert isinstance(summary, Summary)
    return summary


# --- the check ---------------------------------------------------------------------------------


def test_an_invented_sentence_is_flagged_and_a_supported_one_is_not(
    make_assistant: Build, docs: Path
) -> None:
    _, _, events = summarize(make_assistant, docs, f"{TRUE} {INVENTED} {VISITS}")
    summary = final(events)

    supported, invented, visits = summary.sentences
    assert (supported.text, supported.supported, supported.reason) == (TRUE, True, "")
    assert visits.supported
    assert invented.text == INVENTED and not invented.supported
    assert invented.reason.startswith("names “Mars”")
    assert summary.unsupported == [invented]
    assert not summary.mostly_unsupported and summary.quotes == ()  # one of three claims
    assert summary.sections[0].sentences == summary.sentences  # one call: the section is it
    shown = summary_body(summary)
    assert shown.startswith("The Zorblax reactor operates")
    assert ":gray[The reactor was built on Mars" in shown and "not found in your sources" in shown


def test_a_mostly_unsupported_summary_comes_with_the_documents_key_sentences(
    make_assistant: Build, docs: Path
) -> None:
    invented = f"{INVENTED} Its core is made of cheese and sings at night."
    assistant, _, events = summarize(make_assistant, docs, invented)
    summary = final(events)

    assert summary.mostly_unsupported and len(summary.unsupported) == 2
    assert 1 <= len(summary.quotes) <= 5
    manual = " ".join(c.text for c in indexed_document(assistant, "manual.pdf").chunks)
    assert all(" ".join(q.text.split()) in " ".join(manual.split()) for q in summary.quotes)
    assert "- “" in quotes_markdown(summary.quotes) and ":gray[p. " in quotes_markdown(
        summary.quotes
    )
    data = summary.to_json()
    assert data["mostly_unsupported"] and data["quotes"][0]["text"] == summary.quotes[0].text
    assert Summary.from_json(json.loads(json.dumps(data))) == summary
    assert MOSTLY_UNSUPPORTED.startswith("Most of this summary is not supported")


def test_a_sentence_that_compares_a_thing_with_itself_is_flagged(
    make_assistant: Build, docs: Path
) -> None:
    _, _, events = summarize(
        make_assistant, docs, f"{TRUE} The main differences between read.table and read.table are:"
    )
    flagged = final(events).sentences[1]

    assert not flagged.supported and flagged.claim and flagged.reason == SAME_BOTH_SIDES
    assert compares_with_itself("The difference between apples and apples is small.")
    assert compares_with_itself("Compare `x` with `x`.") and compares_with_itself("lm vs lm")
    assert not compares_with_itself("The differences between read.table and read.csv are:")
    assert not compares_with_itself("More and more data is kept.")


def test_a_list_that_names_an_item_twice_is_flagged(make_assistant: Build, docs: Path) -> None:
    listed = "The Zorblax reactor checks include coolant, rods, coolant, and the log."
    _, _, events = summarize(make_assistant, docs, f"{TRUE} {listed}")
    assert final(events).sentences[1].reason == LISTED_TWICE
    assert lists_an_item_twice(
        "The integer data types are integer, logical, integer, and character."
    )
    assert not lists_an_item_twice(
        "It covers data types, including text, logical, and integer, as well as other types."
    )


def test_half_the_claims_failing_is_mostly_unsupported() -> None:
    def claim(supported: bool) -> SentenceSupport:
        return SentenceSupport("A claim of some words.", (), 1.0, False, supported)

    assert mostly_unsupported([claim(True), claim(False)])
    assert not mostly_unsupported([claim(True), claim(True), claim(False)])
    assert not mostly_unsupported([])


def test_the_question_of_the_key_sentences_is_the_title_and_headings() -> None:
    chunks = [DocumentChunk(0, f"2 Spreadsheet-like data\n{PROSE}\n2.1 Variations\nMore.", 8)]
    assert document_question("R-data.pdf", chunks) == (
        "R data. 2 Spreadsheet-like data. 2.1 Variations"
    )
    # Chapters first where the document numbers them 1, 2, …; a table row is no chapter.
    text = f"David A. James\n{PROSE}\n1 Introduction\n{PROSE}\n1 Colorado 7.9\n2 Binary files\n"
    chunks = [DocumentChunk(0, text, 3)]
    assert document_question("R-data.pdf", chunks) == "R data. 1 Introduction. 2 Binary files"


# --- hygiene -------------------------------------------------------------------------------------


def test_html_tags_the_model_writes_are_stripped_however_the_stream_splits_them(
    make_assistant: Build, docs: Path
) -> None:
    _, _, events = summarize(make_assistant, docs, f"<p>{TRUE}</p>")
    streamed = "".join(e.text for e in events if isinstance(e, TokenEvent))

    assert final(events).text == TRUE and "<" not in streamed
    tokens = ["<", "p>The", " x <", "- 3 <", "/p", "> end <sp", 'an class="a">z', " <"]
    assert "".join(without_tags(tokens)) == "The x <- 3 \n end z <"
    assert strip_tags("a<b>c</b> and x < y<br/>z") == "ac and x < y\nz"


def test_index_rows_never_reach_the_prompt_nor_the_summary(
    make_assistant: Build, docs: Path
) -> None:
    (docs / "heron.txt").write_text(f"{TOC}\n{PROSE}", encoding="utf-8")
    rows = "1.1 Imports . . . . . . . . 3\nAlso 2.1 Variations . . . . . . 8"
    _, llm, events = summarize(
        make_assistant, docs, f"{PROSE.split('. ')[0]}.\n{rows}", path="heron.txt"
    )

    prompt = llm.prompts[0][1]["content"]
    assert "heron nests" in prompt and ". . . ." not in prompt and "Imports" not in prompt
    assert final(events).text == f"{PROSE.split('. ')[0]}."
    assert without_index_rows("No rows here.\nNone.") == "No rows here.\nNone."


def test_a_list_the_model_loops_on_keeps_its_first_line() -> None:
    looped = "Key points:\n\n1. Introduction\n2. Data types\n3. Data types\n- data types\n\nEnd."
    assert (
        tidy_model_text(f"<p>{looped}</p>")
        == "Key points:\n\n1. Introduction\n2. Data types\n\nEnd."
    )


def test_a_sentence_broken_across_lines_is_checked_whole() -> None:
    broken = (
        "The chapter discusses spreadsheets,\nthe use of tables, and\nmore.\n\n\n\nNext.\nA list"
    )
    assert tidy_model_text(broken) == (
        "The chapter discusses spreadsheets, the use of tables, and more.\n\nNext.\nA list"
    )


def test_a_chunk_that_is_only_an_index_is_left_out_unless_all_are() -> None:
    index = DocumentChunk(0, f"Concept index\nA\n{TOC}", 30)
    prose = DocumentChunk(1, f"{TOC}{PROSE}", 31)
    kept = readable_chunks([index, prose])
    assert [c.position for c in kept] == [1] and kept[0].text.endswith(PROSE)
    assert ". . ." not in kept[0].text
    assert readable_chunks([index]) == (index,)  # nothing but an index: kept as it is


# --- the cache -----------------------------------------------------------------------------------


def test_a_summary_cached_before_the_checks_is_made_again(
    make_assistant: Build, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = summary_cache.SUMMARY_VERSION
    assert current >= 2  # 2: the checks
    monkeypatch.setattr(summary_cache, "SUMMARY_VERSION", 1)
    assistant, llm, _ = summarize(make_assistant, docs, TRUE, TRUE)
    monkeypatch.setattr(summary_cache, "SUMMARY_VERSION", current)

    again = assistant.summarize("manual.pdf")

    assert not again.cached and len(llm.prompts) == 2 and again.sentences[0].supported


def test_a_sentence_that_links_two_facts_the_document_states_apart_is_flagged(
    make_assistant: Build, docs: Path
) -> None:
    linked = (
        "The Zorblax reactor operates at a core temperature of 451 kelvin, which is why "
        "its maintenance is required every 17 days."
    )
    near = (
        "Operators record the core temperature every hour in the control room journal, "
        "which is where the coolant loop must stay above 2 bar of pressure."
    )
    _, _, events = summarize(make_assistant, docs, f"{linked} {near}")
    apart, neighbours = final(events).sentences

    assert not apart.supported and apart.reason == LINKED_APART
    assert neighbours.supported  # the next sentence of the document: not linked apart
