"""Section headings: read from each format, placed in the text, carried by every chunk."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from gpt4all_rag.settings import bundled_embedding_model
from ingest.chunking import Chunk, TokenChunker
from ingest.loaders import Heading, Page, load_file
from tests.helpers.data import DOCS
from vectorstore.schema import indexed_text


@pytest.fixture(scope="module")
def chunker() -> TokenChunker:
    return TokenChunker(bundled_embedding_model() / "tokenizer.json", 60, 8)


def headings_by_page(chunks: list[Chunk]) -> dict[int | None, set[str]]:
    found: dict[int | None, set[str]] = {}
    for chunk in chunks:
        found.setdefault(chunk.page, set()).add(chunk.heading)
    return found


def outlined_manual(tmp_path: Path) -> Path:
    """tests/data's manual with bookmarks: a chapter and two sections under it."""
    writer = PdfWriter(clone_from=PdfReader(DOCS / "manual.pdf"))
    writer.add_metadata({"/Title": "Zorblax Reactor Manual"})
    top = writer.add_outline_item(title="Zorblax Reactor Manual", page_number=0)
    writer.add_outline_item(title="Operating Conditions", page_number=1, parent=top)
    writer.add_outline_item(title="Maintenance", page_number=2, parent=top)
    path = tmp_path / "outlined.pdf"
    writer.write(path)
    return path


def test_pdf_outline_entries_become_the_headings_of_their_pages(tmp_path, chunker):
    pages = load_file(outlined_manual(tmp_path))
    assert pages[1].headings == (Heading(2, "Operating Conditions"),)
    assert {p.title for p in pages} == {"Zorblax Reactor Manual"}
    chunks = chunker.split(pages)
    assert headings_by_page(chunks) == {
        1: {"Zorblax Reactor Manual"},
        2: {"Zorblax Reactor Manual › Operating Conditions"},
        3: {"Zorblax Reactor Manual › Maintenance"},
    }
    assert all(c.title == "Zorblax Reactor Manual" for c in chunks)


def test_a_pdf_without_outline_has_no_headings(chunker):
    chunks = chunker.split(load_file(DOCS / "manual.pdf"))
    assert {c.heading for c in chunks} == {""}


def test_markdown_headings_outside_code_blocks(tmp_path, chunker):
    text = (
        "# Guide\nIntro words here.\n\n## Install\nRun the installer.\n\n"
        "```\n# not a heading\n```\n\n### On Linux\nUse apt.\n"
    )
    path = tmp_path / "guide.md"
    path.write_text(text, encoding="utf-8")
    pages = load_file(path)
    assert [h.title for h in pages[0].headings] == ["Guide", "Install", "On Linux"]
    by_text = {c.text.splitlines()[0]: c.heading for c in chunker.split(pages)}
    assert by_text["# Guide"] == "Guide"
    assert by_text["## Install"] == "Guide › Install"
    assert by_text["### On Linux"] == "Guide › Install › On Linux"


def test_html_headings_and_title(tmp_path, chunker):
    html = (
        "<html><head><title>Bee notes</title></head><body><h1>The Colony</h1><p>Workers, "
        "drones and a queen.</p><h2>The <b>Queen</b></h2><p>She lays eggs.</p></body></html>"
    )
    path = tmp_path / "bees.html"
    path.write_text(html, encoding="utf-8")
    page = load_file(path)[0]
    assert page.title == "Bee notes"
    assert page.headings == (Heading(1, "The Colony"), Heading(2, "The Queen"))
    chunks = chunker.split([page])
    queen = next(c for c in chunks if "lays eggs" in c.text)
    assert queen.heading == "The Colony › The Queen"


def test_docx_heading_styles_and_title(tmp_path, chunker):
    document = docx.Document()
    document.core_properties.title = "Reactor handbook"
    document.add_heading("Safety", 1)
    document.add_paragraph("Wear gloves in the reactor hall.")
    document.add_heading("Fire", 2)
    document.add_paragraph("Call the fire brigade on 112.")
    document.add_heading("Cleaning", 1)
    document.add_paragraph("Mop the floor every Friday.")
    path = tmp_path / "handbook.docx"
    document.save(path)
    page = load_file(path)[0]
    assert page.title == "Reactor handbook"
    chunks = chunker.split([page])
    heading_of = {line: c.heading for c in chunks for line in c.text.splitlines()}
    assert heading_of["Call the fire brigade on 112."] == "Safety › Fire"
    assert heading_of["Mop the floor every Friday."] == "Cleaning"


def test_no_chunk_runs_across_a_heading_and_offsets_stay_right(chunker):
    body = "Otters swim in cold rivers and eat fish and crabs all day long. " * 6
    text = f"Rivers\n{body}\nMountains\n{body.replace('Otters', 'Goats')}"
    page = Page(text, 4, headings=(Heading(1, "Rivers"), Heading(1, "Mountains")))
    chunks = chunker.split([page])
    assert len(chunks) > 2
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert not ("Otters" in chunk.text and "Goats" in chunk.text)
        before = chunk.end <= text.index("Mountains")
        assert chunk.heading == ("Rivers" if before else "Mountains")


def test_a_heading_title_in_running_text_is_not_taken_for_the_heading(chunker):
    text = (
        "Use NextMethod to dispatch onwards.\nMore words about methods here and there.\n"
        "5.5 NextMethod\nNextMethod calls the next method."
    )
    page = Page(text, 1, headings=(Heading(2, "NextMethod"),))
    chunks = TokenChunker(chunker.tokenizer_file, 12, 0).split([page])
    first = next(c for c in chunks if c.text.startswith("Use NextMethod"))
    last = next(c for c in chunks if "calls the next" in c.text)
    assert (first.heading, last.heading) == ("", "NextMethod")


def test_the_heading_trail_is_what_gets_embedded_not_what_is_stored():
    meta = {"path": "a.pdf", "title": "R Internals", "heading": "1 Objects › 1.1 SEXPs"}
    assert indexed_text("The body.", meta) == "R Internals\n1 Objects › 1.1 SEXPs\nThe body."
    assert indexed_text("The body.", {"path": "a.txt"}) == "The body."
