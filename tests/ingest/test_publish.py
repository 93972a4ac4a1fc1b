"""Published generations for replicas on other machines (issue 24, item 2).

A writer on a real Chroma in a temp folder, with the hash embedder; the replica reads
the same store and the publication folder, as a replica on another machine reads the
Chroma server and shared storage.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from gpt4all_rag.errors import ReadOnlyIndex
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder
from ingest.manifest import MANIFEST_FILE
from ingest.publish import CURRENT_FILE, Publication, PublicationError, Publisher
from ingest.replica import PublishedManifest
from vectorstore.keyword import KeywordIndex
from vectorstore.retriever import Retriever


class Clock:
    """A clock the test moves: the replica looks for a new generation once a second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def writer(docs_copy, make_assistant, tmp_path):
    return make_assistant(docs_copy, embedder=HashEmbedder(), publish_dir=tmp_path / "published")


def replica_of(writer, clock: Clock) -> tuple[PublishedManifest, Retriever]:
    """What ``replica_of`` wires, on the writer's store: the publication's manifest and keywords."""
    manifest = PublishedManifest(Publication(writer.settings.publish_dir), 1.0, clock)
    keywords = KeywordIndex(writer.keywords.folder, locate=manifest.keywords_folder)
    retriever = Retriever(writer.store, writer.embedder, keywords, uncommitted=manifest.uncommitted)
    return manifest, retriever


def files_found(retriever: Retriever, query: str, mode: str) -> set[str]:
    return {p.metadata["path"] for p in retriever.search(query, k=5, mode=mode, abstain=False)}


def test_each_sync_that_changes_the_index_publishes_one_complete_generation(writer, docs_copy):
    writer.ingest()
    publication = Publication(writer.settings.publish_dir)
    first = publication.current()
    assert first is not None and first.number == 1
    assert (publication.root / CURRENT_FILE).read_text() == "gen-1\n"
    copy = sqlite3.connect(f"{first.manifest.as_uri()}?mode=ro&immutable=1", uri=True)
    live = {r.path for r in writer.manifest.files().values()}
    assert {row[0] for row in copy.execute("SELECT path FROM files")} == live
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # no -wal, no -shm
    assert (first.keywords / "index.json").is_file()
    assert first.info()["chunks"] == writer.manifest.chunk_count()

    writer.ingest()  # nothing changed: nothing published
    assert [g.number for g in publication.generations()] == [1]

    (docs_copy / "otters.md").write_text("Otters juggle pebbles in the river Wye.\n")
    writer.ingest()
    assert publication.current().number == 2
    writer.remove_document("otters.md")
    assert publication.current().number == 3


def test_the_last_generations_are_kept_and_a_crashed_publish_is_cleaned(writer, docs_copy):
    publisher = writer.indexer.publisher
    for n in range(5):
        (docs_copy / f"note{n}.md").write_text(f"Note {n} about hedgehogs.\n")
        writer.ingest()
    assert [g.number for g in publisher.generations()] == [3, 4, 5]  # keep = 3

    # a writer killed mid-publish left a partial folder: CURRENT still names gen-5
    partial = publisher.root / "gen-6.tmp"
    shutil.copytree(publisher.current().folder, partial)
    (partial / MANIFEST_FILE).write_bytes(b"half a database")
    assert publisher.current().number == 5
    (docs_copy / "late.md").write_text("A late note about badgers.\n")
    writer.ingest()
    assert not partial.exists() and publisher.current().number == 6
    assert "late.md" in PublishedManifest(Publication(publisher.root)).files()


def test_a_writer_that_crashed_before_publishing_publishes_on_its_next_sync(writer, docs_copy):
    writer.ingest()
    publisher, writer.indexer.publisher = writer.indexer.publisher, None
    (docs_copy / "otters.md").write_text("Otters juggle pebbles in the river Wye.\n")
    writer.ingest()  # committed, then "crashed" before its publish
    writer.indexer.publisher = publisher
    assert publisher.is_behind(writer.manifest)
    writer.ingest()  # nothing to sync, but the publication is behind
    assert publisher.current().number == 2
    assert "otters.md" in PublishedManifest(Publication(publisher.root)).files()


