"""The Streamlit page through ``AppTest``.

The fast tier runs the page on the predictable fakes, chosen by settings like
any backend (the hash embedder and the scripted model, ``gpt4all_rag.testing``),
so what the page does with an answer is known word for word. One slow test
keeps the real path: the bundled MiniLM and SmolLM2 answering from a PDF.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.app_page import (
    DOCS,
    EVIDENCE,
    INVENTED,
    MANUAL_SOURCES,
    QUESTION,
    QUESTION_SHOWN,
    REPLY,
    SLOW_TIMEOUT,
    add,
    answer_texts,
    ask,
    flow,
    open_page,
    own_markdown,
    replies,
    shown_markdown,
    sidebar_texts,
    until_shown,
)
from tests.helpers.exfiltration import assert_inert, hostile_answer


@pytest.fixture(autouse=True)
def _unwatched_in_this_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module's tests read the page after one sync: no watcher syncing beside them.

    The watcher's own sync races the page's notices and its delete (the writer lock);
    the test that is about watching turns it on, and tests/ui/test_app_watching.py
    covers the watched page.
    """
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", "false")


def test_empty_folder_explains_how_to_add_documents(folders: tuple[Path, Path]) -> None:
    docs, _ = folders

    page = open_page()

    assert [i.value for i in page.info] == [
        "**No documents yet.** Add files with **Add documents** in the sidebar, or copy them "
        f"into `{docs}` and press **Rescan folder**. PDF, Word, PowerPoint, EPUB, Markdown, "
        "HTML, CSV, e-mail and text files are supported."
    ]
    assert page.sidebar.subheader[0].value == "Indexed (0)"
    assert page.chat_input(key="question").proto.disabled
    assert [e.value for e in page.error] == []


def test_a_missing_documents_folder_is_created(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = folders[0] / "not yet"
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))

    page = open_page()

    assert docs.is_dir()
    assert [e.value for e in page.error] == []
    assert [i.value for i in page.info][0].startswith("**No documents yet.**")


