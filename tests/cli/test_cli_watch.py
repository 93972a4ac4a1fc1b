"""``gpt4all-rag watch``: in process on the fakes, and as a real process (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gpt4all_rag.cli.main import main
from gpt4all_rag.testing import HashEmbedder

SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))


def test_watch_prints_json_lines_and_stops_on_sigterm(tmp_path, make_assistant, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")

    built = []

    def make(settings):
        built.append(make_assistant(docs, embedder=HashEmbedder()))
        return built[-1]

    def indexed(path: str) -> None:
        end = time.monotonic() + 20
        while not (built and path in built[0].manifest.files()) and time.monotonic() < end:
            time.sleep(0.05)

    def later() -> None:
        indexed("otters.md")
        time.sleep(0.3)
        (docs / "beavers.md").write_text("# Beavers\n\nBeavers build dams.\n")
        indexed("beavers.md")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=later, daemon=True).start()
    argv = ["watch", str(docs), "--json", "--debounce", "0.2", "--settle", "0.3"]
    code = main(argv, make)
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [line for line in lines if line["event"] != "notice"] == [
        {"event": "added", "file": "otters.md"},
        {"event": "added", "file": "beavers.md"},
    ]
    assert lines[1]["message"].startswith(f"watching {docs} (native events)")
    assert lines[-1] == {"event": "notice", "message": "stopped"}
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def read_until(process: subprocess.Popen[str], wanted: str, timeout: float) -> list[dict]:
    """JSON lines from the watcher until one has ``wanted`` in it."""
    seen: list[dict] = []
    end = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < end:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(json.loads(line))
        if wanted in line:
            return seen
    raise AssertionError(f"{wanted!r} not seen in {seen}")


@pytest.mark.slow
def test_a_dropped_file_is_searchable_within_seconds_and_sigterm_exits_0(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
    env = {**os.environ, "GPT4ALL_RAG_LLM_BACKEND": "scripted"}
    index = str(tmp_path / "index")
    process = subprocess.Popen(
        [
            SCRIPT,
            "watch",
            str(docs),
            "--index",
            index,
            "--json",
            "--debounce",
            "0.3",
            "--settle",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = read_until(process, "watching", timeout=120)
        assert {"event": "added", "file": "otters.md"} in first
        (docs / "beavers.md").write_text("# Beavers\n\nBeavers build dams from branches.\n")
        dropped = time.monotonic()
        assert read_until(process, "beavers.md", timeout=30)[-1] == {
            "event": "added",
            "file": "beavers.md",
        }
        assert time.monotonic() - dropped < 5
        found = subprocess.run(
            [SCRIPT, "search", "who builds dams?", "--index", index, "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        assert "beavers.md" in found.stdout
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert read_until(process, "stopped", timeout=5)[-1]["message"] == "stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not list(Path(index).glob("watch-*.json"))


def test_ingest_rebuild_swaps_a_new_index_in_and_waits_for_no_watcher(
    tmp_path, monkeypatch, capsys
):
    from gpt4all_rag.assistant.single import DocumentAssistant
    from gpt4all_rag.testing import ScriptedLLM
    from ingest.watch_record import write_watch_record
    from tests.helpers.data import WORDS_TEXT
    from tests.helpers.index_files import counts

    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "manual.md").write_text(WORDS_TEXT)

    def make(settings):
        return DocumentAssistant.from_settings(settings, llm=ScriptedLLM(), embedder=HashEmbedder())

    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    assert main(["ingest", "--index", str(index)], make) == 0
    old = counts(index)
    monkeypatch.setenv("GPT4ALL_RAG_CHUNK_SIZE", "64")
    write_watch_record(index, {"pid": os.getpid(), "command": "gpt4all-rag watch"})
    capsys.readouterr()
    assert main(["ingest", "--rebuild", "--index", str(index)], make) == 2
    assert "is being watched (pid" in capsys.readouterr().err
    (index / f"watch-{os.getpid()}.json").unlink()
    assert main(["ingest", "--rebuild", "--index", str(index), "--json"], make) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == ["manual.md"]
    assert counts(index) == (report["chunks_total"], report["chunks_total"])
    assert report["chunks_total"] > old[0]
