"""What one file may expand to: unzipped bytes, compression ratio, pages, characters."""

from __future__ import annotations

import random
import zipfile

import pytest

from ingest.errors import DocumentLoadError
from ingest.loaders import LoadLimits, load_file
from ingest.loaders.archive import check_zip
from ingest.loaders.base import PageBudget
from tests.helpers import bombs
from tests.helpers.data import DOCS

MB = 1 << 20


def zip_of(path, data: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", data)


def test_total_unzipped_size_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.docx"
    zip_of(path, random.Random(1).randbytes(2 * MB))  # incompressible: ratio about 1
    with pytest.raises(DocumentLoadError) as caught:
        check_zip(path, LoadLimits(max_unzipped_bytes=MB))
    assert caught.value.reason == "unzips to 2 MB (limit 1 MB): possible zip bomb"


def test_a_steep_ratio_counts_only_above_the_floor(tmp_path):
    path = tmp_path / "small.docx"
    zip_of(path, b" " * (2 * MB))  # ratio near 1000:1, but small once unzipped
    check_zip(path, LoadLimits(ratio_floor_bytes=4 * MB))
    with pytest.raises(DocumentLoadError, match=r"compression ratio [\d,]+:1 \(limit 100:1\)"):
        check_zip(path, LoadLimits(ratio_floor_bytes=MB))


def test_a_file_that_is_not_a_zip_is_left_to_its_parser(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"not a zip")
    check_zip(path)  # no error here: python-docx says what is wrong with it
    with pytest.raises(DocumentLoadError, match="not a valid DOCX"):
        load_file(path)


def test_budget_counts_pages_and_characters():
    budget = PageBudget(DOCS / "x.pdf", LoadLimits(max_pages=2, max_chars=10))
    budget.add("12345")
    budget.add_text("1234")
    with pytest.raises(DocumentLoadError, match=r"too much text \(over 10 characters\)"):
        budget.add("xy")
    pages = PageBudget(DOCS / "x.pdf", LoadLimits(max_pages=1))
    pages.add("")
    with pytest.raises(DocumentLoadError, match=r"too many pages \(over 1\)"):
        pages.add("")


def test_load_file_applies_its_limits_to_a_pdf(tmp_path):
    path = tmp_path / "pages.pdf"
    path.write_bytes(bombs.pdf_pages_sharing_one_stream(5, text_kb=1))
    assert len(load_file(path)) == 5
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path, LoadLimits(max_pages=3))
    assert caught.value.reason == "too many pages (over 3)"


def test_a_text_file_is_bounded_by_its_size_not_the_character_cap(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("otter " * 100)
    assert len(load_file(path, LoadLimits(max_chars=10))[0].text) == 599
