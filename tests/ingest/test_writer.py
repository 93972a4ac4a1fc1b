"""ChunkWriter: dirty before the store, commit only after it, repair removes the rest."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ingest.manifest import FileRecord, Manifest
from ingest.writer import ChunkWriter
from vectorstore.schema import ChunkMetadata, ChunkRecord, path_fields


class StoreDown(Exception):
    pass


class MemoryStore:
    """A dict of chunks that notes, at each write, which ids the manifest had marked dirty."""

    def __init__(self, manifest: Manifest, fail_after: int | None = None) -> None:
        self.manifest = manifest
        self.chunks: dict[str, ChunkRecord] = {}
        self.events: list[str] = []
        self.fail_after = fail_after

    def upsert(self, ids, embeddings, texts, metadatas) -> None:
        dirty = set(self.manifest.stale_ids())
        self.events.append(f"upsert {len(ids)}, all dirty: {set(ids) <= dirty}")
        for i, e, t, m in zip(ids, embeddings, texts, metadatas, strict=True):
            self.chunks[i] = ChunkRecord(i, t, m, list(e))
            if self.fail_after is not None and len(self.chunks) >= self.fail_after:
                raise StoreDown  # part of the batch is stored, the file is not committed

    def delete(self, ids: Sequence[str]) -> None:
        self.events.append(f"delete {sorted(ids)}")
        for i in ids:
            self.chunks.pop(i, None)

    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> list[ChunkRecord]:
        return [self.chunks[i] for i in ids if i in self.chunks]

    def publish(self) -> None:
        self.events.append("publish")


class Keywords:
    def __init__(self) -> None:
        self.staged: list[str] = []
        self.committed: list[str] | None = None

    def stage(self, ids, texts, metadatas) -> None:
        self.staged += list(ids)

    def discard_staged(self) -> None:
        self.staged = []

    def commit(self, ids, fetch) -> None:
        self.committed = list(ids)

    def exists(self) -> bool:
        return self.committed is not None


def records(path: str, n: int) -> list[ChunkRecord]:
    meta = ChunkMetadata(**path_fields(path), hash="h", chunk=0, start=0, end=1)
    return [ChunkRecord(f"{path}#{i}", f"text {i}", meta, [1.0, 0.0]) for i in range(n)]


@pytest.fixture
def manifest(tmp_path):
    m = Manifest(tmp_path / "index" / "manifest.sqlite3")
    yield m
    m.close()


def test_ids_are_dirty_before_the_store_sees_them_and_committed_after(manifest):
    store, keywords = MemoryStore(manifest), Keywords()
    writer = ChunkWriter(store, manifest, keywords)
    chunks = records("a.md", 3)
    writer.write(chunks)

    assert store.events == ["upsert 3, all dirty: True"]
    assert manifest.files() == {}  # written, not committed
    assert keywords.staged == [c.id for c in chunks]

    writer.commit(FileRecord("a.md", 1, 1, "h", 1, 3), [c.id for c in chunks])
    assert manifest.chunk_ids("a.md") == [c.id for c in chunks]
    assert manifest.stale_ids() == []
    assert writer.repair() == 0 and len(store.chunks) == 3


def test_a_write_that_dies_half_way_is_removed_by_repair(manifest):
    store = MemoryStore(manifest, fail_after=2)
    writer = ChunkWriter(store, manifest)
    with pytest.raises(StoreDown):
        writer.write(records("a.md", 4))
    assert sorted(store.chunks) == ["a.md#0", "a.md#1"]  # orphans in the store

    assert writer.repair() == 4  # every id marked dirty, whether it got in or not
    assert store.chunks == {} and manifest.files() == {} and manifest.stale_ids() == []


def test_replacing_a_file_makes_its_old_chunks_dirty_and_repair_deletes_them(manifest):
    store = MemoryStore(manifest)
    writer = ChunkWriter(store, manifest)
    old, new = (
        records("a.md", 2),
        [ChunkRecord("a.md#new", "t", records("a.md", 1)[0].metadata, [0.0, 1.0])],
    )
    writer.write(old)
    writer.commit(FileRecord("a.md", 1, 1, "h", 1, 2), [c.id for c in old])
    writer.write(new)
    writer.commit(FileRecord("a.md", 2, 2, "h2", 1, 1), ["a.md#new"])

    assert sorted(manifest.stale_ids()) == ["a.md#0", "a.md#1"]
    assert writer.repair() == 2
    assert sorted(store.chunks) == ["a.md#new"]


def test_start_repairs_and_forgets_staged_tokens_of_a_dead_run(manifest):
    store, keywords = MemoryStore(manifest), Keywords()
    ChunkWriter(store, manifest, keywords).write(records("a.md", 2))  # then "killed"

    writer = ChunkWriter(store, manifest, keywords)
    assert writer.start() == 2
    assert store.chunks == {} and keywords.staged == []


def test_keyword_commit_takes_exactly_the_committed_ids_and_marks_them_current(manifest):
    store, keywords = MemoryStore(manifest), Keywords()
    writer = ChunkWriter(store, manifest, keywords)
    chunks = records("a.md", 2)
    writer.write(chunks)
    writer.write(records("b.md", 1))  # never committed
    writer.commit(FileRecord("a.md", 1, 1, "h", 1, 2), [c.id for c in chunks])
    manifest.keywords_current = False

    writer.commit_keywords()
    assert keywords.committed == ["a.md#0", "a.md#1"]
    assert manifest.keywords_current is True


def test_a_record_without_an_embedding_is_refused_before_anything_is_written(manifest):
    store = MemoryStore(manifest)
    chunk = ChunkRecord("x", "t", records("a.md", 1)[0].metadata)
    with pytest.raises(ValueError, match="no embedding"):
        ChunkWriter(store, manifest).write([chunk])
    assert store.chunks == {}
