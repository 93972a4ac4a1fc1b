"""Searching while an ingest writes: results keep coming, no "database is locked" reaches
the caller, and a second ingest on the same index is refused."""

from __future__ import annotations

import threading
import time

import pytest

from gpt4all_rag.errors import IndexLocked
from tests.conftest import HashEmbedder

NEW_FILES = 12


class SlowEmbedder(HashEmbedder):
    """Slow to embed documents (so the ingest lasts), instant for queries."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        time.sleep(0.15)
        return super().embed_documents(texts)


def test_search_during_ingest_and_a_second_ingest_is_refused(docs_copy, make_assistant):
    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()
    for n in range(NEW_FILES):
        (docs_copy / f"log-{n}.md").write_text(f"Station {n} logged {n} otters at dawn.\n")
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
                top = assistant.search("green tea steep degrees Celsius", k=1, mode=mode)
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
    assert report.chunks_total == 14 + NEW_FILES
    assert refused is not None and "another ingest is writing" in str(refused.value)
    assert searches >= 3 * 5  # the writer took >= 1.8 s; searches kept going all along
    hits = assistant.search("station logged otters dawn", k=NEW_FILES, mode="keyword")
    assert sorted(h.file for h in hits) == sorted(report.added)  # the new files are searchable
