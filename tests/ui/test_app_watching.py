"""The page and its folder over time (issue 22): watching, a long first ingest, reloads, a queue.

``AppTest`` on the fakes, as ``test_app.py``. A browser runs the page's timer; here
the test runs the page again, with no click, as that timer does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from gpt4all_rag.assistant.single import parse_limits
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.render import progress_fraction, progress_text
from ingest.loaders.isolated import IsolatedLoader
from ingest.report import ProgressEvent
from tests.helpers.app_page import (
    DOCS,
    QUESTION,
    REPLY,
    add,
    answer_texts,
    app_page,
    ask,
    open_page,
    sidebar_texts,
    until_shown,
)

FIRST_INGEST_NOTE = "You can ask about the documents indexed so far while the rest is read."
SECOND = "How often is the Zorblax reactor maintained?"


def questions(page: AppTest) -> list[str]:
    return [m.markdown[0].value for m in page.chat_message if m.name == "user"]


def test_a_long_first_ingest_shows_progress_and_the_chat_box(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    for path in sorted(DOCS.iterdir()):
        shutil.copy(path, docs / path.name)
    # A first ingest at start-up has a cold parser worker; an earlier test's warm one would
    # let the 12 files be read before the page's first run, which this test is not about.
    IsolatedLoader.shared(parse_limits(Settings())).close()
    page = app_page(60)
    page.session_state["first_wait_s"] = 0  # the page of a first ingest that takes minutes

    page.run()

    assert not page.exception, page.exception
    assert [c.value for c in page.main.caption][-1] == FIRST_INGEST_NOTE
    assert [i.value for i in page.info] == []  # not "No documents yet" while it reads them
    assert not page.chat_input(key="question").proto.disabled
    until_shown(  # 8 indexed, 4 failed, and the note gone
        page,
        lambda p: (
            len(sidebar_texts(p)) == 12
            and FIRST_INGEST_NOTE not in [c.value for c in p.main.caption]
        ),
    )
    assert page.sidebar.subheader[0].value == "Indexed (8)"


def test_two_questions_are_answered_in_turn_and_none_is_lost(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    page = open_page()
    # Two questions in the queue: the second came while the first was answered.
    page.session_state["queued"] = [QUESTION, SECOND]

    page.run()

    assert not page.exception, page.exception
    assert questions(page) == [
        "What is the core temperature of the Zorblax reactor\\?",
        "How often is the Zorblax reactor maintained\\?",
    ]
    assert answer_texts(page)[0] == "The core runs at 451 kelvin \\[1\\]\\."
    assert [m["question"] for m in page.session_state["messages"][1::2]] == [QUESTION, SECOND]
    assert page.session_state["queued"] == []
    assert not page.chat_input(key="question").proto.disabled


def test_the_settings_are_kept_across_a_reload(folders: tuple[Path, Path]) -> None:
    _, index = folders
    page = open_page()
    page.slider(key="k").set_value(7)
    page.selectbox(key="mode").set_value("keyword")
    page.selectbox(key="answer_style").set_value("evidence").run()
    assert not page.exception, page.exception

    saved = index / "app-settings.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert json.loads(saved.read_text(encoding="utf-8"))["k"] == 7
    reloaded = open_page()  # a reload is a new session
    assert reloaded.slider(key="k").value == 7
    assert reloaded.selectbox(key="mode").value == "keyword"
    assert reloaded.selectbox(key="answer_style").value == "evidence"


def test_a_damaged_settings_file_is_ignored(folders: tuple[Path, Path]) -> None:
    _, index = folders
    open_page()
    (index / "app-settings.json").write_text('{"k": 999, "mode": "telepathy"}', encoding="utf-8")

    page = open_page()

    assert page.slider(key="k").value == 4
    assert page.selectbox(key="mode").value == "hybrid"


def test_the_conversation_is_kept_across_a_reload_until_new_chat(
    folders: tuple[Path, Path],
) -> None:
    docs, index = folders
    add(docs, "manual.pdf")
    ask(open_page())
    assert (index / "conversation.json").stat().st_mode & 0o777 == 0o600

    reloaded = open_page()
    assert questions(reloaded) == ["What is the core temperature of the Zorblax reactor\\?"]
    assert answer_texts(reloaded) == ["The core runs at 451 kelvin \\[1\\]\\."]
    evidence = reloaded.chat_message[1].markdown[0].value
    assert evidence.startswith("- “The Zorblax reactor operates at a core temperature of 451")
    assert reloaded.session_state["messages"][1]["content"] == REPLY

    reloaded.button(key="new_chat").click().run()
    assert not (index / "conversation.json").exists()
    assert questions(open_page()) == []


@pytest.mark.parametrize("watch", ["true", "false"])
def test_a_deleted_file_goes_to_the_trash_and_leaves_the_list(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, watch: str
) -> None:
    docs, _ = folders
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", watch)
    add(docs, "manual.pdf", "notes.md")
    page = open_page()

    page.button(key="delete-notes.md").click().run()
    page.button(key="delete-yes-notes.md").click().run()

    trash = docs.parent / "data" / "Trash" / "files"
    assert [p.name for p in trash.iterdir()] == ["notes.md"]
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks"]
    until_shown(page.run(), lambda p: sidebar_texts(p) == ["**manual\\.pdf**  \n3 chunks"], 5)


def position(
    block: Any, found: Callable[[Any], bool], path: tuple[int, ...] = ()
) -> tuple[int, ...]:
    """Where the first element ``found`` accepts is in the page's tree (its delta path)."""
    for index, child in sorted(block.children.items()):
        if found(child):
            return (*path, index)
        if hasattr(child, "children"):
            inside = position(child, found, (*path, index))
            if inside:
                return inside
    return ()


