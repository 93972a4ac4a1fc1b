"""The bodies the API accepts: OpenAI's chat request, and search, ingest and filters.

OpenAI parameters that this "model" cannot honour (``temperature``, ``top_p``,
``max_tokens``...) are accepted and ignored, so that any client works unchanged;
the answer follows the server's settings. ``k``, ``mode`` and ``filters`` are
extensions (the ``openai`` client sends them with ``extra_body``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vectorstore.retriever import Filters
from vectorstore.schema import SearchMode

__all__ = [
    "MODEL_ID",
    "ChatMessage",
    "ChatRequest",
    "FiltersBody",
    "IngestRequest",
    "SearchRequest",
]

MODEL_ID = "gpt4all-rag"
"""The one model the API lists: answers from the documents, whatever the GGUF file."""


class FiltersBody(BaseModel):
    """Restrict retrieval, as ``Filters`` and the CLI's ``--file/--folder/--type`` do."""

    model_config = ConfigDict(extra="forbid")

    files: list[str] = Field(default_factory=list, description="Paths in the documents folder.")
    folder: str | None = Field(None, description="A folder in the documents folder.")
    extensions: list[str] = Field(default_factory=list, description="File types, e.g. pdf.")

    def to_filters(self) -> Filters | None:
        """The retriever's filters, or None when they let everything through."""
        filters = Filters(tuple(self.files), self.folder, tuple(self.extensions))
        return None if filters.empty else filters


class ChatMessage(BaseModel):
    """One turn; ``content`` is text or OpenAI's list of content parts."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The turn's text; parts other than text (images, audio) are left out."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class _Retrieval(BaseModel):
    """The retrieval options a question or a search may override."""

    k: int | None = Field(None, ge=1, le=100, description="Passages to retrieve.")
    mode: SearchMode | None = Field(None, description="vector, keyword or hybrid.")
    filters: FiltersBody | None = None


class ChatRequest(_Retrieval):
    """``POST /v1/chat/completions``: the last user message is the question."""

    model_config = ConfigDict(extra="allow")  # OpenAI parameters this model ignores

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class SearchRequest(_Retrieval):
    """``POST /v1/search``: the passages a query retrieves, no model."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1)


class IngestRequest(BaseModel):
    """``POST /v1/ingest``: sync the configured documents folder (never another path)."""

    model_config = ConfigDict(extra="forbid")

    force: bool = Field(False, description="Index it even if the index was built from another.")