def test_a_replica_answers_from_one_generation_and_moves_to_the_next(writer, docs_copy):
    writer.ingest()
    clock = Clock()
    manifest, retriever = replica_of(writer, clock)
    assert manifest.generation.number == 1
    assert set(manifest.files()) == set(writer.manifest.files())
    assert "otters.md" not in files_found(retriever, "otters juggle pebbles", "hybrid")

    # written and committed by the writer, not yet published: the replica leaves it out
    publisher, writer.indexer.publisher = writer.indexer.publisher, None
    (docs_copy / "otters.md").write_text("Otters juggle pebbles in the river Wye.\n")
    writer.ingest()
    clock.now += 5
    for mode in ("vector", "keyword", "hybrid"):
        assert "otters.md" not in files_found(retriever, "otters juggle pebbles", mode), mode

    writer.indexer.publisher = publisher
    writer.ingest()  # published as generation 2
    assert "otters.md" not in files_found(retriever, "otters juggle pebbles", "keyword")
    clock.now += 1.0  # the next look at CURRENT
    for mode in ("vector", "keyword", "hybrid"):
        assert "otters.md" in files_found(retriever, "otters juggle pebbles", mode), mode
    assert manifest.generation.number == 2 and "otters.md" in manifest.files()


def test_a_replica_before_the_first_publish_finds_nothing(writer, tmp_path):
    writer.indexer.publisher = None
    writer.ingest()
    manifest, retriever = replica_of(writer, Clock())
    assert manifest.generation is None and manifest.files() == {}
    assert retriever.search("tea water boil", k=3, abstain=False) == []


def test_a_replica_refuses_every_write_and_leaves_the_index_whole(
    docs_copy, make_assistant, writer, tmp_path
):
    writer.ingest()
    before = writer.store.collection.count()
    replica = make_assistant(docs_copy, embedder=HashEmbedder(), index_dir=tmp_path / "replica")
    replica.manifest = PublishedManifest(Publication(writer.settings.publish_dir))
    replica.indexer.manifest = replica.manifest
    replica.indexer.store = replica.store = writer.store
    for write in (replica.ingest, replica.reset, lambda: replica.remove_document("notes.md")):
        with pytest.raises(ReadOnlyIndex, match="a replica.*never writes it"):
            write()
    assert writer.store.collection.count() == before
    assert (docs_copy / "notes.md").is_file()


def test_a_replica_whose_storage_fails_keeps_answering_from_its_generation(writer):
    writer.ingest()
    clock = Clock()
    manifest, retriever = replica_of(writer, clock)
    found = files_found(retriever, "tea water boil", "hybrid")
    assert manifest.generation.number == 1 and found
    current = writer.indexer.publisher.root / CURRENT_FILE
    current.unlink()
    current.mkdir()  # reading it fails with an OSError, as an unreachable mount does
    clock.now += 5
    assert files_found(retriever, "tea water boil", "hybrid") == found
    assert manifest.generation.number == 1


def test_current_naming_something_else_is_a_clear_error(tmp_path):
    root = tmp_path / "published"
    root.mkdir()
    (root / CURRENT_FILE).write_text("../../etc\n")
    with pytest.raises(PublicationError, match="not a published generation"):
        Publication(root).current()


def test_a_replica_needs_a_chroma_server_and_does_not_publish(tmp_path):
    with pytest.raises(ValueError, match="replica_of needs a Chroma server"):
        Settings(replica_of=tmp_path / "published")
    with pytest.raises(ValueError, match="cannot publish_dir"):
        Settings(replica_of=tmp_path, publish_dir=tmp_path, chroma_host="127.0.0.1")
    with pytest.raises(ValueError, match="keep at least 2"):
        Publisher(tmp_path, tmp_path / "keywords", keep=1)


def test_generation_json_says_what_it_holds(writer):
    writer.ingest()
    info = json.loads(
        (Publication(writer.settings.publish_dir).current().folder / "generation.json").read_text()
    )
    assert info["generation"] == 1 and info["files"] == len(writer.manifest.files())
