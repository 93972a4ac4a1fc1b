"""``DocumentAssistant``: the public API, and the one factory that wires the parts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.answer import Source
from gpt4all_rag.answering.asking import Asking
from gpt4all_rag.answering.checks import answer_hooks
from gpt4all_rag.answering.flow import FlowConfig, FlowHooks, QuestionFlow
from gpt4all_rag.documents.pages.context import PassageContext, passage_context
from gpt4all_rag.documents.summarize.mapreduce import summary_events
from gpt4all_rag.documents.summarize.results import Summary, SummaryEvent
from gpt4all_rag.index.embedders import build_embedder, embedder_name
from gpt4all_rag.index.registry import resolve_collection
from gpt4all_rag.index.retrieval import (
    abstention_rule,
    build_retriever,
    open_keywords,
    open_manifest,
    open_store,
    publisher,
)
from gpt4all_rag.index.status import DocumentInfo, IndexStatus, status_of
from gpt4all_rag.llm.factory import build_llm, model_name
from gpt4all_rag.llm.protocol import LLMBackend
from gpt4all_rag.settings import Settings, bundled_embedding_model
from ingest.chunking import CHUNKER_VERSION, TokenChunker
from ingest.errors import DocumentLoadError
from ingest.index_folder import claim_index_folder
from ingest.loaders import LoadLimits
from ingest.loaders.isolated import ParseLimits
from ingest.loaders.ocr import OcrOptions
from ingest.manifest import Manifest
from ingest.paths import inside
from ingest.pipeline import Indexer
from ingest.report import ProgressCallback, SyncReport
from vectorstore.abstention import Abstention
from vectorstore.chroma import ChromaStore
from vectorstore.embeddings import offline_environment
from vectorstore.keyword import KeywordIndex
from vectorstore.retriever import Retriever

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

__all__ = ["DocumentAssistant", "DocumentInfo", "IndexStatus"]


class DocumentAssistant(Asking):
    """Index a folder of documents and answer questions from it, with cited sources.

    Build it with :meth:`from_settings`; the constructor takes ready parts, so
    tests and applications can pass their own (a fake LLM, a server store).
    The LLM is loaded on the first question that needs it, never for
    ingesting or searching.
    """

    retriever: Retriever

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        embedder: Embeddings,
        manifest: Manifest,
        keywords: KeywordIndex,
        chunker: TokenChunker,
        llm: LLMBackend | None = None,
        hooks: FlowHooks | None = None,
        abstention: Abstention | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.manifest = manifest
        self.keywords = keywords
        self.retriever = build_retriever(settings, store, embedder, keywords, manifest, abstention)
        self.indexer = Indexer(
            store,
            embedder,
            chunker,
            manifest,
            fingerprint=_fingerprint(settings, embedder),
            keyword_index=keywords,
            max_file_bytes=int(settings.max_file_mb * (1 << 20)),
            stream_file_bytes=int(settings.stream_file_mb * (1 << 20)),
            flush_chunks=settings.ingest_batch_chunks,
            parse_limits=parse_limits(settings),
            publisher=publisher(settings, keywords),
        )
        self._llm = llm
        self._llm_lock = threading.Lock()
        self.flow = QuestionFlow(
            self.retriever, lambda: self.llm, FlowConfig.from_settings(settings), hooks
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        llm: LLMBackend | None = None,
        embedder: Embeddings | None = None,
        hooks: FlowHooks | None = None,
    ) -> DocumentAssistant:
        """Wire the real parts from settings (environment and ``.env`` when none given).

        ``llm`` and ``embedder`` replace the configured ones (a remote model, a test
        fake); ``hooks`` add optional steps to the question flow.
        """
        offline_environment()
        settings = resolve_collection(settings or Settings())
        if llm is not None and settings.answer_style is None:
            # a model handed in is not the bundled one: its answer is shown beside the quotes
            settings = settings.model_copy(update={"answer_style": "both"})
        claim_index_folder(settings.index_dir, settings.documents_dir)
        given = embedder
        embedder = embedder or build_embedder(settings)
        store = open_store(settings)
        manifest = open_manifest(settings)
        keywords = open_keywords(settings, manifest)
        chunker = TokenChunker(
            _tokenizer_file(settings), settings.chunk_size, settings.chunk_overlap
        )
        if hooks is None:
            hooks = answer_hooks(
                embedder,
                evidence=settings.resolved_answer_style() != "generate",
                evidence_words=settings.evidence_words,
                support_threshold=settings.support_threshold,
                focus_words=settings.focus_words,
            )
        abstention = abstention_rule(settings, bundled=given is None and settings.bundled_embedder)
        return cls(settings, store, embedder, manifest, keywords, chunker, llm, hooks, abstention)

    @classmethod
    def for_collection(
        cls, name: str, settings: Settings | None = None, **parts: Any
    ) -> DocumentAssistant:
        """The assistant of one named collection (``index.registry``); ``parts`` as above."""
        settings = (settings or Settings()).model_copy(update={"collection": name})
        return cls.from_settings(settings, **parts)

    # --- the model ------------------------------------------------------------
    @property
    def llm(self) -> LLMBackend:
        """The language model, built from the settings on first use."""
        with self._llm_lock:
            if self._llm is None:
                self._llm = build_llm(self.settings)
            return self._llm

    @property
    def model_name(self) -> str:
        """The configured model, without loading it."""
        return model_name(self.settings)

    # --- indexing ---------------------------------------------------------------
    def ingest(
        self,
        path: Path | str | None = None,
        progress: ProgressCallback | None = None,
        *,
        force: bool = False,
    ) -> SyncReport:
        """Sync the documents folder (or ``path``) into the index; see ``SyncReport``.

        An index remembers the folder it was built from; syncing another one (an
        unmounted drive, a typo) raises ``FolderMismatch`` unless ``force``.
        """
        folder = Path(path) if path is not None else self.settings.documents_dir
        if not folder.is_dir():
            raise DocumentLoadError(folder, "not a folder (create it and put documents in it)")
        return self.indexer.sync(folder, progress, allow_new_folder=force)

    def documents(self) -> list[DocumentInfo]:
        """The indexed files, by path."""
        return [
            DocumentInfo(r.path, r.pages, r.chunks, r.size, r.indexed_at, self.settings.collection)
            for r in sorted(self.manifest.files().values(), key=lambda r: r.path)
        ]

    def failures(self) -> list[tuple[str, str]]:
        """Files that could not be indexed, with the reason."""
        return sorted((f.path, f.reason) for f in self.manifest.failures().values())

    def remove_document(self, path: str) -> int:
        """Delete a file from the documents folder and its chunks from the index.

        A symbolic link is deleted itself, never the file it points to.
        """
        target = inside(self.settings.documents_dir, path, follow_symlinks=False)
        removed = self.indexer.remove(path)
        if target.is_symlink() or target.is_file():
            target.unlink()
        return removed

    def exclude_document(self, path: str) -> int:
        """Take a file out of the index, keeping it in the folder; returns the chunks removed.

        Syncs (a watched folder's too) leave it out until ``include_document``.
        """
        inside(self.settings.documents_dir, path, follow_symlinks=False)
        return self.indexer.exclude(path)

    def include_document(self, path: str) -> SyncReport:
        """Index an excluded file again (a sync of the folder)."""
        self.indexer.include(path)
        return self.ingest()

    def excluded_documents(self) -> list[str]:
        """Files in the folder that were taken out of the index, by path."""
        return self.indexer.excluded()

    def status(self) -> IndexStatus:
        """Counts, size on disk, model and last sync of the index."""
        return status_of(self.settings, self.manifest, embedder_name(self.embedder))

    def reset(self) -> None:
        """Delete every chunk, the manifest entries and the keyword index."""
        self.indexer.check_writable()
        self.store.reset()
        self.manifest.clear()
        self.keywords.clear()

    # --- sources ------------------------------------------------------------------
    def passage_context(self, source: Source, chars: int = 600) -> PassageContext:
        """The text around a source's passage, from its neighbouring chunks in the index."""
        return passage_context(self.manifest, self.store, source, chars)

    # --- summaries ------------------------------------------------------------------
    def summary_events(self, path: str, *, refresh: bool = False) -> Iterator[SummaryEvent]:
        """Summarize an indexed file: progress, the summary's tokens, the ``Summary`` last.

        A map-reduce over its chunks with the model, every prompt within the
        context; cached by content hash under the index folder (``refresh``: redo).
        """
        yield from summary_events(self, path, refresh=refresh)

    def summarize(self, path: str, *, refresh: bool = False) -> Summary:
        """The finished summary of an indexed file (see :meth:`summary_events`)."""
        return next(e for e in self.summary_events(path, refresh=refresh) if isinstance(e, Summary))


def parse_limits(settings: Settings) -> ParseLimits:
    """The worker process's limits on parsing one file, from the settings."""
    return ParseLimits(
        memory_bytes=settings.parse_memory_mb << 20,
        timeout_s=settings.parse_timeout_s,
        load=LoadLimits(
            max_pages=settings.max_pages_per_file,
            max_chars=settings.max_chars_per_file,
            max_unzipped_bytes=settings.max_unzipped_mb << 20,
            max_zip_ratio=settings.max_zip_ratio,
        ),
        ocr=OcrOptions(
            enabled=settings.ocr_enabled,
            dpi=settings.ocr_dpi,
            languages=settings.ocr_languages,
            max_pages=settings.ocr_max_pages_per_file,
            timeout_s=settings.ocr_timeout_s,
        ),
    )


def _tokenizer_file(settings: Settings) -> Path:
    """The chunker's tokenizer: the embedding model's, else the bundled MiniLM's.

    Chunk sizes are in MiniLM tokens whichever embedder runs, and tokenizer.json
    is a plain file: reading it loads no model.
    """
    folder = settings.resolved_embedding_model()
    if settings.embedding_backend == "hash" and not (folder / "tokenizer.json").is_file():
        folder = bundled_embedding_model()
    return folder / "tokenizer.json"


def _fingerprint(settings: Settings, embedder: Embeddings) -> dict[str, str]:
    chunking = f"{settings.chunk_size}/{settings.chunk_overlap}/v{CHUNKER_VERSION}"
    return {"embedding_model": embedder_name(embedder), "chunking": chunking}
