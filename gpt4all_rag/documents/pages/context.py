"""The passage in context, for files without pages to show: the text before and after it.

The text comes from the passage's neighbouring chunks in the index; the file is not
read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt4all_rag.answer import Source
    from ingest.manifest import Manifest
    from vectorstore.chroma import ChromaStore

__all__ = ["PassageContext", "passage_context"]


@dataclass(frozen=True)
class PassageContext:
    """A passage with the text around it in its document (empty where there is none)."""

    before: str
    text: str
    after: str


def passage_context(
    manifest: Manifest, store: ChromaStore, source: Source, chars: int = 600
) -> PassageContext:
    """The text before and after a source's passage, from its neighbouring chunks.

    The manifest lists a file's chunk ids in order, so the neighbours are one lookup
    away and the file is not read again. Where chunks overlap, only the part of a
    neighbour outside the passage is kept; where the splitter cut between them, the
    separators it dropped show as line ends. Up to ``chars`` characters each side,
    cut at a space. A neighbour on another page (a slide) is not context.
    """
    ids = manifest.chunk_ids(source.file)
    if source.chunk_id not in ids:
        return PassageContext("", source.text, "")
    n = ids.index(source.chunk_id)
    wanted = [ids[i] for i in (n - 1, n + 1) if 0 <= i < len(ids)]
    records = {r.id: r for r in store.get(wanted)}
    before = records.get(ids[n - 1]) if n > 0 else None
    after = records.get(ids[n + 1]) if n + 1 < len(ids) else None
    return PassageContext(
        _head_cut(_before_text(before, source), chars),
        source.text,
        _tail_cut(_after_text(after, source), chars),
    )


def _neighbour_fields(record: Any, source: Source) -> tuple[str, int, int] | None:
    if record is None:
        return None
    meta = record.metadata
    if meta.get("page") != source.page:
        return None
    return record.text, int(meta.get("start", -1)), int(meta.get("end", -1))


def _before_text(record: Any, source: Source) -> str:
    fields = _neighbour_fields(record, source)
    if fields is None:
        return ""
    text, start, end = fields
    if source.start is None or start < 0:
        return text
    if start <= source.start < end:  # overlapping chunks: the part before the passage
        return text[: source.start - start]
    return text + _gap(source.start - end)


def _after_text(record: Any, source: Source) -> str:
    fields = _neighbour_fields(record, source)
    if fields is None:
        return ""
    text, start, end = fields
    if source.end is None or start < 0:
        return text
    if start < source.end <= end:
        return text[source.end - start :]
    return _gap(start - source.end) + text


def _gap(chars: int) -> str:
    """What stood between two chunks that do not overlap, shown as line ends.

    The splitter drops the separators it cut at (a paragraph break at most).
    """
    return "\n" * max(0, min(chars, 2))


def _head_cut(text: str, chars: int) -> str:
    """The last ``chars`` characters of ``text``, starting at a word."""
    if len(text) <= chars:
        return text
    tail = text[-chars:]
    space = tail.find(" ")
    return "…" + (tail[space + 1 :] if 0 <= space < chars // 2 else tail)


def _tail_cut(text: str, chars: int) -> str:
    """The first ``chars`` characters of ``text``, ending at a word."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    space = head.rfind(" ")
    return (head[:space] if space > chars // 2 else head) + "…"
