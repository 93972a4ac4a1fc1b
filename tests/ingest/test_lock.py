"""The writer lock: one writer per index, the lock file owner-only."""

from __future__ import annotations

import stat

import pytest

from ingest.errors import IndexLocked
from ingest.lock import LOCK_FILE, WriterLock


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
