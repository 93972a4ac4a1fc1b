"""The cited page in the app (``AppTest``, on the fakes): made only when a source is opened.

A PDF source opened shows its page as a PNG with the passage marked and a link that
opens the original at that page; a Markdown source opened shows the text around its
passage. Closed sources render nothing (the expanders rerun the page when opened).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.helpers.app_page import app_page

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "tests" / "data" / "docs"
QUESTION = "What is the core temperature of the Zorblax reactor?"
TIMEOUT = 120


@pytest.fixture
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The page with manual.pdf and notes.md indexed, after one question."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("manual.pdf", "notes.md"):
        shutil.copy(DOCS / name, docs / name)
    for name, value in {
        "DOCUMENTS_DIR": str(docs),
        "INDEX_DIR": str(tmp_path / "index"),
        "EMBEDDING_BACKEND": "hash",
        "LLM_BACKEND": "scripted",
    }.items():
        monkeypatch.setenv(f"GPT4ALL_RAG_{name}", value)
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    app = app_page(TIMEOUT).run()
    app.chat_input(key="question").set_value(QUESTION).run()
    assert not app.exception, app.exception
    return app


def open_source(app: AppTest, number: int) -> AppTest:
    message_id = app.session_state["messages"][1]["id"]
    app.session_state[f"open-download-{message_id}-{number}"] = True
    app.run()
    assert not app.exception, app.exception
    return app


def source_numbered(app: AppTest, file: str) -> int:
    sources = app.session_state["messages"][1]["answer"].sources
    return next(s.number for s in sources if s.file == file)


def test_a_closed_source_renders_no_page(page: AppTest) -> None:
    assert page.chat_message[1].get("image") == []
    assert page.chat_message[1].get("link_button") == []


def test_an_opened_pdf_source_shows_its_page_marked_and_a_link_to_it(
    page: AppTest, tmp_path: Path
) -> None:
    number = source_numbered(page, "manual.pdf")
    source = page.session_state["messages"][1]["answer"].sources[number - 1]
    open_source(page, number)

    expander = page.chat_message[1].expander[number - 1]
    (image,) = expander.get("image")
    assert image.proto.imgs[0].caption == f"Page {source.page}: the passage is marked"
    assert image.proto.imgs[0].url.endswith(".png")
    (link,) = expander.get("link_button")
    assert link.proto.url.endswith(f".pdf#page={source.page}")
    cached = list((tmp_path / "index" / "pages").glob("*.png"))
    assert len(cached) == 1
    with Image.open(io.BytesIO(cached[0].read_bytes())) as rendered:
        assert rendered.size == (827, 1170)
    assert [b.label for b in expander.get("download_button")] == ["Download manual\\.pdf"]


def test_an_opened_markdown_source_shows_its_passage_in_context(page: AppTest) -> None:
    number = source_numbered(page, "notes.md")
    closed = page.chat_message[1].expander[number - 1].markdown[0].value
    assert "color:#6b7280" not in closed

    open_source(page, number)

    expander = page.chat_message[1].expander[number - 1]
    shown = expander.markdown[0].value
    assert shown.startswith('<div class="passage">') and shown.count("color:#6b7280") >= 1
    assert len(shown) > len(closed)
    assert expander.get("image") == []
