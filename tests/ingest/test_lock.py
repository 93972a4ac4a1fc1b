"""The writer lock: one writer per index, the lock file owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ingest.errors import IndexLocked
from ingest.lock import LOCK_FILE, WriterLock, pid_alive


def test_a_second_writer_is_refused_until_the_first_is_done(tmp_path):
    with (
        WriterLock.for_index(tmp_path),
        pytest.raises(IndexLocked, match="another ingest"),
        WriterLock.for_index(tmp_path),
    ):
        pass
    with WriterLock.for_index(tmp_path):  # released
        pass


def test_the_lock_file_is_owner_only(tmp_path):
    with WriterLock.for_index(tmp_path / "index"):
        pass
    assert stat.S_IMODE((tmp_path / "index" / LOCK_FILE).stat().st_mode) == 0o600


def test_pid_alive_tells_a_running_process_from_a_record_of_anything_else() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()

    assert pid_alive(os.getpid())
    assert not pid_alive(dead.pid)
    # kill(0 or -1, 0) would ask about a process group or every process
    for record in (0, -1, True, "123", None, 2**70, 1.5):
        assert not pid_alive(record), record
