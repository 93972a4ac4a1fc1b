"""A retrieved chunk, and joining neighbouring chunks of one page into one passage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vectorstore.schema import ChunkMetadata

__all__ = ["Passage", "merge_neighbours"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk.

    ``score`` orders the results of one search (cosine similarity for vector
    search, BM25 for keyword search, the fused score for hybrid);
    ``similarity`` is the cosine similarity to the query, the relevance floor's
    measure, whatever the mode.
    """

    id: str
    text: str
    metadata: ChunkMetadata
    score: float
    similarity: float

    @property
    def file(self) -> str:
        """Path of the source file, relative to the documents folder."""
        return self.metadata.get("path", "")

    @property
    def page(self) -> int | None:
        """1-based page number, where the format has pages."""
        page = self.metadata.get("page")
        return int(page) if page is not None else None


def merge_neighbours(passages: Sequence[Passage]) -> list[Passage]:
    """Join passages that are adjacent chunks of one page into one, in rank order.

    Two neighbouring chunks that both score are one stretch of text: shown once, they
    leave a result slot to another page. The joined passage keeps the better rank and
    score, spans both chunks' offsets, and its text is the page's text over that span
    (chunks overlap; the overlap is not repeated). Chunks without offsets stay apart.
    """
    merged: list[Passage] = []
    slot: dict[tuple[str, object, int], int] = {}  # (file, page, chunk) -> index in merged
    for passage in passages:
        meta = passage.metadata
        chunk = meta.get("chunk")
        place = next(
            (
                slot[key]
                for key in ((passage.file, meta.get("page"), c) for c in _neighbours(chunk))
                if key in slot
            ),
            None,
        )
        joined = _join(merged[place], passage) if place is not None else None
        if place is None or joined is None:
            merged.append(passage)
            place = len(merged) - 1
        else:
            merged[place] = joined
        if chunk is not None:
            slot[(passage.file, meta.get("page"), int(chunk))] = place
    return merged


def _neighbours(chunk: object) -> tuple[int, ...]:
    return () if chunk is None else (int(str(chunk)) - 1, int(str(chunk)) + 1)


_MAX_GAP = 2  # characters of whitespace the chunker may leave between two chunks


def _join(kept: Passage, other: Passage) -> Passage | None:
    """``kept`` and ``other`` as one passage, or None if their offsets do not meet."""
    a, b = sorted((kept, other), key=lambda p: int(p.metadata.get("start", 0)))
    a_start, a_end = a.metadata.get("start"), a.metadata.get("end")
    b_start, b_end = b.metadata.get("start"), b.metadata.get("end")
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return None
    if b_start > a_end + _MAX_GAP:
        return None
    if b_start >= a_end:  # whitespace between them, outside both chunks
        text = a.text + "\n" * (b_start - a_end) + b.text
    else:  # they overlap: the overlap once
        text = a.text + b.text[a_end - b_start :]
    metadata = ChunkMetadata(**kept.metadata)
    metadata["start"], metadata["end"] = a_start, max(a_end, b_end)
    metadata["chunk"] = min(int(a.metadata["chunk"]), int(b.metadata["chunk"]))
    similarity = max(kept.similarity, other.similarity)
    return Passage(kept.id, text, metadata, kept.score, similarity)
