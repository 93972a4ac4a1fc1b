"""Searching while an ingest writes: results keep coming, no "database is locked" reaches
the caller, and a second ingest on the same index is refused. The writer is a thread of
the same process, or another process on the same embedded store."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gpt4all_rag.errors import IndexLocked
from gpt4all_rag.testing import HashEmbedder
from ingest.manifest import FileRecord
from tests.helpers.data import DOCS_CHUNKS
from tests.hostile.slow_ingest import SlowEmbedder

NEW_FILES = 12
SLOW_INGEST = Path(__file__).with_name("slow_ingest.py")
TEA = "green tea steep degrees Celsius"
LOGS = "station logged otters dawn"
BEES = "queen bees live five years"


def add_logs(folder: Path) -> list[str]:
    names = [f"log-{n}.md" for n in range(NEW_FILES)]
    for n, name in enumerate(names):
        (folder / name).write_text(f"Station {n} logged {n} otters at dawn.\n")
    return names


def test_search_during_ingest_and_a_second_ingest_is_refused(docs_copy, make_assistant):
    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()
    add_logs(docs_copy)
    assistant = make_assistant(
        docs_copy, embedder=SlowEmbedder(), ingest_batch_chunks=1, relevance_floor=0.1
    )
    outcome: dict[str, object] = {}

    def ingest() -> None:
        try:
            outcome["report"] = assistant.ingest()
        except BaseException as exc:  # handed to the main thread's assertions
            outcome["error"] = exc

    writer = threading.Thread(target=ingest)
    writer.start()
    searches = 0
    refused = None
    try:
        while writer.is_alive():
            for mode in ("vector", "keyword", "hybrid"):
                top = assistant.search(TEA, k=1, mode=mode)
                assert [h.file for h in top] == ["page.html"], mode
                searches += 1
            if refused is None:
                with pytest.raises(IndexLocked) as refused:
                    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()
    finally:
        writer.join()

    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert sorted(report.added) == sorted(f"log-{n}.md" for n in range(NEW_FILES))
    assert report.chunks_total == sum(DOCS_CHUNKS.values()) + NEW_FILES
    assert refused is not None and "another ingest is writing" in str(refused.value)
    assert searches >= 3 * 5  # the writer took >= 1.8 s; searches kept going all along
    hits = assistant.search(LOGS, k=NEW_FILES, mode="keyword")
    assert sorted(h.file for h in hits) == sorted(report.added)  # the new files are searchable


def test_another_process_ingesting_the_embedded_store(docs_copy, make_assistant, tmp_path):
    """The app open while ``gpt4all-rag ingest`` runs in a terminal, on the default store.

    An embedded Chroma client never sees another process's writes by itself: before the
    publication file, this reader kept its old vectors for good and its hybrid searches
    failed with "Error finding id" once the writer rebuilt the keyword index.
    """
    reader = make_assistant(docs_copy, embedder=HashEmbedder(), relevance_floor=0.1)
    reader.ingest()
    assert [h.file for h in reader.search(BEES, k=1, mode="keyword")] == ["notes.md"]
    added = add_logs(docs_copy)
    (docs_copy / "notes.md").unlink()
    started = tmp_path / "writer-started"
    writer = subprocess.Popen(
        [
            sys.executable,
            str(SLOW_INGEST),
            str(docs_copy),
            str(reader.settings.index_dir),
            str(started),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    during = 0
    try:
        while writer.poll() is None:
            for mode in ("vector", "keyword", "hybrid"):
                top = reader.search(TEA, k=1, mode=mode)
                assert [h.file for h in top] == ["page.html"], mode
                during += started.exists()
        out, err = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert sorted(report["added"]) == sorted(added) and report["deleted"] == ["notes.md"]
    assert during >= 3 * 5  # searched all through the writer's >= 1.8 s of embedding

    for mode in ("vector", "keyword", "hybrid"):  # the writer's result, in every mode
        hits = reader.search(LOGS, k=NEW_FILES, mode=mode)
        assert sorted(h.file for h in hits) == sorted(added), mode
        assert "notes.md" not in {h.file for h in reader.search(BEES, k=3, mode=mode)}, mode
    assert reader.store.count() == report["chunks_total"] == reader.status().chunks


def test_chunks_written_but_not_committed_are_not_searchable(docs_copy, make_assistant):
    """The moment inside an ingest between a store write and the manifest commit."""
    embedder = HashEmbedder()
    assistant = make_assistant(docs_copy, embedder=embedder, relevance_floor=0.1)
    assistant.ingest()
    text = "Station 7 logged 7 otters at dawn."
    ids = ["in-flight-1"]
    metadata = {"path": "log-7.md", "ext": ".md", "page": 0, "chunk": 0}

    assistant.manifest.mark_dirty(ids)  # what the pipeline does before it writes
    assistant.store.upsert(ids, embedder.embed_documents([text]), [text], [metadata])

    for mode in ("vector", "hybrid"):
        assert "log-7.md" not in {h.file for h in assistant.search(LOGS, k=3, mode=mode)}
    record = FileRecord("log-7.md", 1, 1, "hash", 1, 1)
    assistant.manifest.commit_file(record, ids)  # the commit makes the file visible whole
    assert [h.file for h in assistant.search(LOGS, k=1, mode="vector")] == ["log-7.md"]
