"""The retriever wired from settings, for the assistant and for a search alone.

Why a module of its own: ``gpt4all-rag search`` needs the retriever and nothing else,
but building the assistant imports LangChain, the ingest pipeline and the answer flow
(0.6 s on 2 cores, a third of the command's budget). Both build the retriever here,
so a search from the command line ranks exactly as the assistant does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt4all_rag.settings_indexing import DEFAULT_COLLECTION
from ingest.index_folder import claim_index_folder
from ingest.manifest import Manifest
from ingest.publish import Publisher
from ingest.replica import PublishedManifest
from ingest.replica import open_manifest as replica_manifest
from vectorstore.abstention import Abstention
from vectorstore.chroma import ChromaStore
from vectorstore.fusion import Fusion
from vectorstore.keyword import KeywordIndex
from vectorstore.numpy_minilm import NumpyQueryEmbedder, numpy_model
from vectorstore.retriever import Retriever

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings
    from vectorstore.retriever import QueryEmbedder

__all__ = [
    "abstention_rule",
    "build_retriever",
    "open_keywords",
    "open_manifest",
    "open_store",
    "publisher",
    "search_only",
]


def open_store(settings: Settings) -> ChromaStore:
    """The Chroma collection the settings name: on a server, or in the index folder."""
    if not settings.chroma_host:
        return ChromaStore.embedded(settings.chroma_dir, settings.collection_name)
    token = settings.chroma_token
    return ChromaStore.server(
        settings.chroma_host,
        settings.chroma_port,
        settings.collection_name,
        token=token.get_secret_value() if token else None,
        ssl=settings.chroma_ssl,
    )


def open_manifest(settings: Settings) -> Manifest:
    """The index folder's manifest, or a replica's: the publication's current generation."""
    return replica_manifest(settings.index_dir, settings.replica_of, settings.replica_poll_s)


def open_keywords(settings: Settings, manifest: Manifest | None = None) -> KeywordIndex:
    """The BM25 index beside the store; a replica's follows its manifest's generation."""
    folder = settings.index_dir / "keywords"
    if isinstance(manifest, PublishedManifest):
        locate = manifest.keywords_folder
        return KeywordIndex(folder, settings.bm25_k1, settings.bm25_b, locate=locate)
    return KeywordIndex(folder, settings.bm25_k1, settings.bm25_b)


def publisher(settings: Settings, keywords: KeywordIndex) -> Publisher | None:
    """The writer's publisher of generations for replicas, where ``publish_dir`` is set."""
    if settings.publish_dir is None:
        return None
    return Publisher(settings.publish_dir, keywords.folder, settings.publish_keep)


def abstention_rule(settings: Settings, bundled: bool) -> Abstention | None:
    """The out-of-scope rule: the settings' thresholds, else MiniLM's calibrated ones.

    The calibration holds for the bundled MiniLM only (``bundled``); with another
    embedder nothing is judged out of scope unless the settings say how.
    """
    calibrated = Abstention()
    similarity = settings.abstain_similarity
    if similarity is None:
        if not bundled:
            return None
        similarity = calibrated.min_similarity
    covered = settings.abstain_coverage
    return Abstention(similarity, calibrated.min_coverage if covered is None else covered)


def build_retriever(
    settings: Settings,
    store: ChromaStore,
    embedder: QueryEmbedder,
    keywords: KeywordIndex,
    manifest: Manifest,
    abstention: Abstention | None,
) -> Retriever:
    """The hybrid retriever with the settings' fusion, floor and merging."""
    return Retriever(
        store,
        embedder,
        keywords,
        candidates=settings.fusion_candidates,
        fusion=Fusion(settings.fusion, settings.fusion_vector_weight, settings.rrf_k),
        merge_adjacent=settings.merge_adjacent,
        relevance_floor=settings.relevance_floor,
        uncommitted=manifest.uncommitted,
        abstention=abstention,
    )


def search_only(settings: Settings) -> Retriever | None:
    """A retriever for searching alone, or None where only the assistant can search.

    Only for the default collection with the bundled-style sentence-transformers
    embedder that :class:`~vectorstore.numpy_minilm.NumpyMiniLM` runs: its query
    vectors are the assistant's own (which embeds queries with the same numpy
    model), and neither LangChain nor torch is imported.
    """
    named = settings.collection != DEFAULT_COLLECTION
    if named or settings.embedding_backend != "sentence-transformers":
        return None
    claim_index_folder(settings.index_dir, settings.documents_dir)
    folder = settings.resolved_embedding_model()
    if not (folder / "config.json").is_file() or (model := numpy_model(folder)) is None:
        return None  # the assistant's embedder reports a missing model properly
    manifest = open_manifest(settings)
    return build_retriever(
        settings,
        open_store(settings),
        NumpyQueryEmbedder(model),
        open_keywords(settings, manifest),
        manifest,
        abstention_rule(settings, bundled=settings.bundled_embedder),
    )
