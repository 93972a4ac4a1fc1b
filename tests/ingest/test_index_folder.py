"""claim_index_folder: an index folder is ours (marked), owner-only, and apart from the
documents; a folder that holds anything else is refused before anything is written."""

from __future__ import annotations

import stat

import pytest

from ingest.errors import IndexFolderRefused
from ingest.index_folder import claim_index_folder
from vectorstore.ownership import INDEX_MARKER


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_folder_is_created_owner_only_and_marked(tmp_path):
    index = claim_index_folder(tmp_path / "index", tmp_path / "docs")
    assert index == (tmp_path / "index").resolve()
    assert mode(index) == 0o700 and (index / INDEX_MARKER).is_file()
    assert claim_index_folder(tmp_path / "index") == index  # ours: claimed again


def test_an_empty_existing_folder_is_claimed(tmp_path):
    (tmp_path / "index").mkdir(mode=0o755)
    index = claim_index_folder(tmp_path / "index")
    assert (index / INDEX_MARKER).is_file() and mode(index) == 0o700


def test_a_folder_of_someone_elses_files_is_refused_and_left_alone(tmp_path):
    notes = tmp_path / "notes"
    (notes / "keywords").mkdir(parents=True)
    (notes / "keywords" / "todo.txt").write_text("mine")
    with pytest.raises(IndexFolderRefused, match="not empty and was not created by gpt4all-rag"):
        claim_index_folder(notes)
    assert sorted(p.name for p in notes.iterdir()) == ["keywords"]
    assert not (notes / INDEX_MARKER).exists()


def test_an_index_built_by_an_older_version_is_recognised_and_marked(tmp_path):
    old = tmp_path / "index"
    old.mkdir()
    (old / "manifest.sqlite3").write_bytes(b"")
    (old / "chroma").mkdir()
    claim_index_folder(old)
    assert (old / INDEX_MARKER).is_file()


@pytest.mark.parametrize(
    "index, documents, words",
    [
        ("docs/index", "docs", "inside the documents folder"),
        ("docs", "docs", "inside the documents folder"),
        ("index", "index/docs", "documents folder .* is inside the index folder"),
    ],
)
def test_overlapping_folders_are_refused(tmp_path, index, documents, words):
    (tmp_path / documents).mkdir(parents=True, exist_ok=True)
    with pytest.raises(IndexFolderRefused, match=words):
        claim_index_folder(tmp_path / index, tmp_path / documents)


def test_a_file_is_not_an_index_folder(tmp_path):
    (tmp_path / "index").write_text("x")
    with pytest.raises(IndexFolderRefused, match="is a file"):
        claim_index_folder(tmp_path / "index")
