"""Adjacent chunks of one page become one passage, with the page's offsets and text."""

from __future__ import annotations

from vectorstore.passage import Passage, merge_neighbours
from vectorstore.schema import ChunkMetadata, path_fields

PAGE = "Alpha beta gamma delta. Epsilon zeta eta theta. Iota kappa lambda mu."


def chunk(
    n: int, start: int, end: int, score: float, path: str = "a.pdf", page: int = 3
) -> Passage:
    meta = ChunkMetadata(**path_fields(path), hash="h", chunk=n, start=start, end=end, page=page)
    return Passage(f"{path}-{page}-{n}", PAGE[start:end], meta, score, score / 2)


def test_overlapping_neighbours_join_once_with_the_page_text():
    first, second = chunk(0, 0, 30, 0.9), chunk(1, 24, 48, 0.8)  # "Epsilon" is in both
    other = chunk(5, 0, 10, 0.7, path="b.pdf")
    merged = merge_neighbours([second, other, first])
    assert [p.id for p in merged] == [second.id, other.id]  # the better rank stays first
    joined = merged[0]
    start, end = joined.metadata["start"], joined.metadata["end"]
    assert (start, end) == (0, 48)
    assert joined.text == PAGE[start:end]
    assert joined.metadata["chunk"] == 0 and joined.page == 3
    assert joined.score == second.score and joined.similarity == first.similarity


def test_a_chain_of_three_becomes_one_and_whitespace_between_is_kept():
    a, b, c = chunk(0, 0, 23, 0.5), chunk(1, 24, 47, 0.9), chunk(2, 48, len(PAGE), 0.7)
    merged = merge_neighbours([b, c, a])
    assert len(merged) == 1
    assert merged[0].metadata["end"] == len(PAGE) == len(merged[0].text)
    assert merged[0].text.split() == PAGE.split()  # the whitespace between is a line break


def test_chunks_of_other_pages_or_far_apart_stay_apart():
    same_index_other_page = chunk(1, 24, 48, 0.8, page=4)
    far = chunk(7, 49, len(PAGE), 0.6)
    passages = [chunk(0, 0, 30, 0.9), same_index_other_page, far]
    assert merge_neighbours(passages) == passages
