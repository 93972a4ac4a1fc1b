"""Several collections asked as one: fused searches, one model, sources labelled.

Each collection searches its own index (its filters, relevance floor and
out-of-scope rule), the rankings are fused by reciprocal rank fusion as hybrid
search fuses BM25 and vectors, and one model answers from the fused passages,
each labelled with its collection. The registry of collections lives in
``gpt4all_rag.index.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Self, cast

from gpt4all_rag.answer import Source
from gpt4all_rag.answering.asking import Asking
from gpt4all_rag.answering.flow import QuestionFlow, Searcher
from gpt4all_rag.assistant.single import DocumentAssistant, DocumentInfo
from gpt4all_rag.index.registry import CollectionError
from gpt4all_rag.settings import Settings
from vectorstore.fusion import reciprocal_rank_fusion
from vectorstore.passage import Passage
from vectorstore.retriever import Filters
from vectorstore.schema import ChunkMetadata, SearchMode

__all__ = ["CollectionSet", "MultiRetriever"]


# --- asking several collections -------------------------------------------------------


def _tagged(passage: Passage, collection: str) -> Passage:
    """The passage with its collection in its metadata (``Source.collection`` reads it)."""
    metadata = cast(ChunkMetadata, {**passage.metadata, "collection": collection})
    return replace(passage, metadata=metadata)


class MultiRetriever:
    """Searches several collections and fuses their rankings, as hybrid search fuses its two.

    Each collection's searcher applies its own filters, relevance floor and
    out-of-scope rule; the fused list keeps the passages whose reciprocal rank is
    best (one collection keeps its own order and scores). Fetching ``k`` from each
    is enough: a passage below rank ``k`` in its own list is beaten by the ``k``
    above it. Passages are told apart by collection and chunk id, since the same
    file in two collections has the same chunk ids.

    Args:
        searchers: collection name -> its retriever.
    """

    def __init__(self, searchers: Mapping[str, Searcher]) -> None:
        self.searchers = dict(searchers)

    def search(
        self, query: str, k: int = 5, mode: SearchMode = "hybrid", filters: Filters | None = None
    ) -> list[Passage]:
        """The ``k`` best passages of all the collections, each tagged with its collection."""
        found: dict[str, Passage] = {}
        rankings: list[list[str]] = []
        for name, searcher in self.searchers.items():
            passages = searcher.search(query, k=k, mode=mode, filters=filters)
            keys = [f"{name}\x00{p.id}" for p in passages]
            found.update(zip(keys, (_tagged(p, name) for p in passages), strict=True))
            rankings.append(keys)
        if len(rankings) == 1:  # nothing to fuse: the collection's own order and scores
            return [found[key] for key in rankings[0][:k]]
        fused = reciprocal_rank_fusion(rankings)
        ranked = sorted(fused, key=lambda key: (-fused[key], -found[key].similarity, key))
        return [replace(found[key], score=fused[key]) for key in ranked[:k]]


class CollectionSet(Asking):
    """Several collections asked as one: fused searches, one model, sources labelled.

    Asks like :class:`~gpt4all_rag.assistant.single.DocumentAssistant` (``ask``, ``stream``,
    ``events``, ``search``, ``as_runnable``); each collection's assistant stays
    available in :attr:`assistants` for indexing and listing. The model, the
    answer hooks and the flow's knobs are the first collection's.

    Args:
        assistants: collection name -> its assistant, the first one answering.
    """

    def __init__(self, assistants: Mapping[str, DocumentAssistant]) -> None:
        if not assistants:
            raise CollectionError("a collection set needs at least one collection")
        self.assistants = dict(assistants)
        first = next(iter(self.assistants.values()))
        self.settings = first.settings
        self.retriever = MultiRetriever({n: a.retriever for n, a in self.assistants.items()})
        self.flow = QuestionFlow(
            self.retriever, lambda: first.llm, first.flow.config, first.flow.hooks
        )
        self._first = first

    @classmethod
    def open(cls, names: Sequence[str], settings: Settings | None = None, **parts: Any) -> Self:
        """Open the named collections with one embedder and one model.

        ``parts`` (``llm``, ``embedder``, ``hooks``) go to the first collection's
        ``DocumentAssistant.from_settings``; the others share its embedder, hooks
        and out-of-scope rule, so one model is loaded however many are asked.
        """
        names = _some(names)
        base = settings or Settings()
        first = DocumentAssistant.for_collection(names[0], base, **parts)
        assistants = {names[0]: first}
        for name in names[1:]:
            other = DocumentAssistant.for_collection(
                name, base, llm=parts.get("llm"), embedder=first.embedder, hooks=first.flow.hooks
            )
            # A given embedder turns the calibrated rule off; it is the first's, so keep it.
            other.retriever.abstention = first.retriever.abstention
            assistants[name] = other
        return cls(assistants)

    @classmethod
    def from_factory(
        cls,
        names: Sequence[str],
        settings: Settings,
        factory: Callable[[Settings], DocumentAssistant],
    ) -> Self:
        """Build each collection's assistant with ``factory`` (the CLI's, a test's fakes)."""
        names = _some(names)
        return cls({n: factory(settings.model_copy(update={"collection": n})) for n in names})

    @property
    def names(self) -> list[str]:
        """The collections asked, the answering one first."""
        return list(self.assistants)

    def assistant_of(self, source: Source) -> DocumentAssistant:
        """The assistant of the collection a source came from (its folder, its index)."""
        return self.assistants.get(source.collection or "", self._first)

    @property
    def model_name(self) -> str:
        """The model that answers, without loading it."""
        return self._first.model_name

    # --- listing -------------------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        """Every collection's indexed files, by collection then path."""
        return [doc for assistant in self.assistants.values() for doc in assistant.documents()]

    def failures(self) -> list[tuple[str, str, str]]:
        """Files that could not be indexed: (collection, path, reason)."""
        return [
            (name, path, reason)
            for name, assistant in self.assistants.items()
            for path, reason in assistant.failures()
        ]


def _some(names: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(names))
    if not unique:
        raise CollectionError("name at least one collection")
    return unique
