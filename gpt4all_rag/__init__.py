"""gpt4all-rag: private, local chat with your documents.

Example:
    >>> from gpt4all_rag import DocumentAssistant, Settings
    >>> assistant = DocumentAssistant.from_settings(Settings(documents_dir="documents"))
    >>> assistant.ingest()                        # doctest: +SKIP
    >>> print(assistant.ask("What is in my documents?").text)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt4all_rag.answer import Answer, Source
    from gpt4all_rag.answering.flow import (
        EvidenceEvent,
        FlowEvent,
        FlowHooks,
        SourcesEvent,
        TokenEvent,
    )
    from gpt4all_rag.assistant.several import CollectionSet
    from gpt4all_rag.assistant.single import DocumentAssistant, DocumentInfo
    from gpt4all_rag.documents.feedback import FeedbackEntry, FeedbackStore
    from gpt4all_rag.documents.uploads import UploadRejected, save_upload
    from gpt4all_rag.errors import (
        USER_ERRORS,
        AssistantError,
        DocumentLoadError,
        IndexLocked,
        IndexMismatch,
        LLMError,
        ModelNotFound,
        StoreUnavailable,
    )
    from gpt4all_rag.index.registry import CollectionRegistry
    from gpt4all_rag.index.status import IndexStatus
    from gpt4all_rag.settings import Settings
    from ingest.report import ProgressEvent, SyncReport
    from vectorstore.retriever import Filters

# Where each public name lives. They are imported on first use (PEP 562), so that
# `gpt4all-rag status` does not pay for the chain, the store and the loaders it never uses.
_HOMES = {
    "Answer": "gpt4all_rag.answer",
    "Source": "gpt4all_rag.answer",
    "DocumentAssistant": "gpt4all_rag.assistant.single",
    "DocumentInfo": "gpt4all_rag.assistant.single",
    "IndexStatus": "gpt4all_rag.index.status",
    "CollectionRegistry": "gpt4all_rag.index.registry",
    "CollectionSet": "gpt4all_rag.assistant.several",
    "USER_ERRORS": "gpt4all_rag.errors",
    "AssistantError": "gpt4all_rag.errors",
    "DocumentLoadError": "gpt4all_rag.errors",
    "IndexLocked": "gpt4all_rag.errors",
    "IndexMismatch": "gpt4all_rag.errors",
    "LLMError": "gpt4all_rag.errors",
    "ModelNotFound": "gpt4all_rag.errors",
    "StoreUnavailable": "gpt4all_rag.errors",
    "FeedbackEntry": "gpt4all_rag.documents.feedback",
    "FeedbackStore": "gpt4all_rag.documents.feedback",
    "EvidenceEvent": "gpt4all_rag.answering.flow",
    "FlowEvent": "gpt4all_rag.answering.flow",
    "FlowHooks": "gpt4all_rag.answering.flow",
    "SourcesEvent": "gpt4all_rag.answering.flow",
    "TokenEvent": "gpt4all_rag.answering.flow",
    "Settings": "gpt4all_rag.settings",
    "UploadRejected": "gpt4all_rag.documents.uploads",
    "save_upload": "gpt4all_rag.documents.uploads",
    "ProgressEvent": "ingest.report",
    "SyncReport": "ingest.report",
    "Filters": "vectorstore.retriever",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'gpt4all_rag' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Answer",
    "AssistantError",
    "CollectionRegistry",
    "CollectionSet",
    "DocumentAssistant",
    "DocumentInfo",
    "DocumentLoadError",
    "EvidenceEvent",
    "FeedbackEntry",
    "FeedbackStore",
    "Filters",
    "FlowEvent",
    "FlowHooks",
    "IndexLocked",
    "IndexMismatch",
    "IndexStatus",
    "LLMError",
    "ModelNotFound",
    "ProgressEvent",
    "Settings",
    "Source",
    "SourcesEvent",
    "StoreUnavailable",
    "SyncReport",
    "TokenEvent",
    "UploadRejected",
    "USER_ERRORS",
    "save_upload",
]
