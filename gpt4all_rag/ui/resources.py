"""What every tab of this process shares (``st.cache_resource``): assistants, indexers, stores.

The assistant (embedding model, index and language model) is built once per process
by a cached factory and shared by every browser tab; top-k and the retrieval mode are
arguments of each question, so changing them rebuilds nothing. The factory is
``DocumentAssistant.from_settings``, so the settings choose the backends: with
``GPT4ALL_RAG_EMBEDDING_BACKEND=hash`` and ``GPT4ALL_RAG_LLM_BACKEND=scripted`` the
page runs on the predictable fakes, which is how its tests run it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gpt4all_rag.assistant.background import BackgroundIndexer
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.feedback import FeedbackStore
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.markdown import escape_text
from gpt4all_rag.settings import Settings

__all__ = [
    "FEEDBACK_FILE",
    "assistant_for",
    "base_settings",
    "feedback_store",
    "feedback_store_at",
    "indexer_for",
    "load_assistant",
]

FEEDBACK_FILE = "feedback.jsonl"


@st.cache_resource(show_spinner="Loading the index and the embedding model…", max_entries=4)
def load_assistant(key: str, _settings: Settings) -> DocumentAssistant:
    """One assistant per distinct settings (``key``), shared by every tab of this process."""
    return DocumentAssistant.from_settings(_settings)


def base_settings() -> Settings:
    """Settings from the environment and ``.env``; a bad value stops the page with its reason."""
    try:
        return Settings()
    except ValueError as exc:
        st.error(
            "The settings in the environment or `.env` are not valid:\n\n" + escape_text(str(exc))
        )
        st.stop()


def assistant_for(settings: Settings) -> DocumentAssistant:
    """The cached assistant for these settings, or an error box and a stopped page."""
    try:
        return load_assistant(settings.model_dump_json(), settings)
    except USER_ERRORS as exc:
        st.error(f"Cannot open the index: {escape_text(str(exc))}")
        st.stop()


@st.cache_resource(show_spinner=False, max_entries=16)
def indexer_for(key: str, _assistant: DocumentAssistant, watch: bool) -> BackgroundIndexer:
    """One background indexer (first ingest, then the watcher) per index in this process."""
    indexer = BackgroundIndexer(_assistant, watch=watch)
    indexer.start()
    return indexer


def feedback_store(settings: Settings) -> FeedbackStore:
    """Ratings live next to the index, on this computer only."""
    return feedback_store_at(str(settings.index_dir / FEEDBACK_FILE))


@st.cache_resource(show_spinner=False)
def feedback_store_at(path: str) -> FeedbackStore:
    """One store per file in this process, so its lock orders the writes of every tab."""
    return FeedbackStore(Path(path))
