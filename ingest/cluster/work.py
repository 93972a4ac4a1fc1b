"""What one node does with one file: parse, chunk and embed it, as a local ingest would.

Plain functions (no Ray here): the Ray task in ``ingest.cluster.dispatch`` calls them,
and a test can call them in-process. The file's bytes come with the task (through Ray's
object store), so a node needs no access to the driver's documents folder; the file is
parsed from a private temporary copy with the same relative path.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ingest.cluster.recipe import WorkerParts, WorkerRecipe, parts_for
from ingest.errors import DocumentLoadError
from ingest.plan import Candidate
from ingest.prepare import Prepared, chunk_metadata
from ingest.timer import StageTimer
from vectorstore.schema import indexed_text

__all__ = ["Embedded", "embed_prepared", "indexed_texts", "prepare_batch", "prepare_file"]


@dataclass
class Embedded:
    """A prepared file (or the reason it failed) and its chunks' vectors, in chunk order."""

    prepared: Prepared
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


def indexed_texts(prepared: Prepared) -> list[str]:
    """The texts embedded for a file's chunks, exactly as the local writer builds them."""
    return [indexed_text(c.text, chunk_metadata(prepared, c)) for c in prepared.chunks]


def prepare_batch(
    recipe: WorkerRecipe, candidates: Sequence[Candidate], contents: Sequence[bytes]
) -> list[Embedded]:
    """``prepare_file`` for each candidate with its bytes, in order."""
    parts = parts_for(recipe)
    return [
        prepare_file(parts, recipe.flush_chunks, candidate, content)
        for candidate, content in zip(candidates, contents, strict=True)
    ]


def prepare_file(
    parts: WorkerParts, flush_chunks: int, candidate: Candidate, content: bytes
) -> Embedded:
    """Parse, chunk and embed one file from its bytes; the result names the original path."""
    with tempfile.TemporaryDirectory(prefix="gpt4all-rag-node-") as tmp:
        copy = Path(tmp, *candidate.stat.path.split("/"))
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(content)
        local = replace(candidate, stat=replace(candidate.stat, abs_path=copy))
        prepared = parts.preparer.prepare(local)
        if prepared.streamed:
            _chunk_streamed(parts, prepared)
    prepared.candidate = candidate
    if prepared.error is not None:
        prepared.chunks = []
        return Embedded(prepared)
    return Embedded(prepared, embed_prepared(parts, flush_chunks, prepared))


def _chunk_streamed(parts: WorkerParts, prepared: Prepared) -> None:
    """A big file, chunked as it is read (as the local writer streams it), kept whole here.

    Locally its slices go to the store one by one; here the chunks travel back as one
    result, and the driver writes them in the same slices.
    """
    prepared.streamed = False
    timer = StageTimer(prepared.stages)
    try:
        with timer("chunk"):
            prepared.chunks = list(parts.preparer.stream_chunks(prepared))
    except (DocumentLoadError, MemoryError) as exc:
        prepared.error = exc.reason if isinstance(exc, DocumentLoadError) else "out of memory"
        return
    if not prepared.chunks:
        prepared.error = "no extractable text"
        return
    prepared.pages = len({c.page for c in prepared.chunks})


def embed_prepared(parts: WorkerParts, flush_chunks: int, prepared: Prepared) -> np.ndarray:
    """The vectors of a file's chunks, ``flush_chunks`` texts per call, as float32 rows."""
    texts = indexed_texts(prepared)
    started = time.perf_counter()
    rows: list[list[float]] = []
    for start in range(0, len(texts), flush_chunks):
        rows.extend(parts.embedder.embed_documents(texts[start : start + flush_chunks]))
    prepared.stages["embed"] = prepared.stages.get("embed", 0.0) + time.perf_counter() - started
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
