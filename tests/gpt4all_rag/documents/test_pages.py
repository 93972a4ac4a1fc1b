"""The cited page: PDF pages rendered in a child process with the passage marked, the
page cache bounded in bytes, a passage's context from the index, and ``gpt4all-rag show``.

Real PDFs from tests/data (manual.pdf: three A4 pages, one sentence per line), real
PDFium in the real child process, a real Chroma for the context.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from gpt4all_rag.answer import Source
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.documents.pages.cache import PageCache
from gpt4all_rag.documents.pages.locate import Box, Word, locate_passage
from gpt4all_rag.documents.pages.render import PageRenderer, PageUnavailable, RenderLimits
from ingest.loaders import load_file
from tests.helpers.data import DOCS

MANUAL = DOCS / "manual.pdf"
SENTENCE = "The Zorblax reactor operates at a core temperature of 451 kelvin."
# A4 (595.28 x 841.89 points) at 100 dpi.
A4_PIXELS = (827, 1170)
YELLOWISH = (255, 213, 0)


@pytest.fixture
def renderer(tmp_path: Path) -> PageRenderer:
    return PageRenderer(cache=PageCache(tmp_path / "pages", 16 << 20))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def word_box(words: tuple[Word, ...], text: str, nth: int = 0) -> Box:
    return [w.box for w in words if w.text == text][nth]


def test_a_pdf_page_renders_to_a_png_with_its_words_boxed(renderer: PageRenderer) -> None:
    image = renderer.render(MANUAL, 2)

    assert (image.width, image.height) == A4_PIXELS
    assert png_size(image.png) == A4_PIXELS
    assert image.page_count == 3
    assert [w.text for w in image.words[:5]] == [
        "Operating",
        "Conditions",
        "The",
        "Zorblax",
        "reactor",
    ]
    title, first = word_box(image.words, "Operating"), word_box(image.words, "Zorblax")
    assert title.bottom <= first.top  # the title is above the first sentence
    assert 0 < first.left < first.right < image.width


def test_the_passage_box_covers_its_words_and_nothing_else(renderer: PageRenderer) -> None:
    view = renderer.view(MANUAL, 2, SENTENCE)
    words = renderer.render(MANUAL, 2).words

    assert len(view.boxes) == 1
    (box,) = view.boxes
    for text in ("Zorblax", "451", "kelvin."):
        assert box.overlaps(word_box(words, text))
    for text in ("Operating", "coolant", "Operators"):
        assert not box.overlaps(word_box(words, text))
    with Image.open(io.BytesIO(view.png)) as marked:
        inside = marked.getpixel(((box.left + box.right) // 2, box.top + 1))
        outside = marked.getpixel((box.left, box.bottom + 40))
    assert inside[2] < 200 and inside[0] > 200  # tinted yellow
    assert outside[:3] == (255, 255, 255)


def test_a_passage_over_several_lines_gets_one_box_per_line(renderer: PageRenderer) -> None:
    text = load_file(MANUAL)[1].text  # the page as the indexer reads it (pypdf)
    passage = text.split("\n", 1)[1]  # the three sentences, not the title

    view = renderer.view(MANUAL, 2, passage)

    assert len(view.boxes) == 3
    assert [b.top < c.top for b, c in zip(view.boxes, view.boxes[1:], strict=False)] == [True, True]


def test_a_passage_that_is_not_on_the_page_marks_nothing(renderer: PageRenderer) -> None:
    view = renderer.view(MANUAL, 1, SENTENCE)

    assert view.boxes == ()
    assert view.png == renderer.render(MANUAL, 1).png


def test_locate_passage_aligns_words_cut_differently() -> None:
    # pypdf kept "tempera-ture" hyphenated; PDFium's words split it and glued a comma.
    words = tuple(
        Word(text, Box(10 * i, 0 if i < 3 else 20, 10 * i + 8, 10 if i < 3 else 30))
        for i, text in enumerate(["Intro", "the", "tempera-", "ture,", "is", "high"])
    )

    boxes = locate_passage(words, "the temperature is high")

    assert boxes == [Box(10, 0, 28, 10), Box(30, 20, 58, 30)]


def test_pages_that_cannot_be_shown_say_why(renderer: PageRenderer) -> None:
    with pytest.raises(PageUnavailable, match=r"no page 9 \(the PDF has 3\)"):
        renderer.render(MANUAL, 9)
    with pytest.raises(PageUnavailable, match="not a valid PDF"):
        renderer.render(DOCS / "corrupt.pdf", 1)
    with pytest.raises(PageUnavailable, match="only PDF pages can be rendered"):
        renderer.render(DOCS / "notes.md", 1)


def test_a_page_too_large_is_scaled_to_the_pixel_bound(tmp_path: Path) -> None:
    small = PageRenderer(RenderLimits(dpi=300, max_pixels=100_000))

    image = small.render(MANUAL, 1)

    assert image.width * image.height <= 100_000
    assert image.width == pytest.approx(image.height * 595.28 / 841.89, abs=1)


def test_a_cached_page_is_served_without_rendering_again(
    renderer: PageRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = renderer.render(MANUAL, 3)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # no child can start now

    again = renderer.render(MANUAL, 3)

    assert again == first
    with pytest.raises(PageUnavailable):
        renderer.render(MANUAL, 2)  # not cached: needs the child


def test_a_changed_file_is_rendered_again(tmp_path: Path, renderer: PageRenderer) -> None:
    copy = tmp_path / "manual.pdf"
    shutil.copy(MANUAL, copy)
    renderer.render(copy, 1)
    assert renderer.cache is not None
    os.utime(copy, ns=(1, 1))

    renderer.render(copy, 1)

    assert len(list(renderer.cache.folder.glob("*.png"))) == 2


def fill(cache: PageCache, *keys: str, size: int = 1000) -> None:
    """Entries of ``size`` PNG bytes (plus their JSON), used in the order given."""
    for used, key in enumerate(keys, start=1):
        cache.store(key, b"p" * size, {"words": []})
        for path in cache.folder.glob(f"{key}.*"):
            os.utime(path, (used, used))


def test_the_cache_evicts_the_least_recently_used_past_its_bound(tmp_path: Path) -> None:
    cache = PageCache(tmp_path / "pages", max_bytes=100_000)
    fill(cache, "a", "b", "c")
    entry = cache.total_bytes() // 3
    assert cache.load("a") is not None  # "a" is now the most recently used
    cache.max_bytes = 2 * entry

    assert cache.evict() == ["b"]
    assert cache.load("b") is None
    assert cache.load("a") == (b"p" * 1000, {"words": []})
    assert cache.total_bytes() <= cache.max_bytes


def test_storing_past_the_bound_evicts_before_returning(tmp_path: Path) -> None:
    cache = PageCache(tmp_path / "pages", max_bytes=2_500)
    fill(cache, "a", "b", "c")

    assert sorted(p.stem for p in cache.folder.glob("*.png")) == ["b", "c"]
    assert cache.total_bytes() <= 2_500


def test_a_zero_bound_keeps_nothing(tmp_path: Path) -> None:
    cache = PageCache(tmp_path / "pages", max_bytes=0)
    cache.store("a", b"png", {"words": []})

    assert cache.load("a") is None
    assert not cache.folder.exists()


# --- context of passages in files without pages to show --------------------------------------

LINES = [f"Line {n}: the lighthouse keeper logs ship number {n} at dusk." for n in range(1, 61)]


@pytest.fixture
def indexed_text(
    tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> DocumentAssistant:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "log.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    assistant = make_assistant(docs)
    assistant.ingest()
    return assistant


def chunk_source(assistant: DocumentAssistant, file: str, n: int) -> Source:
    """The n-th chunk of an indexed file, as a search would return it."""
    (record,) = assistant.store.get([assistant.manifest.chunk_ids(file)[n]])
    meta = record.metadata
    return Source(
        1, file, meta.get("page"), record.text, 1.0, 1.0, record.id, meta["start"], meta["end"]
    )


def plain(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("file", ["log.txt", "notes.md"])
def test_a_passage_in_context_has_the_text_before_and_after(
    indexed_text: DocumentAssistant, file: str
) -> None:
    text = load_file(indexed_text.settings.documents_dir / file)[0].text
    assert len(indexed_text.manifest.chunk_ids(file)) >= 3
    source = chunk_source(indexed_text, file, 1)
    assert source.start is not None and source.end is not None

    context = indexed_text.passage_context(source, chars=10_000)

    assert context.text == source.text
    assert context.before.strip() and context.after.strip()
    assert text[: source.start].endswith(context.before)
    assert text[source.end :].startswith(context.after)
    assert plain(text).startswith(plain(context.before + context.text))


def test_context_is_cut_at_words_and_empty_at_the_edges(indexed_text: DocumentAssistant) -> None:
    first = chunk_source(indexed_text, "log.txt", 0)
    last = chunk_source(indexed_text, "log.txt", -1)

    opening, closing = (indexed_text.passage_context(s, chars=80) for s in (first, last))

    assert opening.before == "" and closing.after == ""
    assert opening.after.endswith("…") and len(opening.after) <= 81
    assert closing.before.startswith("…") and len(closing.before) <= 81
    assert "\n".join(LINES).startswith(first.text + opening.after[:-1])


# --- the command line -------------------------------------------------------------------------


def test_show_prints_a_page_and_saves_its_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "page.png"

    code = main(["show", str(MANUAL), "--page", "2", "--png", str(out)])

    printed = capsys.readouterr().out
    assert code == 0
    assert printed.splitlines()[:2] == ["Operating Conditions", SENTENCE]
    assert png_size(out.read_bytes()) == A4_PIXELS


def test_show_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(MANUAL), "--page", "3", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["page"], shown["text"].splitlines()[0]) == (3, "Maintenance")

    assert main(["show", str(MANUAL), "--page", "4"]) == 2
    assert capsys.readouterr().err.strip().endswith("no page 4 (the PDF has 3)")
    assert main(["show", str(DOCS / "notes.md"), "--png", str(tmp_path / "x.png")]) == 2
    assert "only PDF pages can be rendered" in capsys.readouterr().err


def test_show_prints_a_text_file_and_a_slide(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(DOCS / "slides.pptx"), "--page", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "The Heron launch date is 14 March."

    assert main(["show", str(DOCS / "notes.md")]) == 0
    assert capsys.readouterr().out.startswith("# Notes on Keeping Bees\n")
