"""gpt4all-rag: private, local chat with your documents.

Example:
    >>> from gpt4all_rag import DocumentAssistant, Settings
    >>> assistant = DocumentAssistant.from_settings(Settings(documents_dir="documents"))
    >>> assistant.ingest()                        # doctest: +SKIP
    >>> print(assistant.ask("What is in my documents?").text)  # doctest: +SKIP
"""

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.assistant import DocumentAssistant, DocumentInfo, IndexStatus
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
from gpt4all_rag.feedback import FeedbackEntry, FeedbackStore
from gpt4all_rag.flow import EvidenceEvent, FlowEvent, FlowHooks, SourcesEvent, TokenEvent
from gpt4all_rag.settings import Settings
from gpt4all_rag.uploads import UploadRejected, save_upload
from ingest.pipeline import ProgressEvent, SyncReport
from vectorstore.retriever import Filters

__all__ = [
    "Answer",
    "AssistantError",
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
