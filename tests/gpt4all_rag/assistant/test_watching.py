"""IndexWatcher on the fakes: a real folder, real watchdog events, a real Chroma."""

from __future__ import annotations

import time

import pytest

from gpt4all_rag.assistant.watching import IndexWatcher, change_lines
from gpt4all_rag.cli.main import main
from gpt4all_rag.index.status import index_status
from gpt4all_rag.server.run import folder_watching
from gpt4all_rag.testing import HashEmbedder
from ingest.errors import EmptyFolder

FAST = {"debounce_s": 0.2, "settle_s": 0.3}


def wait_for(condition, timeout: float = 4.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
    return docs


def paths(assistant) -> list[str]:
    return [d.path for d in assistant.documents()]


def test_a_dropped_file_is_indexed_and_searchable(folder, make_assistant):
    assistant = make_assistant(folder, embedder=HashEmbedder())
    reports = []
    with IndexWatcher(assistant, on_report=reports.append, **FAST) as watcher:
        wait_for(lambda: paths(assistant) == ["otters.md"])
        (folder / "beavers.md").write_text("# Beavers\n\nBeavers build dams of branches.\n")
        wait_for(lambda: paths(assistant) == ["beavers.md", "otters.md"])
        wait_for(lambda: len(reports) == 2)  # the sync is over: keywords written too
        hits = assistant.search("beavers build dams", k=1)
        assert [h.file for h in hits] == ["beavers.md"]
        wait_for(lambda: watcher.state().pending == 0)  # cleared once the sync returned
        state = watcher.state()
        assert state.watching and state.error is None
        assert state.folder == folder
    assert [change_lines(r) for r in reports] == [["added    otters.md"], ["added    beavers.md"]]
    assert not watcher.state().watching


def test_moves_reuse_vectors_and_deletes_leave_search(folder, make_assistant):
    embedder = HashEmbedder()
    assistant = make_assistant(folder, embedder=embedder)
    reports = []
    with IndexWatcher(assistant, on_report=reports.append, **FAST):
        wait_for(lambda: paths(assistant) == ["otters.md"])
        embedded = embedder.texts_embedded
        (folder / "animals").mkdir()
        (folder / "otters.md").rename(folder / "animals" / "sea-otters.md")
        wait_for(lambda: paths(assistant) == ["animals/sea-otters.md"])
        wait_for(lambda: len(reports) == 2)
        assert [r.moved for r in reports] == [[], [("otters.md", "animals/sea-otters.md")]]
        assert embedder.texts_embedded == embedded
        (folder / "animals" / "sea-otters.md").unlink()
        wait_for(lambda: paths(assistant) == [])
    assert assistant.search("otters hold hands", k=3) == []


def test_a_growing_file_is_indexed_once_whole(folder, make_assistant):
    assistant = make_assistant(folder, embedder=HashEmbedder())
    reports = []
    with IndexWatcher(assistant, on_report=reports.append, **FAST):
        wait_for(lambda: paths(assistant) == ["otters.md"])
        with (folder / "log.md").open("w") as handle:
            for n in range(15):
                handle.write(f"Entry {n}: the river rose by {n} centimetres.\n")
                handle.flush()
                time.sleep(0.1)
                assert "log.md" not in paths(assistant)
        wait_for(lambda: "log.md" in paths(assistant))
    record = assistant.manifest.files()["log.md"]
    assert record.size == (folder / "log.md").stat().st_size
    assert sum(r.added.count("log.md") + r.updated.count("log.md") for r in reports) == 1


def test_status_shows_the_watcher(folder, make_assistant, tmp_path, capsys):
    assistant = make_assistant(folder, embedder=HashEmbedder())
    with IndexWatcher(assistant, **FAST):
        wait_for(lambda: paths(assistant) == ["otters.md"])
        status = index_status(assistant.settings)
        assert status.watching
        [record] = status.watchers
        assert record["pending"] == 0 and record["folder"] == str(folder)
        assert main(["status", "--index", str(tmp_path / "index")]) == 0
        assert "watching: yes\n  pid " in capsys.readouterr().out
    assert not index_status(assistant.settings).watching
    assert main(["status", "--index", str(tmp_path / "index")]) == 0
    assert capsys.readouterr().out.endswith("watching: no\n")


def test_deleting_every_file_is_allowed_but_an_empty_mount_is_not(folder, make_assistant):
    assistant = make_assistant(folder, embedder=HashEmbedder())
    assistant.ingest()
    events: list[str] = []
    (folder / "otters.md").rename(folder.parent / "kept.md")  # empty before the watcher
    with IndexWatcher(assistant, on_event=events.append, **FAST) as watcher:
        wait_for(lambda: watcher.state().error is not None)
        assert "is empty but the index holds 1 file" in (watcher.state().error or "")
        assert paths(assistant) == ["otters.md"]
        (folder.parent / "kept.md").rename(folder / "otters.md")
        wait_for(lambda: watcher.state().error is None and watcher.state().pending == 0)
        (folder / "otters.md").unlink()  # seen deleted: the empty folder is explained
        wait_for(lambda: paths(assistant) == [])
    with pytest.raises(EmptyFolder):
        (folder / "x.md").write_text("x\n")
        assistant.ingest()
        (folder / "x.md").unlink()
        assistant.ingest()


def test_serve_watches_its_folder_by_setting(folder, make_assistant):
    assistant = make_assistant(
        folder, embedder=HashEmbedder(), watch_debounce_s=0.2, watch_settle_s=0.3
    )
    with folder_watching(assistant):
        wait_for(lambda: paths(assistant) == ["otters.md"])
    off = make_assistant(
        folder, embedder=HashEmbedder(), watch_folder=False, index_dir=folder.parent / "index2"
    )
    with folder_watching(off):
        time.sleep(0.5)
    assert paths(off) == []
