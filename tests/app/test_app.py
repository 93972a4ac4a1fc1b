"""The Streamlit page through ``AppTest``, on the real bundled MiniLM and SmolLM2 models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gpt4all_rag import DocumentAssistant, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "tests" / "data" / "docs"
QUESTION = "What is the core temperature of the Zorblax reactor?"
TIMEOUT = 300  # the first run loads the embedding model; questions run the real GGUF

pytestmark = pytest.mark.slow


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Empty documents and index folders, handed to the page through the environment."""
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(index))
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    return docs, index


def add(docs: Path, *names: str) -> None:
    for name in names:
        shutil.copy(DOCS / name, docs / name)


def open_page() -> AppTest:
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not page.exception, page.exception
    return page


def sidebar_texts(page: AppTest) -> list[str]:
    return [m.value for m in page.sidebar.markdown]


def ask(page: AppTest, question: str = QUESTION) -> AppTest:
    page.chat_input(key="question").set_value(question).run()
    assert not page.exception, page.exception
    return page


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


def test_invalid_settings_are_an_error_box(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPT4ALL_RAG_TOP_K", "many")

    page = open_page()

    errors = [e.value for e in page.error]
    assert len(errors) == 1
    assert errors[0].startswith("The settings in the environment or `.env` are not valid:")
    assert "top_k" in errors[0]


def test_indexed_document_is_listed_with_its_chunk_count(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")

    page = open_page()

    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert "**manual.pdf**  \n3 chunks" in sidebar_texts(page)
    assert [s.value for s in page.sidebar.success] == [
        "Index updated: 1 added (3 chunks in total)."
    ]
    assert [i.value for i in page.info] == []
    assert not page.chat_input(key="question").proto.disabled


def test_files_added_outside_the_app_are_picked_up(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    page = open_page()
    add(docs, "manual.pdf")

    page.button(key="rescan").click().run()
    assert "**manual.pdf**  \n3 chunks" in sidebar_texts(page)

    add(docs, "notes.md")
    new_session = open_page()  # a new browser tab or reload syncs once at its start
    texts = sidebar_texts(new_session)
    assert "**manual.pdf**  \n3 chunks" in texts
    assert "**notes.md**  \n4 chunks" in texts


def test_question_streams_an_answer_with_its_sources(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    page = ask(open_page())

    user, assistant = page.chat_message
    assert (user.name, user.markdown[0].value) == ("user", QUESTION)
    assert assistant.name == "assistant"
    assert "451" in assistant.markdown[0].value
    labels = [e.label for e in assistant.expander]
    assert labels[0] == "[1] manual.pdf · page 2"
    assert labels == [
        "[1] manual.pdf · page 2",
        "[2] manual.pdf · page 1",
        "[3] manual.pdf · page 3",
    ]
    passage = assistant.expander[0].markdown[0].value
    marked = "operates at a <mark><b>core</b></mark> <mark><b>temperature</b></mark> of 451"
    assert marked in passage
    assert [b.label for b in assistant.expander[0].get("download_button")] == [
        "Download manual.pdf"
    ]

    page.button(key="new_chat").click().run()
    assert len(page.chat_message) == 0


def test_settings_change_top_k_mode_and_temperature(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    built: list[float] = []
    original = DocumentAssistant.from_settings.__func__  # type: ignore[attr-defined]

    def counting(cls: type, settings: Settings, *args: object) -> DocumentAssistant:
        built.append(settings.temperature)
        return original(cls, settings, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(DocumentAssistant, "from_settings", classmethod(counting))
    page = open_page()
    page.slider(key="k").set_value(1).run()
    page.selectbox(key="mode").set_value("keyword").run()
    assert built == [0.2]  # top-k and mode are per-question: no rebuild

    page.slider(key="temperature").set_value(0.0).run()
    assert built == [0.2, 0.0]
    ask(page)

    assert [e.label for e in page.chat_message[1].expander] == ["[1] manual.pdf · page 2"]


def test_a_follow_up_keeps_the_conversation(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    page = ask(open_page())

    ask(page, "How often is maintenance of the Zorblax reactor required?")

    assert [m.name for m in page.chat_message] == ["user", "assistant", "user", "assistant"]
    assert page.chat_message[0].markdown[0].value == QUESTION
    assert len(page.session_state["messages"]) == 4


def test_unrelated_question_is_answered_without_sources(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")

    page = ask(open_page(), "xylophone quasar marmalade?")

    assistant = page.chat_message[1]
    assert assistant.markdown[0].value == (
        "I could not find anything about that in your documents, so I cannot answer it from them."
    )
    assert len(assistant.expander) == 0


def test_missing_model_file_is_an_error_box(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, _ = folders
    add(docs, "manual.pdf")
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_PATH", "/nonexistent.gguf")

    page = open_page()
    assert [e.value for e in page.error] == [
        "Model file not found: `/nonexistent.gguf`. Choose another model under **Settings** in "
        "the sidebar, or set `GPT4ALL_RAG_MODEL_PATH` to a `.gguf` file."
    ]

    ask(page)
    assert [e.value for e in page.chat_message[1].error] == [
        "Cannot load the model: model file /nonexistent.gguf: no such file. Choose another "
        "model under **Settings** in the sidebar, or set `GPT4ALL_RAG_MODEL_PATH`."
    ]


def test_failed_file_is_listed_with_its_reason(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf", "corrupt.pdf", "empty.txt")

    page = open_page()

    labels = [e.label for e in page.sidebar.expander]
    assert labels == ["2 files could not be indexed", "Settings"]
    failures = [m.value for m in page.sidebar.expander[0].markdown]
    assert failures[0].startswith("**corrupt.pdf**: not a valid PDF: ")
    assert failures[1] == "**empty.txt**: empty file"
    assert [s.value for s in page.sidebar.success] == [
        "Index updated: 1 added, 2 failed (3 chunks in total)."
    ]


def test_uploads_are_saved_indexed_and_never_overwrite(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    page = open_page()
    pdf = (DOCS / "manual.pdf").read_bytes()

    page.sidebar.file_uploader[0].upload("manual.pdf", pdf, "application/pdf").run()
    assert (docs / "manual.pdf").read_bytes() == pdf
    assert "**manual.pdf**  \n3 chunks" in sidebar_texts(page)

    uploader = page.sidebar.file_uploader[0]  # a fresh, empty uploader after each batch
    uploader.upload("manual.pdf", pdf, "application/pdf")
    uploader.upload("manual.pdf", (DOCS / "corrupt.pdf").read_bytes(), "application/pdf")
    uploader.upload("tool.exe", b"MZ", "application/octet-stream")
    uploader.upload(".hidden.md", b"# hidden", "text/markdown").run()

    assert sorted(p.name for p in docs.iterdir()) == ["manual (1).pdf", "manual.pdf"]
    assert [w.value for w in page.sidebar.warning] == [
        "A different file named manual.pdf is already in the folder; the upload was saved "
        "as manual (1).pdf."
    ]
    assert [e.value for e in page.sidebar.error] == [
        "tool.exe was not added: unsupported file type .exe.",
        ".hidden.md was not added: hidden files (names starting with a dot) are not accepted.",
    ]
    assert [s.value for s in page.sidebar.success] == [
        "Index updated: 1 failed (3 chunks in total)."
    ]
    failures = [m.value for m in page.sidebar.expander[0].markdown]
    assert [f.split(": ")[0] for f in failures] == ["**manual (1).pdf**"]
    assert not page.exception


def test_deleting_a_document_removes_file_and_chunks(folders: tuple[Path, Path]) -> None:
    docs, _ = folders
    add(docs, "manual.pdf", "notes.md")
    page = open_page()

    page.button(key="delete-manual.pdf").click().run()
    assert (docs / "manual.pdf").exists()  # nothing happens before the confirmation
    page.button(key="delete-yes-manual.pdf").click().run()

    assert sorted(p.name for p in docs.iterdir()) == ["notes.md"]
    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert "**manual.pdf**  \n3 chunks" not in sidebar_texts(page)
    assert [s.value for s in page.sidebar.success][-1] == "Deleted manual.pdf."


def test_feedback_is_off_until_turned_on_and_exports_jsonl(folders: tuple[Path, Path]) -> None:
    docs, index = folders
    add(docs, "manual.pdf")
    page = ask(open_page())
    assert len(page.feedback) == 0

    page.toggle(key="feedback_on").set_value(True).run()
    assert len(page.chat_message[1].get("feedback")) == 1
    page.feedback[0].set_value(1).run()

    answer = page.session_state["messages"][1]["content"]
    entries = [json.loads(line) for line in (index / "feedback.jsonl").read_text().splitlines()]
    assert [(e["question"], e["answer"], e["rating"]) for e in entries] == [(QUESTION, answer, 1)]
    assert len(entries[0]["context"]) == 3

    page.button(key="export").click().run()
    lines = (index / "finetune.jsonl").read_text().splitlines()
    assert [json.loads(line)["messages"][2] for line in lines] == [
        {"role": "assistant", "content": answer}
    ]
    assert [s.value for s in page.sidebar.success][-1] == (
        f"Exported 1 liked answer to `{index / 'finetune.jsonl'}`."
    )
    assert [b.label for b in page.sidebar.get("download_button")] == ["Download the JSONL"]
