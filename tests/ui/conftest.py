"""The page tests' fixtures: empty folders and the fakes, handed to the page by environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.app_page import REPLY, replies


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Empty documents and index folders, and the fakes, handed to the page by environment."""
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(index))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the trash, for deletes
    replies(monkeypatch, REPLY)
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    return docs, index
