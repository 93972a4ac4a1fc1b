"""Decompression bombs and runaway documents cost one failed file, never the ingest.

Each case is built by the test. The parser runs in a worker process with a memory limit
and a timeout (``ingest.loaders.isolated``); zip-based files are checked before they are
inflated; pages and characters per file are capped. Each case gets its exact reason, the
index built before stays intact, and the next sync does not parse the file again.
"""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from ingest.loaders import LoadLimits
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from tests.helpers import bombs
from tests.helpers.index_files import stored_ids

MB = 1 << 20


class CountingLoader:
    """The real isolated loader, counting the files it is asked to parse."""

    def __init__(self, limits: ParseLimits) -> None:
        self.loader = IsolatedLoader(limits)
        self.paths: list[str] = []

    def __call__(self, path: Path):
        self.paths.append(Path(path).name)
        return self.loader(path)


def use_loader(assistant, limits: ParseLimits) -> CountingLoader:
    counting = CountingLoader(limits)
    assistant.indexer.preparer.load = counting
    return counting


def check_failed_and_intact(folder, assistant, good_ids, name: str, reason: str, loader) -> None:
    report = assistant.ingest()
    assert report.failed == [(name, reason)]
    assert report.unchanged == 1 and report.deleted == [] and report.added == []
    assert good_ids == stored_ids(assistant)
    hits = assistant.search("river otter holt mill", k=1, mode="keyword")
    assert [h.file for h in hits] == ["good.md"]
    parsed = len(loader.paths)
    again = assistant.ingest()  # remembered: not parsed again until it changes
    assert again.failed == [(name, reason)] and not again.changed
    assert len(loader.paths) == parsed


@pytest.mark.parametrize(
    "sample, target, member",
    [
        ("report.docx", "bomb.docx", "word/document.xml"),
        ("slides.pptx", "bomb.pptx", "ppt/slides/slide1.xml"),
        ("book.epub", "bomb.epub", None),
    ],
)
def test_zip_bomb_is_refused_before_it_is_inflated(good_index, sample, target, member):
    folder, assistant, good_ids = good_index
    bombs.zip_bomb(bombs.sample(sample), folder / target, member, padding_mb=64)
    total, ratio = bombs.unzipped_ratio(folder / target)
    assert total > 64 * MB and (folder / target).stat().st_size < MB
    loader = use_loader(assistant, ParseLimits())
    reason = f"compression ratio {ratio:,.0f}:1 (limit 100:1): possible zip bomb"
    check_failed_and_intact(folder, assistant, good_ids, target, reason, loader)
    assert loader.loader.peak_rss_mb < 400, loader.loader.peak_rss_mb


def test_pdf_whose_pages_share_one_huge_stream_stops_at_the_text_cap(good_index):
    folder, assistant, good_ids = good_index
    (folder / "shared.pdf").write_bytes(bombs.pdf_pages_sharing_one_stream(2000, text_kb=20))
    limits = ParseLimits(load=LoadLimits(max_chars=200_000))  # 2000 pages: 40 MB of text
    loader = use_loader(assistant, limits)
    reason = "too much text (over 200,000 characters)"
    check_failed_and_intact(folder, assistant, good_ids, "shared.pdf", reason, loader)


def test_pdf_with_too_many_pages_stops_at_the_page_cap(good_index):
    folder, assistant, good_ids = good_index
    (folder / "pages.pdf").write_bytes(bombs.pdf_pages_sharing_one_stream(300, text_kb=1))
    loader = use_loader(assistant, ParseLimits(load=LoadLimits(max_pages=200)))
    reason = "too many pages (over 200)"
    check_failed_and_intact(folder, assistant, good_ids, "pages.pdf", reason, loader)


def test_json_whose_key_repeats_on_every_line_stops_at_the_text_cap(good_index):
    folder, assistant, good_ids = good_index
    bombs.json_with_a_huge_key(folder / "keys.json", key_mb=1, values=2000)  # 1 MB -> 2 GB
    loader = use_loader(assistant, ParseLimits())
    reason = "too much text (over 64,000,000 characters)"
    check_failed_and_intact(folder, assistant, good_ids, "keys.json", reason, loader)
    assert loader.loader.peak_rss_mb < 400, loader.loader.peak_rss_mb


def test_a_parse_that_runs_out_of_memory_is_a_failure_not_a_crash(good_index):
    folder, assistant, good_ids = good_index
    bombs.json_with_a_huge_key(folder / "keys.json", key_mb=1, values=2000)
    no_text_cap = LoadLimits(max_chars=10**12)  # so that the memory limit is what stops it
    loader = use_loader(assistant, ParseLimits(memory_bytes=512 * MB, load=no_text_cap))
    reason = "out of memory while parsing (limit 512 MB)"
    peak_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    check_failed_and_intact(folder, assistant, good_ids, "keys.json", reason, loader)
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The explosion happened elsewhere: this process's high-water mark (which earlier
    # tests in the same run may have set) did not climb by the worker's 512 MB.
    assert parent_peak_mb - peak_before_mb < 256, (peak_before_mb, parent_peak_mb)


def test_a_parse_that_takes_too_long_is_a_failure_with_its_reason(good_index):
    folder, assistant, good_ids = good_index
    (folder / "slow.pdf").write_bytes(bombs.pdf_pages_sharing_one_stream(2000, text_kb=100))
    loader = use_loader(assistant, ParseLimits(timeout_s=0.5))
    reason = "parsing timed out after 0.5 s"
    check_failed_and_intact(folder, assistant, good_ids, "slow.pdf", reason, loader)


def test_zip_member_that_lies_about_its_size_is_refused_before_it_is_inflated(good_index):
    """A member declaring its real XML and holding 256 MB more: ``zipfile`` would inflate
    all of it, then keep the declared part, and the file was indexed as if nothing were
    wrong. It is refused, and the worker's memory stays that of reading a docx."""
    folder, assistant, good_ids = good_index
    declared = bombs.lying_zip(
        bombs.sample("report.docx"), folder / "liar.docx", "word/document.xml", padding_mb=256
    )
    assert (folder / "liar.docx").stat().st_size < MB
    loader = use_loader(assistant, ParseLimits())
    reason = (
        f"zip member 'word/document.xml' inflates past its declared size ({declared:,} bytes): "
        "possible zip bomb"
    )
    check_failed_and_intact(folder, assistant, good_ids, "liar.docx", reason, loader)
    assert loader.loader.peak_rss_mb < 200, loader.loader.peak_rss_mb
