"""The document to summarize: an indexed file's chunks read back from the index, in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gpt4all_rag.llm.protocol import LLMBackend
from gpt4all_rag.trust.embedding import Embedder
from ingest.errors import DocumentLoadError

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings
    from ingest.manifest import Manifest
    from vectorstore.chroma import ChromaStore

__all__ = ["DocumentChunk", "DocumentText", "Summarizable", "indexed_document"]


@dataclass(frozen=True)
class DocumentChunk:
    """One chunk of the document, in order, with its page (None for unpaged formats)."""

    position: int
    text: str
    page: int | None


@dataclass(frozen=True)
class DocumentText:
    """An indexed file's chunks in order, with the content hash the cache is keyed by."""

    path: str
    content_hash: str
    chunks: tuple[DocumentChunk, ...]

    @property
    def pages(self) -> tuple[int, ...]:
        """The pages the chunks lie on, sorted (empty for unpaged formats)."""
        return tuple(sorted({c.page for c in self.chunks if c.page is not None}))


class Summarizable(Protocol):
    """What a summary needs of an assistant: its settings, model, manifest, store and embedder."""

    settings: Settings
    manifest: Manifest
    store: ChromaStore

    @property
    def llm(self) -> LLMBackend:
        """The model that writes the summary (loaded on first use)."""
        ...

    @property
    def embedder(self) -> Embedder:
        """The retrieval embedder, which the answers' source check uses too."""
        ...

    @property
    def model_name(self) -> str:
        """The configured model, without loading it (part of the cache key)."""
        ...


def indexed_document(assistant: Summarizable, path: str) -> DocumentText:
    """Read a file's chunks back from the index, in order; the file is not read again.

    Raises:
        DocumentLoadError: ``path`` is not an indexed file, or its chunks are missing.
    """
    record = assistant.manifest.files().get(path)
    if record is None:
        raise DocumentLoadError(path, "not in the index (ingest it first)")
    ids = assistant.manifest.chunk_ids(path)
    chunks = [
        DocumentChunk(int(r.metadata.get("chunk", n)), r.text, _page(r.metadata.get("page")))
        for n, r in enumerate(assistant.store.get(ids))
    ]
    if not chunks:
        raise DocumentLoadError(path, "no text in the index (ingest it again)")
    return DocumentText(path, record.content_hash, tuple(sorted(chunks, key=lambda c: c.position)))


def _page(value: Any) -> int | None:
    return int(value) if value is not None else None