def test_invalid_settings_are_an_escaped_error_box(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPT4ALL_RAG_TOP_K", "![x](http://evil.example/i.png)")

    page = open_page()

    errors = [e.value for e in page.error]
    assert len(errors) == 1
    assert errors[0].startswith("The settings in the environment or `.env` are not valid:\n\n")
    assert "top\\_k" in errors[0]
    assert "\\!\\[x\\]" in errors[0]
    assert_inert(errors[0])


def test_indexed_document_is_listed_with_its_chunk_count(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")

    page = open_page()

    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks"]
    assert [s.value for s in page.sidebar.success] == [
        "Index updated: 1 added (3 chunks in total)."
    ]
    assert [i.value for i in page.info] == []
    assert not page.chat_input(key="question").proto.disabled
    assert page.sidebar.caption[-1].value == "Model: `scripted`  \nEmbeddings: `hash-embedder`"


def test_files_added_outside_the_app_are_picked_up_without_a_click(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", "true")
    page = open_page()
    assert sidebar_texts(page) == []
    assert page.sidebar.caption[0].value == f"Folder: `{docs}` · watched for changes"

    add(docs, "manual.pdf")
    until_shown(page, lambda p: sidebar_texts(p) == ["**manual\\.pdf**  \n3 chunks"])
    (docs / "manual.pdf").unlink()
    until_shown(page, lambda p: sidebar_texts(p) == [])
    assert page.sidebar.subheader[0].value == "Indexed (0)"


def test_an_unwatched_folder_is_synced_by_rescan_and_by_a_new_tab(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", "false")
    page = open_page()
    assert page.sidebar.caption[0].value == f"Folder: `{docs}`"
    add(docs, "manual.pdf")

    page.button(key="rescan").click().run()
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks"]

    add(docs, "notes.md")
    new_session = open_page()  # a new browser tab or reload syncs once at its start
    assert sidebar_texts(new_session) == [
        "**manual\\.pdf**  \n3 chunks",
        "**notes\\.md**  \n5 chunks",
    ]


def test_question_streams_an_answer_with_its_sources(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    page = ask(open_page())

    user, assistant = page.chat_message
    assert (user.name, user.markdown[0].value) == ("user", QUESTION_SHOWN)
    assert assistant.name == "assistant"
    assert own_markdown(assistant) == [EVIDENCE, "The core runs at 451 kelvin \\[1\\]\\."]
    quotes = re.findall(r"“(.+?)”", own_markdown(assistant)[0])
    # The word budget alone bounds the evidence: more than three quotes, 80 words at most.
    assert len(quotes) > 3
    assert len(set(quotes)) == len(quotes)
    assert sum(len(q.split()) for q in quotes) <= 80
    labels = [e.label for e in assistant.expander]
    assert labels == [*MANUAL_SOURCES, "\\[3\\] manual\\.pdf · page 3"]
    passage = assistant.expander[0].markdown[0].value
    marked = "operates at a <mark><b>core</b></mark> <mark><b>temperature</b></mark> of 451"
    assert marked in passage
    assert [b.label for b in assistant.expander[0].get("download_button")] == [
        "Download manual\\.pdf"
    ]
    assert page.session_state["messages"][1]["content"] == REPLY

    page.button(key="new_chat").click().run()
    assert len(page.chat_message) == 0


def test_the_evidence_comes_first_then_the_answer_with_its_claims_checked(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 9, items 1, 3 and 4: quotes with their [n] above the model's text; the
    # model's unmarked sentence gets its inferred marker (in italics), the invented one
    # is grey with a note.
    docs, _ = folders
    add(docs, "manual.pdf")
    replies(monkeypatch, "The core runs at 451 kelvin. " + INVENTED)
    page = ask(open_page())

    # Issue 25, item 4: a text with a failed claim is the model's draft, marked as such
    # under the quotes, with the reason.
    expected = [
        ("caption", "From your documents"),
        ("markdown", EVIDENCE),
        (
            "caption",
            "**Draft by the model, not confirmed by your documents:** 1 of its 2 statements "
            "failed the source check \\(names “Mars”\\, “1802”\\, which your documents do "
            "not contain here\\)",
        ),
        (
            "markdown",
            "The core runs at 451 kelvin *\\[1\\]*\\. :gray[The reactor was designed by "
            "penguins living on Mars in 1802\\.] :gray[*\\(not found in your sources\\)*]",
        ),
        ("caption", "Markers in *italics* were added by the source check, not by the model."),
    ]
    assert flow(page.chat_message[1]) == expected
    message = page.session_state["messages"][1]
    assert message["content"] == "The core runs at 451 kelvin [1]. " + INVENTED
    assert [s.text for s in message["answer"].unsupported] == [INVENTED]

    page.run()  # a rerun shows the turn again from the history, the same way
    assert flow(page.chat_message[1]) == expected


def test_the_answer_style_chooses_quotes_the_model_or_both(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    page = open_page()
    assert page.selectbox(key="answer_style").value == "both"

    page.selectbox(key="answer_style").set_value("evidence").run()
    ask(page)
    assert flow(page.chat_message[1]) == [
        ("caption", "From your documents"),
        ("markdown", EVIDENCE),
    ]
    assert [e.label for e in page.chat_message[1].expander][:2] == MANUAL_SOURCES
    assert page.session_state["messages"][1]["content"] == (
        "The Zorblax reactor operates at a core temperature of 451 kelvin. [1] This manual "
        "describes the safe operation of the Zorblax reactor. [2] Maintenance of the Zorblax "
        "reactor is required every 17 days. [3] Operators record the core temperature every "
        "hour in the control room journal. [1] The Zorblax is a compact research reactor built "
        "for university laboratories. [2] Write the date of every visit in the maintenance "
        "log. [3]"
    )

    page.button(key="new_chat").click().run()
    page.selectbox(key="answer_style").set_value("generate").run()
    ask(page)
    assert flow(page.chat_message[1]) == [("markdown", "The core runs at 451 kelvin \\[1\\]\\.")]


def test_top_k_and_mode_change_nothing_but_temperature_rebuilds(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripted model answers "one", then "two", ...: a rebuilt assistant (a new
    # model) starts again at "one", the same one goes on.
    docs, _ = folders
    add(docs, "manual.pdf")
    replies(monkeypatch, "one", "two", "three")
    page = ask(open_page())
    page.button(key="new_chat").click().run()  # no history: one model call per question

    page.slider(key="k").set_value(1).run()
    page.selectbox(key="mode").set_value("keyword").run()
    ask(page)
    assert answer_texts(page) == ["two"]  # the same assistant
    assert [e.label for e in page.chat_message[1].expander] == MANUAL_SOURCES[:1]

    page.button(key="new_chat").click().run()
    page.slider(key="temperature").set_value(0.0).run()
    ask(page)
    assert answer_texts(page) == ["one"]  # a new assistant, with a new model


def test_a_follow_up_keeps_the_conversation(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    # No rewrite by the model: the follow-up is searched with the first question's key terms.
    replies(monkeypatch, REPLY, "Every 17 days [1].")
    page = ask(open_page())

    ask(page, "And how often is its maintenance?")

    assert [m.name for m in page.chat_message] == ["user", "assistant", "user", "assistant"]
    assert page.chat_message[0].markdown[0].value == QUESTION_SHOWN
    assert answer_texts(page) == [
        "The core runs at 451 kelvin \\[1\\]\\.",
        "Every 17 days \\[1\\]\\.",
    ]
    assert [m.get("content") for m in page.session_state["messages"]] == [
        QUESTION,
        REPLY,
        "And how often is its maintenance?",
        "Every 17 days [1].",
    ]


def test_unrelated_question_is_answered_without_sources(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")

    page = ask(open_page(), "xylophone quasar marmalade?")

    assistant = page.chat_message[1]
    assert own_markdown(assistant) == [
        "I could not find anything about that in your documents\\, so I cannot answer it from "
        "them\\."
    ]
    assert len(assistant.expander) == 0


def test_missing_model_file_is_an_error_box(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "llama-cpp")
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_PATH", "/nonexistent.gguf")

    page = open_page()
    assert [e.value for e in page.error] == [
        "Model file not found: `/nonexistent.gguf`. Choose another model under **Settings** in "
        "the sidebar, or set `GPT4ALL_RAG_MODEL_PATH` to a `.gguf` file."
    ]

    ask(page)
    error = [
        "Cannot load the model: model file \\/nonexistent\\.gguf\\: no such file. Choose "
        "another model under **Settings** in the sidebar, or set `GPT4ALL_RAG_MODEL_PATH`."
    ]
    assert [e.value for e in page.chat_message[1].error] == error
    # The evidence was on the page before the model was asked for, so it stays.
    evidence = [("caption", "From your documents"), ("markdown", EVIDENCE)]
    assert flow(page.chat_message[1]) == evidence
    page.run()
    assert flow(page.chat_message[1]) == evidence
    assert [e.value for e in page.chat_message[1].error] == error


def test_failed_file_is_listed_with_its_reason(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf", "corrupt.pdf", "empty.txt")

    page = open_page()

    # Issue 22: in an error box above the list, each with a button to move it away;
    # the notice of a sync with failures is a warning, not a success.
    assert [e.label for e in page.sidebar.expander] == ["Settings"]
    assert [e.value for e in page.sidebar.error] == ["2 files could not be indexed"]
    failures = sidebar_texts(page)[:2]
    assert failures[0].startswith("**corrupt\\.pdf**: not a valid PDF\\: ")
    assert failures[1] == "**empty\\.txt**: empty file"
    assert sidebar_texts(page)[2:] == ["**manual\\.pdf**  \n3 chunks"]
    assert [s.value for s in page.sidebar.success] == []
    assert [w.value for w in page.sidebar.warning] == [
        "Index updated: 1 added, 2 failed (3 chunks in total)."
    ]

    page.button(key="delete-failed-empty.txt").click().run()
    page.button(key="delete-yes-empty.txt").click().run()
    assert sorted(p.name for p in docs.iterdir()) == ["corrupt.pdf", "manual.pdf"]
    trash = docs.parent / "data" / "Trash"
    assert [p.name for p in (trash / "files").iterdir()] == ["empty.txt"]
    # While the watcher syncs (the move to the trash is a folder event), the page's own
    # sync is refused by the writer lock and the watcher's sync drops the record instead.
    until_shown(
        page, lambda p: [e.value for e in p.sidebar.error] == ["1 file could not be indexed"]
    )
    assert sidebar_texts(page)[0].startswith("**corrupt\\.pdf**")


def test_uploads_are_saved_indexed_and_never_overwrite(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    page = open_page()
    pdf = (DOCS / "manual.pdf").read_bytes()

    page.sidebar.file_uploader[0].upload("manual.pdf", pdf, "application/pdf").run()
    assert (docs / "manual.pdf").read_bytes() == pdf
    assert sidebar_texts(page) == ["**manual\\.pdf**  \n3 chunks"]

    uploader = page.sidebar.file_uploader[0]  # a fresh, empty uploader after each batch
    uploader.upload("manual.pdf", pdf, "application/pdf")
    uploader.upload("manual.pdf", (DOCS / "corrupt.pdf").read_bytes(), "application/pdf")
    uploader.upload("tool.exe", b"MZ", "application/octet-stream")
    uploader.upload(".hidden.md", b"# hidden", "text/markdown")
    uploader.upload("pay\u200broll.md", b"# pay", "text/markdown").run()

    assert sorted(p.name for p in docs.iterdir()) == ["manual (1).pdf", "manual.pdf"]
    assert [w.value for w in page.sidebar.warning] == [
        "A different file named manual\\.pdf is already in the folder; the upload was saved "
        "as manual \\(1\\)\\.pdf.",
        "Index updated: 1 failed (3 chunks in total).",
    ]
    assert [e.value for e in page.sidebar.error] == [
        "1 file could not be indexed",
        "tool\\.exe was not added: unsupported file type \\.exe.",
        "\\.hidden\\.md was not added: hidden files \\(names starting with a dot\\) are not "
        "accepted.",
        "pay\u200broll\\.md was not added: the file name contains control or invisible characters.",
    ]
    assert [s.value for s in page.sidebar.success] == []
    assert sidebar_texts(page)[0].split(": ")[0] == "**manual \\(1\\)\\.pdf**"
    assert not page.exception


def test_hostile_file_names_are_shown_as_text(folders: tuple[Path, Path]) -> None:
    # Issue 10, item 9: a name (or the reason quoting its extension) that is Markdown
    # for an image must not make the page fetch it.
    docs, _ = folders
    (docs / "x.![](http:evil.example?q=1).md").write_text("# Zorblax\n\nThe reactor.\n")
    (docs / "y.![](http:evil.example?q=2)").write_text("text")
    page = open_page()

    upload = page.sidebar.file_uploader[0]
    upload.upload("z.![](http:evil?q=3)", b"x", "text/plain").run()
    assert [e.value for e in page.sidebar.error] == [
        "z\\.\\!\\[\\]\\(http\\:evil\\?q\\=3\\) was not added: unsupported file type "
        "\\.\\!\\[\\]\\(http\\:evil\\?q\\=3\\)."
    ]
    shown = list(shown_markdown(page))
    ask(page, "Zorblax reactor?")

    shown += list(shown_markdown(page))
    passages = [m for m in shown if m.startswith('<div class="passage">')]  # HTML on purpose
    assert len(passages) == 1
    assert set(re.findall(r"</?(\w+)", passages[0])) == {"div", "br", "mark", "b"}
    for markdown in shown:
        if markdown not in passages:
            assert_inert(markdown)
    assert "**x\\.\\!\\[\\]\\(http\\:evil\\.example\\?q\\=1\\)\\.md**  \n1 chunk" in shown
    assert "\\[1\\] x\\.\\!\\[\\]\\(http\\:evil\\.example\\?q\\=1\\)\\.md · Zorblax" in shown


def test_an_answer_that_tries_to_load_images_shows_only_text(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    hostile = hostile_answer()
    replies(monkeypatch, hostile)
    page = ask(open_page())

    shown = answer_texts(page)[0]
    assert_inert(shown)
    assert "SECRET" in shown  # shown as text, for the reader to see
    assert page.session_state["messages"][1]["content"].strip() == hostile.strip()

    page.button(key="new_chat").click().run()
    ask(page, "Again: " + QUESTION)
    page.run()  # the conversation shown again from the history
    assert_inert(answer_texts(page)[0])


def test_deleting_a_document_removes_file_and_chunks(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf", "notes.md")
    page = open_page()

    page.button(key="delete-manual.pdf").click().run()
    assert (docs / "manual.pdf").exists()  # nothing happens before the confirmation
    page.button(key="delete-yes-manual.pdf").click().run()

    assert sorted(p.name for p in docs.iterdir()) == ["notes.md"]
    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert sidebar_texts(page) == ["**notes\\.md**  \n5 chunks"]
    assert [s.value for s in page.sidebar.success][-1] == "Moved manual\\.pdf to the trash."
    # Issue 22: the person's file goes to the trash, where "Restore" finds it.
    trash = docs.parent / "data" / "Trash"
    assert (trash / "files" / "manual.pdf").read_bytes() == (DOCS / "manual.pdf").read_bytes()
    info = (trash / "info" / "manual.pdf.trashinfo").read_text(encoding="utf-8")
    assert f"Path={docs}/manual.pdf" in info.splitlines()


def test_feedback_is_off_until_turned_on_and_exports_jsonl(folders: tuple[Path, Path]) -> None:
    docs, index = folders
    add(docs, "manual.pdf")
    page = ask(open_page())
    assert len(page.feedback) == 0

    page.toggle(key="feedback_on").set_value(True).run()
    assert len(page.chat_message[1].get("feedback")) == 1
    page.feedback[0].set_value(1).run()

    entries = [json.loads(line) for line in (index / "feedback.jsonl").read_text().splitlines()]
    assert [(e["question"], e["answer"], e["rating"]) for e in entries] == [(QUESTION, REPLY, 1)]
    assert len(entries[0]["context"]) == 3
    assert (index / "feedback.jsonl").stat().st_mode & 0o777 == 0o600

    page.button(key="export").click().run()
    lines = (index / "finetune.jsonl").read_text().splitlines()
    assert [json.loads(line)["messages"][2] for line in lines] == [
        {"role": "assistant", "content": REPLY}
    ]
    assert [s.value for s in page.sidebar.success][-1] == (
        f"Exported 1 liked answer to `{index / 'finetune.jsonl'}`."
    )
    assert [b.label for b in page.sidebar.get("download_button")] == ["Download the JSONL"]


@pytest.mark.slow
def test_the_real_models_answer_from_the_pdf(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    monkeypatch.delenv("GPT4ALL_RAG_EMBEDDING_BACKEND")
    monkeypatch.delenv("GPT4ALL_RAG_LLM_BACKEND")
    # the bundled model's default is the quotes alone (issue 25, item 4): ask for its draft
    monkeypatch.setenv("GPT4ALL_RAG_ANSWER_STYLE", "both")
    add(docs, "manual.pdf")

    page = ask(open_page(SLOW_TIMEOUT))

    assistant = page.chat_message[1]
    caption, evidence, *rest = flow(assistant)
    answer = next(item for item in rest if item[0] == "markdown")  # under any draft line
    assert caption == ("caption", "From your documents")
    assert "451 kelvin\\.” \\[1\\] :gray[manual\\.pdf · page 2]" in evidence[1]
    assert "451" in answer[1]
    assert [e.label for e in assistant.expander] == [
        *MANUAL_SOURCES,
        "\\[3\\] manual\\.pdf · page 3",
    ]
    passage = assistant.expander[0].markdown[0].value
    assert (
        "operates at a <mark><b>core</b></mark> <mark><b>temperature</b></mark> of 451" in passage
    )
