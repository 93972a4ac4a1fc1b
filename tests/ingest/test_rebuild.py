"""Rebuilding beside the old index: a crash at any step leaves one whole index, old or new."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt4all_rag.testing import HashEmbedder
from ingest.rebuild import REBUILD_DIR, SWAP_JOURNAL, rebuild_beside, recover
from tests.helpers.data import WORDS_TEXT
from tests.helpers.index_files import counts

STEPS = [
    "journal written",
    "journal committed",
    "retired chroma",
    "installed chroma",
    "retired keywords",
    "installed keywords",
    "retired manifest.sqlite3",
    "installed manifest.sqlite3",
    "journal removed",
]


class Crash(BaseException):
    """Stands for the process dying at that step."""


@pytest.fixture
def built(tmp_path, make_assistant):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.md").write_text(WORDS_TEXT)
    index = tmp_path / "index"
    old = make_assistant(docs, embedder=HashEmbedder(), index_dir=index)
    old.ingest()
    old.manifest.close()

    def build(staging: Path) -> int:
        new = make_assistant(docs, embedder=HashEmbedder(), index_dir=staging, chunk_size=64)
        try:
            return new.ingest(force=True).chunks_total
        finally:
            new.manifest.close()

    return index, build, counts(index)


def test_a_rebuild_swaps_in_the_new_index(built):
    index, build, (old_chunks, _) = built
    new_chunks = rebuild_beside(index, build)
    assert new_chunks > old_chunks
    assert counts(index) == (new_chunks, new_chunks)
    assert sorted(p.name for p in index.iterdir() if p.name in {REBUILD_DIR, "retired"}) == []


@pytest.mark.parametrize("crash_at", STEPS)
def test_a_crash_at_any_step_leaves_one_whole_index(built, crash_at):
    index, build, old = built

    def step(name: str) -> None:
        if name == crash_at:
            raise Crash(name)

    with pytest.raises(Crash):
        rebuild_beside(index, build, step)
    committed = STEPS.index(crash_at) >= STEPS.index("journal committed")
    swapping = committed and crash_at != "journal removed"
    assert recover(index) == ("finished" if swapping else "discarded")
    chunks, vectors = counts(index)
    assert chunks == vectors
    assert (chunks == old[0]) is not committed
    assert not any((index / n).exists() for n in (SWAP_JOURNAL, REBUILD_DIR, "retired"))


def test_a_failed_build_leaves_the_old_index(built):
    index, _, old = built

    def failing(staging: Path) -> None:
        staging.mkdir()
        (staging / "manifest.sqlite3").write_text("half")
        raise RuntimeError("embedder crashed")

    with pytest.raises(RuntimeError, match="embedder crashed"):
        rebuild_beside(index, failing)
    assert counts(index) == old
    assert not (index / REBUILD_DIR).exists()
