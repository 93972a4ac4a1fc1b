"""A killed ingest leaves an index that the next run repairs: same ids, no duplicates."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder

WORKER = Path(__file__).with_name("crash_worker.py")


def clean_ids(docs: Path, index: Path) -> set[str]:
    assistant = DocumentAssistant.from_settings(
        Settings(documents_dir=docs, index_dir=index), embedder=HashEmbedder()
    )
    assistant.ingest()
    return set(assistant.store.collection.get()["ids"])


def committed_files(index: Path) -> int:
    try:
        with sqlite3.connect(index / "manifest.sqlite3", timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("kill_after_files", [0, 1, 4])
def test_sigkill_part_way_then_rerun_matches_a_clean_ingest(docs_copy, tmp_path, kill_after_files):
    index = tmp_path / "killed"
    worker = subprocess.Popen([sys.executable, str(WORKER), str(docs_copy), str(index)])
    deadline = time.monotonic() + 120
    while committed_files(index) < kill_after_files and worker.poll() is None:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)
    if kill_after_files == 0:
        time.sleep(2.0)  # inside the first batch: chunks written or being embedded
    assert worker.poll() is None, "the worker finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    assistant = DocumentAssistant.from_settings(
        Settings(documents_dir=docs_copy, index_dir=index), embedder=HashEmbedder()
    )
    report = assistant.ingest()
    ids = assistant.store.collection.get()["ids"]

    assert len(ids) == len(set(ids)) == report.chunks_total
    assert set(ids) == clean_ids(docs_copy, tmp_path / "clean")
    assert assistant.manifest.stale_ids() == []
    assert sorted(assistant.keywords.chunk_ids()) == sorted(ids)  # its tokens died with it


class CrashAfterWrite(Exception):
    pass


def test_crash_between_store_write_and_commit_is_repaired(docs_copy, tmp_path):
    settings = Settings(
        documents_dir=docs_copy, index_dir=tmp_path / "index", ingest_batch_chunks=1
    )
    assistant = DocumentAssistant.from_settings(settings, embedder=HashEmbedder())
    real_upsert = assistant.store.upsert
    writes = []

    def upsert_then_die(*args, **kwargs):
        real_upsert(*args, **kwargs)
        writes.append(args[0])
        if len(writes) == 3:
            raise CrashAfterWrite  # written to Chroma, not yet committed in the manifest

    assistant.indexer.store.upsert = upsert_then_die  # type: ignore[method-assign]
    with pytest.raises(CrashAfterWrite):
        assistant.ingest()
    orphans = set(writes[-1])
    assert orphans <= set(assistant.store.collection.get()["ids"])
    assert set(assistant.manifest.stale_ids()) == orphans

    fresh = DocumentAssistant.from_settings(settings, embedder=HashEmbedder())
    fresh.ingest()
    ids = fresh.store.collection.get()["ids"]
    assert len(ids) == len(set(ids))
    assert set(ids) == clean_ids(docs_copy, tmp_path / "clean")
