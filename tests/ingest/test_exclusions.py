"""Remove from the index, keep the file: the exclusion outlasts every later sync."""

from __future__ import annotations

import json
import stat

from gpt4all_rag.testing import HashEmbedder
from ingest.exclusions import EXCLUDED_FILE, EXCLUDED_REASON, read_excluded


def indexed_paths(assistant) -> set[str]:
    got = assistant.store.collection.get(include=["metadatas"])
    return {m["path"] for m in got["metadatas"]}


def test_an_excluded_file_leaves_the_index_and_stays_on_disk(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    assert "notes.md" in indexed_paths(assistant)

    removed = assistant.exclude_document("notes.md")

    assert removed == 5  # notes.md's chunks (tests.conftest.DOCS_CHUNKS)
    assert (docs_copy / "notes.md").is_file()
    assert "notes.md" not in indexed_paths(assistant)
    assert "notes.md" not in [d.path for d in assistant.documents()]
    assert assistant.excluded_documents() == ["notes.md"]


def test_later_syncs_leave_it_out_even_when_it_changes(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    assistant.exclude_document("notes.md")
    (docs_copy / "notes.md").write_text("# Changed\n\nOtters hold hands while asleep.\n")

    report = assistant.ingest()

    assert report.added == [] and report.updated == []
    assert ("notes.md", EXCLUDED_REASON) in report.skipped
    assert "notes.md" not in indexed_paths(assistant)


def test_including_it_again_indexes_it(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    assistant.exclude_document("notes.md")

    report = assistant.include_document("notes.md")

    assert report.added == ["notes.md"]
    assert "notes.md" in indexed_paths(assistant)
    assert assistant.excluded_documents() == []


def test_the_list_is_private_and_a_broken_one_hides_nothing(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    assistant.exclude_document("notes.md")
    index_dir = assistant.settings.index_dir
    listed = index_dir / EXCLUDED_FILE

    assert stat.S_IMODE(listed.stat().st_mode) == 0o600
    assert json.loads(listed.read_text()) == {"paths": ["notes.md"]}
    listed.write_text("{not json")
    assert read_excluded(index_dir) == frozenset()
    assert "notes.md" in assistant.ingest().added


def test_excluding_every_file_is_not_an_empty_folder(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    for document in assistant.documents():
        assistant.exclude_document(document.path)

    report = assistant.ingest()  # would raise EmptyFolder if read as an unmounted drive

    assert assistant.documents() == [] and report.deleted == []
