"""The folder watcher on a real folder with watchdog: debounce, completeness, fallback."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gpt4all_rag.testing import HashEmbedder
from ingest.errors import EmptyFolder, IndexLocked
from ingest.lock import WriterLock
from ingest.watch import FolderWatcher, WatchBatch
from ingest.watch_pending import is_temporary
from ingest.watch_record import read_watch_records, write_watch_record

FAST = {"debounce_s": 0.2, "settle_s": 0.3, "check_s": 0.2, "retry_s": 0.1}


class Recorder:
    """A sync that records its batches and the size of each file it would read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.batches: list[WatchBatch] = []
        self.sizes: list[dict[str, int]] = []
        self.done = threading.Event()

    def __call__(self, batch: WatchBatch) -> None:
        self.batches.append(batch)
        self.sizes.append({p: (self.folder / p).stat().st_size for p in batch.changed})
        self.done.set()

    def changed(self) -> set[str]:
        return {p for b in self.batches for p in b.changed}


def wait_for(condition, timeout: float = 4.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture
def watched(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    recorder = Recorder(folder)
    problems: list[str] = []
    watcher = FolderWatcher(folder, recorder, on_problem=problems.append, **FAST)
    watcher.start(initial_sync=False)
    yield folder, recorder, watcher, problems
    watcher.stop()


def test_a_burst_of_files_is_one_or_a_few_syncs(watched):
    folder, recorder, watcher, _ = watched
    for n in range(300):
        (folder / f"note{n}.md").write_text(f"note {n}\n")
    wait_for(lambda: len(recorder.changed()) == 300)
    assert len(recorder.batches) <= 3
    wait_for(lambda: watcher.pending == 0)  # cleared once the sync has returned


def test_a_growing_file_is_synced_once_whole(watched):
    folder, recorder, _, _ = watched
    with (folder / "slow.md").open("w") as handle:
        for n in range(12):
            handle.write(f"line {n}\n")
            handle.flush()
            time.sleep(0.1)  # each write comes before the file has settled
            assert all("slow.md" not in b.changed for b in recorder.batches)
    wait_for(lambda: "slow.md" in recorder.changed())
    sizes = [s["slow.md"] for s in recorder.sizes if "slow.md" in s]
    assert sizes == [(folder / "slow.md").stat().st_size]


def test_a_file_still_written_is_held_while_others_sync(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    recorder = Recorder(folder)
    watcher = FolderWatcher(folder, recorder, **{**FAST, "settle_s": 1.0})
    watcher.start(initial_sync=False)
    try:
        (folder / "done.md").write_text("done\n")
        with (folder / "growing.md").open("w") as handle:
            for n in range(30):
                handle.write(f"line {n}\n")
                handle.flush()
                time.sleep(0.05)
            wait_for(lambda: "done.md" in recorder.changed())
            first = next(b for b in recorder.batches if "done.md" in b.changed)
            assert "growing.md" in first.held
    finally:
        watcher.stop()


def test_moves_deletes_and_temporary_names(watched):
    folder, recorder, _, _ = watched
    (folder / "a.md").write_text("alpha\n")
    (folder / "report.pdf.part").write_text("half")
    (folder / "~$report.docx").write_text("lock")
    wait_for(lambda: "a.md" in recorder.changed())
    assert recorder.changed() == {"a.md"}
    (folder / "report.pdf.part").rename(folder / "report.pdf")
    (folder / "a.md").rename(folder / "b.md")
    wait_for(lambda: {"report.pdf", "b.md"} <= recorder.changed())
    assert any("a.md" in b.deleted for b in recorder.batches)
    (folder / "b.md").unlink()
    wait_for(lambda: any("b.md" in b.deleted for b in recorder.batches))


def test_temporary_names():
    assert [
        is_temporary(p)
        for p in (
            "a.pdf.part",
            "x.crdownload",
            "~$a.docx",
            ".#a.md",
            "a.md.swp",
            "sub/.hidden/a.md",
            "a.tmp",
        )
    ] == [True] * 7
    assert not is_temporary("reports/2024.pdf")


def test_a_locked_index_is_waited_for_and_said(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    index = tmp_path / "index"
    calls: list[WatchBatch] = []

    def sync(batch: WatchBatch) -> None:
        with WriterLock.for_index(index):
            calls.append(batch)

    problems: list[str] = []
    watcher = FolderWatcher(folder, sync, on_problem=problems.append, **FAST)
    with WriterLock.for_index(index):
        watcher.start(initial_sync=True)
        wait_for(lambda: problems)
        assert calls == []
    try:
        wait_for(lambda: calls)
    finally:
        watcher.stop()
    assert problems[0].startswith(f"waiting: another ingest is writing to {index} (")
    assert "pid" in problems[0]


def test_the_lock_says_who_holds_it(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time;from pathlib import Path;from ingest.lock import WriterLock\n"
            f"with WriterLock.for_index(Path({str(tmp_path)!r})):\n"
            " print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(IndexLocked) as caught, WriterLock.for_index(tmp_path):
            pass
        assert f"(pid {holder.pid}: -c)" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()


def test_the_polling_fallback_when_native_events_cannot_start(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()

    def no_inotify():
        raise OSError(28, "inotify watch limit reached")

    recorder = Recorder(folder)
    problems: list[str] = []
    watcher = FolderWatcher(
        folder, recorder, on_problem=problems.append, observer_factory=no_inotify, **FAST
    )
    watcher.start(initial_sync=False)
    try:
        assert watcher.observer_kind == "polling"
        assert "polling the folder" in problems[0] and "inotify watch limit" in problems[0]
        (folder / "a.md").write_text("alpha\n")
        wait_for(lambda: "a.md" in recorder.changed())
    finally:
        watcher.stop()


def test_a_vanished_folder_is_reported_and_waited_for(watched):
    folder, recorder, watcher, problems = watched
    folder.rename(folder.with_name("elsewhere"))
    wait_for(lambda: any("vanished or was renamed" in p for p in problems))
    assert watcher.error is not None and not watcher.watching
    folder.mkdir()
    wait_for(lambda: any(b.initial for b in recorder.batches))
    (folder / "back.md").write_text("back\n")
    wait_for(lambda: "back.md" in recorder.changed())
    assert watcher.error is None


def test_stop_joins_the_worker_and_the_observer(watched):
    _, _, watcher, _ = watched
    worker, observer = watcher._thread, watcher._observer
    assert worker is not None and worker.is_alive()
    assert observer is not None and observer.is_alive()
    watcher.stop()
    assert not watcher.watching
    # This watcher's own threads: other tests' watchers (the app's) may still run.
    assert not worker.is_alive() and not observer.is_alive()


def test_watch_records_go_stale_with_their_process(tmp_path):
    write_watch_record(tmp_path, {"pid": 2**22 + 12345, "pending": 3})
    (tmp_path / "watch-1.json").write_text('{"pid": 999999999}')
    records = read_watch_records(tmp_path)
    assert [r["alive"] for r in records] == [False, False]


# --- the pipeline's share: twins, empty mount points -----------------------------------
def test_two_identical_files_in_one_run_are_embedded_once(tmp_path, make_assistant):
    folder = tmp_path / "docs"
    folder.mkdir()
    text = "# Manual\n\n" + " ".join(f"word{n}" for n in range(600)) + "\n"
    (folder / "refman.md").write_text(text)
    (folder / "fullrefman.md").write_text(text)
    embedder = HashEmbedder()
    assistant = make_assistant(folder, embedder=embedder)
    report = assistant.ingest()
    assert report.added == ["fullrefman.md", "refman.md"]
    per_file = report.chunks_total // 2
    assert embedder.texts_embedded == per_file
    assert report.chunks_reused == per_file
    got = assistant.store.collection.get(include=["metadatas"])
    assert (
        sorted(m["path"] for m in got["metadatas"])
        == ["fullrefman.md"] * per_file + ["refman.md"] * per_file
    )


def test_an_empty_mount_point_does_not_empty_the_index(tmp_path, make_assistant):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("alpha beta\n")
    assistant = make_assistant(folder, embedder=HashEmbedder())
    assistant.ingest()
    (folder / "a.md").unlink()
    with pytest.raises(EmptyFolder, match="is empty but the index holds 1 file"):
        assistant.ingest()
    assert [d.path for d in assistant.documents()] == ["a.md"]
    assert assistant.ingest(force=True).deleted == ["a.md"]
    assert assistant.documents() == []


def test_ingest_skips_office_lock_files(tmp_path, make_assistant):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.md").write_text("# Report\n\nQuarterly figures.\n")
    (folder / "~$report.docx").write_bytes(b"\x0bjdoe      ")
    report = make_assistant(folder, embedder=HashEmbedder()).ingest()
    assert report.added == ["report.md"] and report.failed == []
    assert report.skipped == [("~$report.docx", "an open document's lock file")]