def list_title(node: Any) -> bool:
    return node.type == "subheader" and str(node.value).startswith("Indexed")


def first_question(node: Any) -> bool:
    return node.type == "chat_message" and node.name == "user"


def test_the_document_list_and_the_chat_never_shift_between_runs(
    folders: tuple[Path, Path],
) -> None:
    # Issue 22: a row that moved between two runs left a greyed copy of itself in the
    # browser for as long as the next run lasted (an answer streaming), and a summary
    # written under another file's name. Every run draws them at the same places.
    docs, _ = folders
    add(docs, "manual.pdf")
    page = open_page()
    first = position(page.sidebar, list_title)
    page.button(key="rescan").click().run()  # a run with a progress bar above the list
    assert position(page.sidebar, list_title) == first
    page.run()
    assert position(page.sidebar, list_title) == first

    ask(page)
    asked = position(page.main, first_question)
    page.button(key="summarize-manual.pdf").click().run()  # a summary panel above the chat
    assert not page.exception, page.exception
    assert position(page.main, first_question) == asked


def test_the_progress_of_an_ingest_says_the_time_left() -> None:
    event = ProgressEvent(2, 5, 40, "a.pdf", bytes_done=100, bytes_total=400)

    assert progress_text(event) == "Indexing a\\.pdf (2/5 files, 40 chunks)"
    assert progress_text(event, 30.4) == "Indexing a\\.pdf (2/5 files, 40 chunks) · about 30 s left"
    assert progress_text(event, 200) == "Indexing a\\.pdf (2/5 files, 40 chunks) · about 3 min left"
    assert progress_fraction(event) == 0.25


def test_where_no_trash_takes_a_file_it_is_deleted_only_when_asked(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs, _ = folders
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "Trash").write_text("a file where the trash should be", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    add(docs, "manual.pdf", "notes.md")
    page = open_page()

    page.button(key="delete-notes.md").click().run()
    page.button(key="delete-yes-notes.md").click().run()
    assert (docs / "notes.md").is_file()  # nothing touched
    assert page.sidebar.error[0].value.startswith("notes\\.md was not moved to the trash: ")
    assert page.sidebar.warning[0].value == "No trash could take notes\\.md. Delete it for good?"

    page.button(key="delete-forever-notes.md").click().run()
    assert sorted(p.name for p in docs.iterdir()) == ["manual.pdf"]
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks"]
    assert [s.value for s in page.sidebar.success][-1] == "Deleted notes\\.md."


def test_a_new_tab_does_not_repeat_what_an_earlier_one_was_told(
    folders: tuple[Path, Path],
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    first = open_page()
    until_shown(first, lambda p: sidebar_texts(p) == ["**manual\\.pdf**  \n3 chunks"])

    second = open_page()

    assert [s.value for s in second.sidebar.success] == []
    assert sidebar_texts(second) == ["**manual\\.pdf**  \n3 chunks"]


@pytest.mark.parametrize("watch", ["true", "false"])
def test_remove_from_the_index_keeps_the_file_until_it_is_indexed_again(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, watch: str
) -> None:
    docs, _ = folders
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", watch)
    add(docs, "manual.pdf", "notes.md")
    page = open_page()

    page.button(key="delete-notes.md").click().run()
    page.button(key="exclude-notes.md").click().run()

    assert (docs / "notes.md").is_file()
    assert not (docs.parent / "data" / "Trash" / "files").exists()
    assert left_out(page) == ["Left out of the index (1)"]
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks", "**notes\\.md**"]
    # a sync (the watcher's, or a rescan) leaves it out
    page.button(key="rescan").click().run()
    assert sidebar_texts(page)[0] == "**manual\\.pdf**  \n3 chunks"
    assert page.sidebar.subheader[0].value == "Indexed (1)"

    page.button(key="include-notes.md").click().run()

    assert page.sidebar.subheader[0].value == "Indexed (2)"
    assert left_out(page) == []


def left_out(page: AppTest) -> list[str]:
    return [e.label for e in page.sidebar.expander if e.label.startswith("Left out")]
