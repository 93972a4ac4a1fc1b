"""Zip members are inflated in bounded pieces, and a member that lies about its size is refused.

``zipfile`` cuts a member at its declared size only after inflating it whole (up to
2 GiB a read), so a docx whose document part declares 3 kB and holds 64 MB of spaces
cost 64 MB before the cut, and was then indexed as if nothing had happened. The
builder (``bombs.lying_zip``) keeps the CRC of the declared bytes, so ``zipfile``
itself reads the member without complaint.
"""

from __future__ import annotations

import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ingest.errors import DocumentLoadError
from ingest.loaders import load_file
from ingest.loaders.archive import PIECE_BYTES, MemberOverrun, check_zip, read_member
from tests.helpers import bombs
from tests.helpers.data import DOCS

MB = 1 << 20
T = TypeVar("T")


def peak_mb(call: Callable[[], T]) -> tuple[T | BaseException, float]:
    """What ``call`` returns (or raises), and the peak of Python allocations meanwhile, in MB."""
    tracemalloc.start()
    try:
        outcome: T | BaseException = call()
    except Exception as exc:  # noqa: BLE001 - the caller asserts on it
        outcome = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    return outcome, peak


@pytest.fixture
def lying_docx(tmp_path: Path) -> tuple[Path, int]:
    """report.docx whose document part declares its real size and holds 64 MB more."""
    path = tmp_path / "liar.docx"
    declared = bombs.lying_zip(DOCS / "report.docx", path, "word/document.xml", padding_mb=64)
    return path, declared


def test_the_lying_member_fools_zipfile(lying_docx: tuple[Path, int]) -> None:
    path, declared = lying_docx
    with zipfile.ZipFile(path) as archive:
        data, peak = peak_mb(lambda: archive.read("word/document.xml"))
    assert isinstance(data, bytes) and len(data) == declared  # no error: the CRC matches
    assert peak > 64  # ...after inflating all 64 MB
    assert path.stat().st_size < MB


def test_read_member_stops_one_piece_past_the_declared_size(
    lying_docx: tuple[Path, int],
) -> None:
    path, declared = lying_docx
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("word/document.xml")
    pieces: list[int] = []

    def read_all() -> None:
        with path.open("rb") as handle:
            pieces.extend(len(piece) for piece in read_member(handle, info, declared))

    outcome, peak = peak_mb(read_all)

    assert isinstance(outcome, MemberOverrun)  # refused, not truncated
    assert sum(pieces) <= declared and max(pieces, default=0) <= PIECE_BYTES
    assert peak < 4 * PIECE_BYTES / MB, peak


def test_a_lying_member_is_refused_without_inflating_it(lying_docx: tuple[Path, int]) -> None:
    path, declared = lying_docx
    load_file(DOCS / "report.docx")  # python-docx's import is not part of what is measured

    outcome, peak = peak_mb(lambda: load_file(path))

    assert isinstance(outcome, DocumentLoadError)
    assert outcome.reason == (
        f"zip member 'word/document.xml' inflates past its declared size ({declared:,} bytes): "
        "possible zip bomb"
    )
    assert peak < 8, peak


def test_honest_members_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "spaces.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w/>" + b" " * (3 * MB))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("word/document.xml")

    with path.open("rb") as handle:
        pieces = list(read_member(handle, info, info.file_size))

    assert b"".join(pieces) == b"<w/>" + b" " * (3 * MB)
    assert [len(p) for p in pieces] == [PIECE_BYTES] * 3 + [4]
    check_zip(path)  # no error


def test_a_member_compressed_another_way_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bzip.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("word/document.xml", b"<w/>")

    with pytest.raises(DocumentLoadError) as caught:
        check_zip(path)

    assert caught.value.reason == (
        "zip member 'word/document.xml' uses compression method 12, which this format "
        "does not allow"
    )


def test_a_damaged_member_is_left_to_its_parser(tmp_path: Path) -> None:
    path = tmp_path / "damaged.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w/>" * 1000)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        start = archive.getinfo("word/document.xml").header_offset + 30 + len("word/document.xml")
    raw[start : start + 8] = b"\xff" * 8  # an invalid deflate block
    path.write_bytes(bytes(raw))

    check_zip(path)  # not a size problem
    with pytest.raises(DocumentLoadError, match="not a valid DOCX"):
        load_file(path)


@pytest.mark.parametrize("name", ["report.docx", "slides.pptx", "book.epub"])
def test_every_sample_passes_the_member_check(name: str) -> None:
    check_zip(DOCS / name)
    assert load_file(DOCS / name)
