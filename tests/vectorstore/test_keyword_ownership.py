"""The keyword index deletes and replaces only folders it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from vectorstore.keyword import KeywordIndex
from vectorstore.ownership import INDEX_MARKER, NotOurFolder


class Chunk:
    def __init__(self, chunk_id: str, text: str) -> None:
        self.id, self.text, self.metadata = chunk_id, text, {"path": "a.md", "ext": ".md"}


def build(index: KeywordIndex) -> None:
    chunk = Chunk("c1", "Otters juggle pebbles")
    index.stage([chunk.id], [chunk.text], [chunk.metadata])
    index.commit(["c1"], lambda ids: [])


@pytest.mark.parametrize("name", ["keywords", "keywords.tmp", "keywords.old"])
def test_a_users_folder_in_the_way_is_refused_and_kept(tmp_path: Path, name: str) -> None:
    theirs = tmp_path / name
    theirs.mkdir()
    (theirs / "diary.txt").write_text("private")
    with pytest.raises(NotOurFolder):
        build(KeywordIndex(tmp_path / "keywords"))
    assert (theirs / "diary.txt").read_text() == "private"


def test_its_own_folders_are_marked_replaced_and_cleared(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "keywords")
    build(index)
    assert (tmp_path / "keywords" / INDEX_MARKER).is_file()
    build(index)  # replaces its own folder
    assert [h.id for h in index.search("otter", k=1)] == ["c1"]
    index.clear()
    assert not (tmp_path / "keywords").exists() and not index.exists()


def test_a_keyword_folder_from_an_older_version_is_still_replaced(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "keywords")
    build(index)
    (tmp_path / "keywords" / INDEX_MARKER).unlink()  # as an older version wrote it
    build(index)
    assert (tmp_path / "keywords" / INDEX_MARKER).is_file()


def test_clear_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "keywords").mkdir()
    (tmp_path / "keywords" / "notes.md").write_text("mine")
    with pytest.raises(NotOurFolder):
        KeywordIndex(tmp_path / "keywords").clear()
    assert (tmp_path / "keywords" / "notes.md").exists()
