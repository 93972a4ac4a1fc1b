"""The BM25 index: staged tokens, saved tokens, and reading back only what it lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vectorstore.keyword import KeywordIndex

TEXTS = {
    "a1": ("a.md", "Otters juggle smooth pebbles in the river."),
    "a2": ("a.md", "The river otter sleeps in a holt under the mill."),
    "b1": ("b.txt", "Queen bees can live for up to five years."),
    "c1": ("docs/c.md", "Green tea should steep at eighty degrees."),
}


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def chunk(chunk_id: str) -> Chunk:
    path, text = TEXTS[chunk_id]
    return Chunk(chunk_id, text, {"path": path, "ext": Path(path).suffix, "page": 1})


class Store:
    """The chunks a store would return, counting what is read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def get(self, ids: list[str]) -> list[Chunk]:
        self.read.extend(ids)
        return [chunk(i) for i in ids if i in TEXTS]


def stage(index: KeywordIndex, *ids: str) -> None:
    chunks = [chunk(i) for i in ids]
    index.stage([c.id for c in chunks], [c.text for c in chunks], [c.metadata for c in chunks])


def ranked(index: KeywordIndex, query: str, **kwargs: Any) -> list[str]:
    return [hit.id for hit in index.search(query, k=10, **kwargs)]


def test_staged_chunks_are_indexed_without_reading_the_store(tmp_path: Path) -> None:
    index, store = KeywordIndex(tmp_path / "kw"), Store()
    stage(index, *TEXTS)
    index.commit(list(TEXTS), store.get)

    assert store.read == []
    assert sorted(ranked(index, "otter river")) == ["a1", "a2"]  # stems: otters/otter match
    assert index.search("otter holt", k=1)[0].file == {"path": "a.md", "ext": ".md"}
    assert ranked(index, "the of in") == []  # stop words only


def test_a_commit_keeps_saved_tokens_drops_removed_ids_and_adds_staged(tmp_path: Path) -> None:
    index, store = KeywordIndex(tmp_path / "kw"), Store()
    stage(index, "a1", "a2", "b1")
    index.commit(["a1", "a2", "b1"], store.get)
    stage(index, "c1")
    index.commit(["a1", "a2", "c1"], store.get)  # b1 deleted, c1 added

    assert store.read == []
    assert ranked(index, "queen bees") == []
    assert ranked(index, "green tea") == ["c1"]
    assert ranked(index, "otters pebbles") == ["a1", "a2"]  # a2: "otter" only


def test_incremental_scores_equal_a_fresh_build(tmp_path: Path) -> None:
    step = KeywordIndex(tmp_path / "step")
    stage(step, "a1", "b1")
    step.commit(["a1", "b1"], Store().get)
    stage(step, "a2", "c1")
    step.commit(list(TEXTS), Store().get)
    fresh = KeywordIndex(tmp_path / "fresh")
    stage(fresh, *TEXTS)
    fresh.commit(list(TEXTS), Store().get)

    for query in ("otter river mill", "bees years", "tea degrees steep", "pebbles"):
        got = [(h.id, round(h.score, 6)) for h in step.search(query, k=10)]
        assert got == [(h.id, round(h.score, 6)) for h in fresh.search(query, k=10)], query


def test_chunks_it_has_no_tokens_for_are_read_from_the_store(tmp_path: Path) -> None:
    index, store = KeywordIndex(tmp_path / "kw"), Store()
    index.commit(list(TEXTS), store.get)  # a first build over an existing store

    assert sorted(store.read) == sorted(TEXTS)
    assert ranked(index, "queen bees") == ["b1"]


def test_filters_see_each_file_path_and_type(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    stage(index, *TEXTS)
    index.commit(list(TEXTS), Store().get)

    only_md = ranked(index, "otter bees tea", allowed=lambda f: f["ext"] == ".md")
    assert sorted(only_md) == ["a1", "a2", "c1"]
    assert ranked(index, "otter bees tea", allowed=lambda f: f["path"] == "b.txt") == ["b1"]


def test_another_process_rebuild_is_picked_up_by_a_reader(tmp_path: Path) -> None:
    writer, reader = KeywordIndex(tmp_path / "kw"), KeywordIndex(tmp_path / "kw")
    assert not reader.exists() and ranked(reader, "otter") == []
    stage(writer, "a1")
    writer.commit(["a1"], Store().get)
    assert ranked(reader, "otters") == ["a1"]
    stage(writer, "b1")
    writer.commit(["b1"], Store().get)
    assert reader.exists() and ranked(reader, "otters") == [] and ranked(reader, "bees") == ["b1"]


@pytest.mark.parametrize("first_line", ['{"format": 1}', "not json", ""])
def test_an_index_of_another_format_is_ignored_then_rebuilt(tmp_path: Path, first_line) -> None:
    folder = tmp_path / "kw"
    folder.mkdir()
    (folder / "index.json").write_text(first_line + "\n")
    index, store = KeywordIndex(folder), Store()

    assert not index.exists() and ranked(index, "otter") == []
    index.commit(list(TEXTS), store.get)
    assert index.exists() and sorted(store.read) == sorted(TEXTS)
