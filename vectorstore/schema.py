"""The chunk record that crosses from ``ingest/`` to ``vectorstore/``, and the search modes.

One typed definition of what a stored chunk carries, so that the pipeline that
writes it, the store, the keyword index and the retriever that read it, and the
answer that cites it agree by construction. ``ingest/`` imports this module
(ingest -> vectorstore is an allowed direction); nothing here imports upward.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypedDict, get_args

__all__ = [
    "BM25_B",
    "BM25_K1",
    "EmbeddingPrecision",
    "SearchMode",
    "SEARCH_MODES",
    "PathFields",
    "ChunkMetadata",
    "ChunkRecord",
    "indexed_text",
    "model_folder_name",
    "path_fields",
]

SearchMode = Literal["vector", "keyword", "hybrid"]
"""How a search ranks chunks: by vectors, by BM25 keywords, or both fused."""

SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
"""Every search mode, in the order a menu shows them."""

# BM25's term-frequency saturation and length normalisation: Anserini's defaults (the
# BM25 of the BEIR benchmark) rather than bm25s's 1.5 and 0.75. On the dev sets, fused
# with the vectors: SciFact nDCG@10 .7289 -> .7325, R-manual page R@5 .947 -> .965
# (docs/benchmarks.md, "Speed and retrieval, session 5"). Here, not in keyword.py, so
# that the settings can name them without importing numpy.
BM25_K1 = 0.9
BM25_B = 0.4

EmbeddingPrecision = Literal["auto", "float32", "bfloat16"]
"""The matrix products of batched document embedding; auto asks the CPU."""


class PathFields(TypedDict):
    """The metadata that follows a file's path (and changes when the file moves)."""

    path: str  # relative to the documents folder, with "/" separators
    source: str  # the file name
    folder: str  # the parent folder relative to the documents folder; "" at the top
    ext: str  # lower-case suffix with its dot, e.g. ".pdf"


class _ChunkFields(PathFields):
    hash: str  # content hash of the whole file
    chunk: int  # 0-based position of the chunk in its file
    start: int  # character offset of the chunk in its page
    end: int


class ChunkMetadata(_ChunkFields, total=False):
    """The metadata stored with every chunk; the optional keys only where the file has them."""

    page: int  # 1-based
    heading: str  # the trail of section headings above the chunk, "Chapter › Section"
    title: str  # the document's title


def indexed_text(text: str, metadata: Mapping[str, Any]) -> str:
    """What is embedded and keyword-indexed for a chunk: its title and headings, then it.

    The stored text stays the chunk alone (what a person reads and what is quoted); the
    context only helps the search find it.
    """
    context = [str(metadata.get(key) or "") for key in ("title", "heading")]
    context = [part for part in context if part]
    return "\n".join([*context, text]) if context else text


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as written to and read from the store.

    Attributes:
        id: deterministic ``sha256(path, content hash, n)`` (``ingest.chunking.chunk_id_for``).
        text: the chunk's text.
        metadata: where it comes from (file, page, offsets).
        embedding: its unit vector, when it was asked for or is about to be written.
    """

    id: str
    text: str
    metadata: ChunkMetadata
    embedding: list[float] | None = None


def path_fields(path: str) -> PathFields:
    """The path-derived metadata of a file at ``path`` (relative, "/"-separated)."""
    pure = PurePosixPath(path)
    return PathFields(
        path=path,
        source=pure.name,
        folder=pure.parent.as_posix() if "/" in path else "",
        ext=pure.suffix.lower(),
    )


def model_folder_name(model_dir: Path) -> str:
    """An embedding model's short name, as the index records it: its folder's name.

    A folder with a generic name (``model``, ``snapshot``…) is named by its parent.
    """
    generic = {"model", "models", "snapshot", "main"}
    return model_dir.parent.name if model_dir.name in generic else model_dir.name
