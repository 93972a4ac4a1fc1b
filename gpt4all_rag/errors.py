"""The project's errors, as the public API, CLI and app see them.

Lower layers raise their own (``ingest.errors``, ``vectorstore.errors``); they
are re-exported here so that users catch one family of exceptions.
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import (
    DocumentLoadError,
    FolderMismatch,
    IndexFolderRefused,
    IndexLocked,
    IndexMismatch,
    IngestError,
    ReadOnlyIndex,
    UnsupportedFileType,
)
from vectorstore.errors import (
    EmbeddingModelNotFound,
    StoreUnavailable,
    VectorStoreError,
)
from vectorstore.ownership import NotOurFolder

__all__ = [
    "AssistantError",
    "DocumentLoadError",
    "EmbeddingModelNotFound",
    "FolderMismatch",
    "IndexFolderRefused",
    "IndexLocked",
    "IndexMismatch",
    "IngestError",
    "LLMError",
    "ModelNotFound",
    "NotOurFolder",
    "ReadOnlyIndex",
    "StoreUnavailable",
    "UnsupportedFileType",
    "VectorStoreError",
    "USER_ERRORS",
]


class AssistantError(Exception):
    """Base class of the errors raised by ``gpt4all_rag`` itself."""


class ModelNotFound(AssistantError):
    """The GGUF file is missing or cannot be loaded."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"model file {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class LLMError(AssistantError):
    """The language model failed while answering (a server down, a bad reply)."""


# What the CLI and the app turn into one readable line instead of a traceback.
USER_ERRORS = (AssistantError, IngestError, VectorStoreError)
