"""Saving uploads into the documents folder: safe names, no overwrite, numbered copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt4all_rag import AssistantError, UploadRejected, save_upload

INVISIBLE = "the file name contains control or invisible characters"
PDF = (Path(__file__).resolve().parents[1] / "data" / "docs" / "manual.pdf").read_bytes()


def listing(folder: Path) -> list[str]:
    """Every entry below ``folder``, hidden ones included (a leftover temp file would show)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_saves_a_new_file_with_its_bytes(tmp_path: Path) -> None:
    saved = save_upload(tmp_path, "manual.pdf", PDF)

    assert saved == tmp_path / "manual.pdf"
    assert saved.read_bytes() == PDF
    assert listing(tmp_path) == ["manual.pdf"]


def test_creates_the_documents_folder(tmp_path: Path) -> None:
    saved = save_upload(tmp_path / "docs", "notes.md", b"# Notes\n")

    assert saved == tmp_path / "docs" / "notes.md"
    assert saved.read_bytes() == b"# Notes\n"


def test_identical_reupload_is_a_no_op(tmp_path: Path) -> None:
    first = save_upload(tmp_path, "manual.pdf", PDF)
    mtime = first.stat().st_mtime_ns

    second = save_upload(tmp_path, "manual.pdf", PDF)

    assert second == first
    assert second.stat().st_mtime_ns == mtime
    assert listing(tmp_path) == ["manual.pdf"]


def test_different_bytes_get_numbered_copies(tmp_path: Path) -> None:
    save_upload(tmp_path, "notes.md", b"first")

    second = save_upload(tmp_path, "notes.md", b"second")
    third = save_upload(tmp_path, "notes.md", b"third")
    second_again = save_upload(tmp_path, "notes.md", b"second")

    assert second == tmp_path / "notes (1).md"
    assert third == tmp_path / "notes (2).md"
    assert second_again == tmp_path / "notes (1).md"
    assert (tmp_path / "notes.md").read_bytes() == b"first"
    assert [p.read_bytes() for p in (second, third)] == [b"second", b"third"]
    assert listing(tmp_path) == ["notes (1).md", "notes (2).md", "notes.md"]


def test_numbered_copy_keeps_the_last_suffix_only(tmp_path: Path) -> None:
    save_upload(tmp_path, "archive.tar.md", b"a")

    assert save_upload(tmp_path, "archive.tar.md", b"b") == tmp_path / "archive.tar (1).md"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x.pdf", "a file name, not a path, is expected"),
        ("/etc/passwd.txt", "a file name, not a path, is expected"),
        ("sub/dir/x.pdf", "a file name, not a path, is expected"),
        ("..\\x.pdf", "a file name, not a path, is expected"),
        (".hidden.md", "hidden files (names starting with a dot) are not accepted"),
        ("..", "hidden files (names starting with a dot) are not accepted"),
        ("a\x00b.txt", INVISIBLE),
        ("line\nbreak.txt", INVISIBLE),
        ("evil\u202efdp.txt", INVISIBLE),  # right-to-left override: reads "evilpdf.txt"
        ("pay\u200broll.pdf", INVISIBLE),  # zero-width space: looks like payroll.pdf
        ("a\u200db.md", INVISIBLE),  # zero-width joiner
        ("soft\u00adhyphen.md", INVISIBLE),
        ("\ufeffbom.txt", INVISIBLE),
        ("iso\u2066late.txt", INVISIBLE),
        ("tag\U000e0041.txt", INVISIBLE),  # a Unicode tag character
        ("line\u2028sep.txt", INVISIBLE),
        ("", "the file name is empty"),
        ("   ", "the file name is empty"),
        ("x" * 252 + ".txt", "the file name is longer than 255 bytes"),
        ("tool.exe", "unsupported file type .exe"),
        ("data.xyz", "unsupported file type .xyz"),
        ("README", "unsupported file type (none)"),
    ],
)
def test_unsafe_or_unsupported_names_are_rejected(tmp_path: Path, name: str, reason: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()

    with pytest.raises(UploadRejected) as caught:
        save_upload(folder, name, b"data")

    assert (caught.value.name, caught.value.reason) == (name, reason)
    assert str(caught.value) == f"{name!r} was not saved: {reason}"
    assert listing(tmp_path) == ["docs"]


def test_extension_check_ignores_case(tmp_path: Path) -> None:
    assert save_upload(tmp_path, "SCAN.PDF", PDF) == tmp_path / "SCAN.PDF"


def test_upload_rejected_is_an_assistant_error() -> None:
    assert issubclass(UploadRejected, AssistantError)


def test_an_existing_folder_with_the_name_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.md").mkdir()

    saved = save_upload(tmp_path, "notes.md", b"text")

    assert saved == tmp_path / "notes (1).md"
    assert (tmp_path / "notes.md").is_dir()


def test_visible_non_ascii_names_are_kept(tmp_path: Path) -> None:
    names = ["café notes.md", "日本語.txt", "Ελληνικά.md"]

    assert [save_upload(tmp_path, name, b"x").name for name in names] == names


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadRejected) as caught:
        save_upload(tmp_path, "big.txt", b"x" * (1024 * 1024 + 1), max_mb=1)

    assert caught.value.reason == "the file is larger than 1 MB"
    assert listing(tmp_path) == []
    assert save_upload(tmp_path, "ok.txt", b"x" * 1024 * 1024, max_mb=1) == tmp_path / "ok.txt"
