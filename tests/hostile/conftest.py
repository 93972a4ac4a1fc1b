"""Fixtures shared by the hostile-input tests."""

from __future__ import annotations

import pytest

from gpt4all_rag.testing import HashEmbedder
from tests.helpers.data import GOOD_TEXT
from tests.helpers.index_files import stored_ids


@pytest.fixture
def good_index(tmp_path, make_assistant):
    """A folder whose one good file is indexed; returns (folder, assistant, its chunk ids)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD_TEXT)
    assistant = make_assistant(folder, embedder=HashEmbedder())
    assert assistant.ingest().added == ["good.md"]
    return folder, assistant, stored_ids(assistant)
