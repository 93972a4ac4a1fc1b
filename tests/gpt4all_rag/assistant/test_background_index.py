"""The page's background indexing: the first ingest off the page's thread, then the watcher."""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from gpt4all_rag.assistant.background import BackgroundIndexer, time_left
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.assistant.watching import IndexWatcher
from ingest.report import ProgressEvent
from tests.helpers.data import DOCS

QUICK_WATCHER = functools.partial(IndexWatcher, debounce_s=0.1, settle_s=0.1)


def until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_time_left_comes_from_the_bytes_read_so_far() -> None:
    event = ProgressEvent(1, 4, 10, "a.pdf", bytes_done=250, bytes_total=1000)

    assert time_left(event, 5.0) == 15.0  # 50 bytes a second, 750 to go
    assert time_left(event, 0.2) is None  # too early for a rate
    assert time_left(ProgressEvent(0, 4, 0, "", 0, 1000), 5.0) is None


def test_the_first_ingest_runs_in_the_background_then_the_folder_is_watched(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    assistant = make_assistant(docs, embedding_backend="hash")
    indexer = BackgroundIndexer(assistant, watcher_factory=QUICK_WATCHER)

    indexer.start()
    try:
        assert indexer.wait(60)
        first = indexer.state()
        assert first.first_done and first.error is None
        assert first.report is not None and first.report.added == ["notes.md"]
        assert until(lambda: indexer.state().watch is not None and indexer.state().watch.watching)
        shutil.copy(DOCS / "table.csv", docs / "table.csv")

        assert until(lambda: [d.path for d in assistant.documents()] == ["notes.md", "table.csv"])
        assert until(lambda: indexer.state().version > first.version)
    finally:
        indexer.stop()


def test_an_unwatched_folder_is_ingested_once_and_again_on_request(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    assistant = make_assistant(docs, embedding_backend="hash")
    indexer = BackgroundIndexer(assistant, watch=False)

    indexer.start()
    assert indexer.wait(60)
    assert indexer.state().watch is None and assistant.documents() == []
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    assert indexer.sync_again()
    assert indexer.wait(60)

    assert [d.path for d in assistant.documents()] == ["notes.md"]
    assert indexer.state().report is not None and indexer.state().report.added == ["notes.md"]


def test_a_replica_page_indexes_nothing_and_says_it_is_ready(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    assistant = make_assistant(docs, embedding_backend="hash")
    # a replica of a publication (docs/deployment.md): it shows the published index
    assistant.settings = assistant.settings.model_copy(update={"replica_of": tmp_path / "pub"})
    indexer = BackgroundIndexer(assistant, watcher_factory=QUICK_WATCHER)

    indexer.start()
    assert indexer.wait(1) and not indexer.sync_again()
    state = indexer.state()
    assert state.first_done and state.error is None and state.watch is None
    assert assistant.documents() == []  # notes.md was not ingested


def test_a_failing_first_ingest_is_told_not_raised(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    docs = tmp_path / "docs"
    docs.write_text("a file where the folder should be", encoding="utf-8")
    assistant = make_assistant(docs, embedding_backend="hash")
    indexer = BackgroundIndexer(assistant, watch=False)

    indexer.start()
    assert indexer.wait(60)

    state = indexer.state()
    assert state.first_done and state.report is None and state.version == 1
    assert state.error is not None and "docs" in state.error


def test_the_watchers_first_sync_does_not_repeat_the_first_ingests_failures(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notes.md", "empty.txt"):
        shutil.copy(DOCS / name, docs / name)
    assistant = make_assistant(docs, embedding_backend="hash")
    indexer = BackgroundIndexer(assistant, watcher_factory=QUICK_WATCHER)

    indexer.start()
    try:
        assert indexer.wait(60)
        assert until(lambda: indexer.state().watch is not None and indexer.state().watch.watching)
        assert until(lambda: not indexer.state().syncing)
        time.sleep(0.5)  # the watcher's own first sync has ended

        state = indexer.state()
        assert state.version == 1
        assert state.report is not None
        assert (state.report.added, state.report.failed) == (
            ["notes.md"],
            [("empty.txt", "empty file")],
        )
    finally:
        indexer.stop()
