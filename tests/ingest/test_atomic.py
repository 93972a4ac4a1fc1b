"""write_atomic: the old file or the new one, never half, and no temporary file left."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ingest.atomic import write_atomic


def test_text_is_written_as_utf8_and_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, "névé")
    assert target.read_bytes() == "névé".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    write_atomic(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_mode_is_honoured(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "private"
    write_atomic(target, "secret", mode=mode)
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_the_temporary_file_is_removed_on_error(tmp_path: Path) -> None:
    target = tmp_path / "folder-in-the-way"
    target.mkdir()  # os.replace of a file over a folder fails
    (target / "inside").write_text("kept", encoding="utf-8")
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder-in-the-way"]
    assert (target / "inside").read_text(encoding="utf-8") == "kept"


def test_the_temporary_file_is_removed_when_the_data_is_not_writable(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\ud800")  # a lone surrogate cannot be UTF-8
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
    assert target.read_text(encoding="utf-8") == "old"
