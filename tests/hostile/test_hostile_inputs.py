"""Hostile files in the documents folder: each gets a clear outcome, the run finishes, and
chunks indexed before stay intact.

Every case is written into tmp_path by the test itself (nothing large is committed).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import pdf_bytes
from tests.helpers.data import DOCS
from tests.helpers.index_files import stored_ids

IS_ROOT = os.geteuid() == 0
ZERO_BYTE = ("z.txt", "z.pdf", "z.docx")
AWKWARD = ("my notes.txt", "café ñandú 東京.md", "line\nbreak.txt")

Maker = Callable[[Path, Path], None]  # (documents folder, a scratch folder outside it)


def write(name: str, data: bytes) -> Maker:
    def make(folder: Path, _outside: Path) -> None:
        (folder / name).write_bytes(data)

    return make


def random_bytes(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def symlink_loop(folder: Path, _outside: Path) -> None:
    (folder / "loop-a.txt").symlink_to("loop-b.txt")
    (folder / "loop-b.txt").symlink_to("loop-a.txt")


def dangling_symlink(folder: Path, _outside: Path) -> None:
    (folder / "dangling.txt").symlink_to("no-such-file.txt")


def symlink_outside(folder: Path, outside: Path) -> None:
    (outside / "secret.txt").write_text("The outside secret must never be indexed.\n")
    (folder / "outside.txt").symlink_to(outside / "secret.txt")


def directory_symlink_loop(folder: Path, _outside: Path) -> None:
    (folder / "again").symlink_to(".")


def unreadable(folder: Path, _outside: Path) -> None:
    path = folder / "locked.txt"
    path.write_text("Locked otters keep their own counsel.\n")
    path.chmod(0)


def fifo(folder: Path, _outside: Path) -> None:
    os.mkfifo(folder / "pipe.txt")


def zero_byte_files(folder: Path, _outside: Path) -> None:
    for name in ZERO_BYTE:
        (folder / name).write_bytes(b"")


def awkward_names(folder: Path, _outside: Path) -> None:
    for n, name in enumerate(AWKWARD):
        (folder / name).write_text(f"Awkward name, fine otter {n}.\n")


def encrypted(folder: Path, _outside: Path) -> None:
    shutil.copy(DOCS / "encrypted.pdf", folder / "locked.pdf")


def truncated(folder: Path, _outside: Path) -> None:
    data = (DOCS / "manual.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 2])


# name -> (maker, {path: (outcome, reason)}); outcome is added, failed, skipped or absent.
CASES: dict[str, tuple[Maker, dict[str, tuple[str, str]]]] = {
    "truncated-pdf": (
        truncated,
        {"truncated.pdf": ("failed", "not a valid PDF: Stream has ended unexpectedly")},
    ),
    "encrypted-pdf": (encrypted, {"locked.pdf": ("failed", "encrypted PDF (password required)")}),
    # PDFium reads the first page and refuses the cycle: the page it read is indexed.
    "cyclic-page-tree-pdf": (
        write("cyclic.pdf", pdf_bytes.cyclic_page_tree()),
        {"cyclic.pdf": ("added", "")},
    ),
    "self-referencing-catalog-pdf": (
        write("selfref.pdf", pdf_bytes.catalog_is_its_own_page_tree()),
        {"selfref.pdf": ("failed", "no extractable text (scanned PDF without a text layer?)")},
    ),
    "self-drawing-xobject-pdf": (
        write("xobject.pdf", pdf_bytes.form_xobject_that_draws_itself()),
        {"xobject.pdf": ("failed", "no extractable text (scanned PDF without a text layer?)")},
    ),
    "deeply-nested-array-pdf": (
        write("deep-array.pdf", pdf_bytes.deeply_nested_array()),
        {"deep-array.pdf": ("failed", "not a valid PDF: Error reading PDF file.")},
    ),
    # pypdf parses nested dictionaries without recursing: the page's text is still read.
    "deeply-nested-dict-pdf": (
        write("deep-dict.pdf", pdf_bytes.deeply_nested_dict_in_page()),
        {"deep-dict.pdf": ("added", "")},
    ),
    "deeply-nested-json": (
        write("deep.json", b"[" * 100_000 + b"1" + b"]" * 100_000),
        {"deep.json": ("failed", "document nested too deeply")},
    ),
    "deeply-nested-html": (
        write("deep.html", b"<div>" * 100_000 + b"<p>otter</p>" + b"</div>" * 100_000),
        {"deep.html": ("added", "")},
    ),
    "zero-byte-files": (zero_byte_files, {n: ("failed", "empty file") for n in ZERO_BYTE}),
    "binary-named-txt": (
        write("random.txt", random_bytes("hostile", 4096)),
        {"random.txt": ("failed", "binary content, not text")},
    ),
    "elf-named-txt": (
        write("program.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8),
        {"program.txt": ("failed", "binary content, not text")},
    ),
    "mostly-invalid-utf8": (
        write("garbage.md", bytes(range(0x80, 0x100)) * 20),
        {"garbage.md": ("failed", "binary content, not text")},
    ),
    # A few invalid sequences in text: charset-normalizer's best guess decodes it.
    "some-invalid-utf8": (
        write(
            "mixed.txt",
            b"The otter \xff\xfe sleeps \xc3\x28 on the bank by \xed\xa0\x80 the mill.\n",
        ),
        {"mixed.txt": ("added", "")},
    ),
    "symlink-loop": (
        symlink_loop,
        {n: ("skipped", "broken or looping symlink") for n in ("loop-a.txt", "loop-b.txt")},
    ),
    "dangling-symlink": (
        dangling_symlink,
        {"dangling.txt": ("skipped", "broken or looping symlink")},
    ),
    "symlink-outside": (
        symlink_outside,
        {"outside.txt": ("skipped", "symlink pointing outside the documents folder")},
    ),
    # Directory symlinks are never followed (no loop) and, today, not listed as skipped.
    "directory-symlink-loop": (directory_symlink_loop, {"again": ("absent", "")}),
    "fifo": (fifo, {"pipe.txt": ("skipped", "not a regular file")}),
    # Root reads a mode-000 file anyway: as root it is indexed, otherwise it fails.
    "unreadable": (
        unreadable,
        {"locked.txt": ("added", "") if IS_ROOT else ("failed", "permission denied")},
    ),
    "awkward-names": (awkward_names, {n: ("added", "") for n in AWKWARD}),
}


def outcomes(report) -> dict[str, tuple[str, str]]:
    found = {path: ("added", "") for path in report.added}
    found |= {path: ("failed", reason) for path, reason in report.failed}
    found |= {path: ("skipped", reason) for path, reason in report.skipped}
    return found


def check_run(folder: Path, assistant, good_ids: set[str], expected: dict) -> None:
    report = assistant.ingest()
    got = outcomes(report)
    for path, (outcome, reason) in expected.items():
        if outcome == "absent":
            assert path not in got
        else:
            assert got[path] == (outcome, reason), path
    assert report.unchanged == 1 and report.deleted == []
    assert good_ids <= stored_ids(assistant)
    hits = assistant.search("river otter holt mill", k=1, mode="keyword")
    assert [h.file for h in hits] == ["good.md"]
    again = assistant.ingest()  # failures are remembered; nothing is redone or lost
    assert not again.changed and good_ids <= stored_ids(assistant)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_gets_a_reason_and_spares_the_index(case, good_index, tmp_path):
    folder, assistant, good_ids = good_index
    make, expected = CASES[case]
    outside = tmp_path / "outside"
    outside.mkdir()
    make(folder, outside)
    check_run(folder, assistant, good_ids, expected)


def test_all_hostile_files_at_once(good_index, tmp_path):
    folder, assistant, good_ids = good_index
    outside = tmp_path / "outside"
    outside.mkdir()
    expected: dict[str, tuple[str, str]] = {}
    for make, outcome in CASES.values():
        make(folder, outside)
        expected |= outcome
    check_run(folder, assistant, good_ids, expected)
    assert len(expected) == 26  # hostile inputs, one ingest


def test_awkward_names_are_stored_and_found_under_their_exact_path(good_index, tmp_path):
    folder, assistant, _ = good_index
    awkward_names(folder, tmp_path)
    assistant.ingest()
    files = {h.file for h in assistant.search("awkward name fine", k=10, mode="keyword")}
    assert files == set(AWKWARD)
    assert {d.path for d in assistant.documents()} == files | {"good.md"}
