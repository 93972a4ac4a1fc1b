"""The index knows which folder it indexes: another folder, or a missing one, is refused
before anything is deleted (issue 10, item 10)."""

from __future__ import annotations

import shutil

import pytest

from gpt4all_rag.testing import HashEmbedder
from ingest.errors import DocumentLoadError, FolderMismatch


@pytest.fixture
def indexed(tmp_path, make_assistant):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Otters\n\nOtters juggle pebbles.\n")
    assistant = make_assistant(docs, embedder=HashEmbedder())
    assistant.ingest()
    return docs, assistant


def test_the_manifest_records_the_resolved_folder(indexed):
    docs, assistant = indexed
    assert assistant.manifest.documents_folder == docs.resolve()


def test_another_folder_is_refused_naming_both(indexed, tmp_path):
    docs, assistant = indexed
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.md").write_text("Bees.\n")
    with pytest.raises(FolderMismatch) as caught:
        assistant.indexer.sync(other)
    assert str(docs.resolve()) in str(caught.value) and str(other.resolve()) in str(caught.value)
    assert [d.path for d in assistant.documents()] == ["a.md"]


def test_another_folder_is_accepted_when_allowed(indexed, tmp_path):
    docs, assistant = indexed
    moved = tmp_path / "moved"
    shutil.copytree(docs, moved)
    report = assistant.indexer.sync(moved, allow_new_folder=True)
    assert report.unchanged == 1 and not report.changed
    assert assistant.manifest.documents_folder == moved.resolve()


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_missing_folder_never_reads_as_empty(indexed, kind):
    docs, assistant = indexed
    shutil.rmtree(docs)
    if kind == "a file":
        docs.write_text("not a folder")
    with pytest.raises(DocumentLoadError):
        assistant.indexer.sync(docs)
    assert [d.path for d in assistant.documents()] == ["a.md"]
    assert assistant.manifest.chunk_count() == 1


def test_last_sync_is_recorded_by_the_sync_itself(indexed):
    _, assistant = indexed
    before = assistant.manifest.last_sync
    assistant.manifest.set_meta("last_sync", "2000-01-01T00:00:00+00:00")
    assistant.indexer.sync(assistant.settings.documents_dir)
    assert assistant.manifest.last_sync is not None and assistant.manifest.last_sync >= before
