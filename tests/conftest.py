"""Shared fixtures: a real Chroma in a temp folder, with the predictable fakes.

The fakes themselves live in ``gpt4all_rag.testing`` (selectable by settings);
they are re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gpt4all_rag.assistant import DocumentAssistant
from gpt4all_rag.flow import FlowHooks
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HASH_DIMENSIONS, HashEmbedder, ScriptedLLM, hash_vector

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

__all__ = [
    "APP_TOKEN",
    "DATA",
    "DIM",
    "DOCS",
    "DOCS_CHUNKS",
    "DOCS_FAILED",
    "DOCS_GOOD",
    "HashEmbedder",
    "ScriptedLLM",
    "app_page",
    "hash_vector",
]

DATA = Path(__file__).parent / "data"
DOCS = DATA / "docs"

# What ingesting tests/data/docs gives (see tests/data/README.md): the good files, the
# bad ones with a substring of their reason, and chunks per file at 200/32 tokens.
DOCS_GOOD = [
    "book.epub",
    "latin1.txt",
    "manual.pdf",
    "notes.md",
    "page.html",
    "report.docx",
    "slides.pptx",
    "table.csv",
]
DOCS_FAILED = {
    "binary.txt": "binary content, not text",
    "corrupt.pdf": "not a valid PDF",
    "empty.txt": "empty file",
    "encrypted.pdf": "encrypted PDF (password required)",
}
DOCS_CHUNKS = {
    "book.epub": 1,
    "latin1.txt": 1,
    "manual.pdf": 3,
    "notes.md": 5,
    "page.html": 1,
    "report.docx": 1,
    "slides.pptx": 2,
    "table.csv": 1,
}
DIM = HASH_DIMENSIONS
# The app's per-launch secret in every test, as `make run` would set it (issue 21, item 3).
APP_TOKEN = "launch-secret-for-tests"
APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture(autouse=True)
def app_launch_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's secret in the environment, where ``app_launch`` puts it for the page."""
    monkeypatch.setenv("GPT4ALL_RAG_APP_TOKEN", APP_TOKEN)


def app_page(timeout: float) -> AppTest:
    """``app.py`` in ``AppTest``, opened with the launch link (``?token=APP_TOKEN``)."""
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(APP_SCRIPT), default_timeout=timeout)
    page.query_params["token"] = APP_TOKEN
    return page


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data/docs."""
    target = tmp_path / "docs"
    shutil.copytree(DOCS, target)
    return target


@pytest.fixture
def make_assistant(tmp_path: Path) -> Callable[..., DocumentAssistant]:
    """Build an assistant on a real Chroma in tmp_path, with fakes unless told otherwise."""

    def build(
        documents: Path,
        embedder: Any = None,
        llm: Any = None,
        hooks: FlowHooks | None = None,
        **overrides: Any,
    ) -> DocumentAssistant:
        overrides.setdefault("index_dir", tmp_path / "index")
        settings = Settings(documents_dir=documents, **overrides)
        return DocumentAssistant.from_settings(
            settings, llm=llm or ScriptedLLM(), embedder=embedder, hooks=hooks
        )

    return build
