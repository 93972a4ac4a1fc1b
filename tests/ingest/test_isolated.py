"""The isolated loader: load_file's pages from a worker process, and every way the worker can
fail turned into a reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.errors import DocumentLoadError
from ingest.loaders import load_file
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from tests.helpers import bombs
from tests.helpers.data import DOCS, DOCS_FAILED, DOCS_GOOD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loader():
    isolated = IsolatedLoader()
    yield isolated
    isolated.close()


@pytest.mark.parametrize("name", DOCS_GOOD)
def test_pages_are_those_of_load_file(loader, name):
    assert loader(DOCS / name) == load_file(DOCS / name)


@pytest.mark.parametrize("name", sorted(DOCS_FAILED))
def test_load_errors_keep_their_reason(loader, name):
    with pytest.raises(DocumentLoadError) as isolated:
        loader(DOCS / name)
    with pytest.raises(DocumentLoadError) as direct:
        load_file(DOCS / name)
    assert isolated.value.reason == direct.value.reason
    assert DOCS_FAILED[name] in isolated.value.reason


def test_one_worker_serves_file_after_file(loader):
    loader(DOCS / "notes.md")
    pid = loader._worker.process.pid
    loader(DOCS / "manual.pdf")
    assert loader._worker.process.pid == pid


def test_a_killed_worker_is_a_crash_with_its_signal_then_a_new_worker(tmp_path):
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(bombs.pdf_pages_sharing_one_stream(2000, text_kb=100))
    loader = IsolatedLoader(ParseLimits(timeout_s=120))
    loader(DOCS / "notes.md")  # started
    pid = loader._worker.process.pid
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(DocumentLoadError) as caught:
        loader(slow)
    assert caught.value.reason == "the parser crashed (SIGKILL)"
    assert loader(DOCS / "notes.md") == load_file(DOCS / "notes.md")  # a fresh worker
    assert loader._worker.process.pid != pid
    loader.close()


def test_a_timeout_kills_the_worker_and_the_next_file_gets_a_new_one(tmp_path):
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(bombs.pdf_pages_sharing_one_stream(2000, text_kb=100))
    loader = IsolatedLoader(ParseLimits(timeout_s=1.0))
    loader(DOCS / "notes.md")
    old = loader._worker.process
    started = time.monotonic()
    with pytest.raises(DocumentLoadError) as caught:
        loader(slow)
    assert caught.value.reason == "parsing timed out after 1 s"
    assert time.monotonic() - started < 10
    assert old.poll() is not None  # killed, not left running
    assert loader(DOCS / "notes.md") == load_file(DOCS / "notes.md")
    loader.close()


def test_a_script_without_a_main_guard_can_use_it(tmp_path):
    """The worker is a fresh interpreter: the caller's script is never run again in it."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "from ingest.loaders.isolated import IsolatedLoader\n"
        "print('ran')\n"
        f"pages = IsolatedLoader()(Path({str(DOCS / 'notes.md')!r}))\n"
        "print(len(pages))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ran", str(len(load_file(DOCS / "notes.md")))]
