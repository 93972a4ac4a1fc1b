"""TokenChunker with the bundled MiniLM tokenizer (only its tokenizer.json: no model runs)."""

from __future__ import annotations

import pytest

from gpt4all_rag.settings import bundled_embedding_model
from ingest.chunking import TokenChunker, chunk_id_for
from ingest.loaders import Page

SENTENCES = [f"Sentence number {n} tells of otters, rivers and stones. " for n in range(60)]
TEXT = "".join(SENTENCES)


@pytest.fixture(scope="module")
def chunker() -> TokenChunker:
    return TokenChunker(bundled_embedding_model() / "tokenizer.json", 40, 8)


def test_every_chunk_fits_the_token_budget_and_is_its_page_slice(chunker):
    chunks = chunker.split([Page(TEXT, 3)])
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunker.count_tokens(chunk.text) <= 40
        assert TEXT[chunk.start : chunk.end] == chunk.text
        assert chunk.page == 3
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunks_cover_the_text_leaving_out_only_whitespace(chunker):
    chunks = chunker.split([Page(TEXT, None)])
    assert chunks[0].start == 0 and chunks[-1].end == len(TEXT.rstrip())
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start > before.start
        assert TEXT[before.end : after.start].strip() == ""


def test_a_run_of_words_is_split_with_the_overlap_repeated(chunker):
    words = " ".join(f"w{n}" for n in range(200))
    chunks = chunker.split([Page(words, None)])
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end  # the next chunk starts inside the previous one
        shared = words[after.start : before.end]
        assert 0 < chunker.count_tokens(shared) <= 8


def test_pages_are_split_on_their_own_and_indices_run_across_them(chunker):
    chunks = chunker.split([Page("Short first page.", 1), Page("Second page here.", 2)])
    assert [(c.text, c.page, c.index) for c in chunks] == [
        ("Short first page.", 1, 0),
        ("Second page here.", 2, 1),
    ]


def test_a_streamed_segment_offsets_its_chunks_in_the_whole_text(chunker):
    chunks = list(chunker.iter_chunks([Page("Later segment.", None, offset=1000)]))
    assert [(c.start, c.end) for c in chunks] == [(1000, 1014)]


def test_count_tokens_excludes_the_special_markers(chunker):
    assert chunker.count_tokens("the river the stone") == 4
    assert chunker.count_tokens("") == 0


def test_chunk_ids_are_deterministic_and_differ_by_path_content_and_position():
    base = chunk_id_for("a.md", "h1", 0)
    assert base == chunk_id_for("a.md", "h1", 0) and len(base) == 40
    others = {
        chunk_id_for("b.md", "h1", 0),
        chunk_id_for("a.md", "h2", 0),
        chunk_id_for("a.md", "h1", 1),
    }
    assert len(others | {base}) == 4
