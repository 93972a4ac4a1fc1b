"""The freedesktop trash: a deleted document goes where the desktop's "Restore" finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpt4all_rag.documents.trash import TrashUnavailable, home_trash, move_to_trash


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The home trash under a temporary ``XDG_DATA_HOME``."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "Trash"


def test_the_home_trash_follows_xdg_data_home(trash: Path) -> None:
    assert home_trash() == trash


def test_a_file_moves_to_files_with_its_trashinfo(tmp_path: Path, trash: Path) -> None:
    docs = tmp_path / "my docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n", encoding="utf-8")

    moved = move_to_trash(docs / "notes.md")

    assert moved == trash / "files" / "notes.md"
    assert moved.read_text(encoding="utf-8") == "# Notes\n"
    assert not (docs / "notes.md").exists()
    info = (trash / "info" / "notes.md.trashinfo").read_text(encoding="utf-8")
    lines = info.splitlines()
    assert lines[:2] == ["[Trash Info]", f"Path={tmp_path}/my%20docs/notes.md"]
    assert re.fullmatch(r"DeletionDate=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", lines[2])
    assert (trash / "info" / "notes.md.trashinfo").stat().st_mode & 0o777 == 0o600


def test_a_second_file_of_the_same_name_gets_a_new_name(tmp_path: Path, trash: Path) -> None:
    for text in ("first", "second"):
        (tmp_path / "a.txt").write_text(text, encoding="utf-8")
        move_to_trash(tmp_path / "a.txt")

    assert sorted(p.name for p in (trash / "files").iterdir()) == ["a.1.txt", "a.txt"]
    assert (trash / "files" / "a.1.txt").read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in (trash / "info").iterdir()) == [
        "a.1.txt.trashinfo",
        "a.txt.trashinfo",
    ]


def test_a_symbolic_link_is_trashed_itself_never_its_target(tmp_path: Path, trash: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(target)

    moved = move_to_trash(tmp_path / "link.txt")

    assert moved.is_symlink() and target.read_text(encoding="utf-8") == "keep me"


def test_a_missing_file_is_refused_and_nothing_is_written(tmp_path: Path, trash: Path) -> None:
    with pytest.raises(TrashUnavailable, match="does not exist"):
        move_to_trash(tmp_path / "gone.pdf")

    assert not trash.exists()


def test_a_trash_that_cannot_be_written_leaves_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the trash folder should be", encoding="utf-8")

    with pytest.raises(TrashUnavailable):
        move_to_trash(tmp_path / "a.txt", trash=blocked)

    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "x"
