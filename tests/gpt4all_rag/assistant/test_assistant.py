"""DocumentAssistant's file operations on the fakes (fast)."""

from __future__ import annotations

import pytest

from gpt4all_rag.errors import DocumentLoadError
from gpt4all_rag.testing import HashEmbedder


def test_deleting_a_symlinked_document_deletes_the_link_not_its_target(tmp_path, make_assistant):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.md").write_text("Bees make honey in summer.", encoding="utf-8")
    outside = tmp_path / "private.md"
    outside.write_text("Not in the documents folder.", encoding="utf-8")
    (docs / "alias.md").symlink_to(docs / "real.md")
    (docs / "escape.md").symlink_to(outside)
    assistant = make_assistant(docs, embedder=HashEmbedder())
    assistant.ingest()
    assistant.remove_document("alias.md")
    assistant.remove_document("escape.md")
    assert not (docs / "alias.md").is_symlink() and not (docs / "escape.md").is_symlink()
    assert (docs / "real.md").read_text(encoding="utf-8") == "Bees make honey in summer."
    assert outside.read_text(encoding="utf-8") == "Not in the documents folder."


@pytest.mark.parametrize("path", ["../private.md", "sub/../../private.md", "/etc/passwd", ".."])
def test_deleting_outside_the_documents_folder_is_refused(tmp_path, make_assistant, path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (tmp_path / "private.md").write_text("keep", encoding="utf-8")
    assistant = make_assistant(docs, embedder=HashEmbedder())
    with pytest.raises(DocumentLoadError, match="outside the documents folder"):
        assistant.remove_document(path)
    assert (tmp_path / "private.md").read_text(encoding="utf-8") == "keep"
