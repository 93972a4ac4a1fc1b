"""The predictable fakes, for tests: re-exported from where they live, and ``fake_settings``.

The fakes are first-class backends (``llm_backend="scripted"``,
``embedding_backend="hash"``); this module only gathers them for tests and is
imported by nothing in the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpt4all_rag.index.embedders import HASH_DIMENSIONS, HashEmbedder, hash_vector
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.settings import Settings
from gpt4all_rag.settings_answering import DEFAULT_SCRIPTED_REPLY

__all__ = [
    "DEFAULT_SCRIPTED_REPLY",
    "HASH_DIMENSIONS",
    "HashEmbedder",
    "ScriptedLLM",
    "fake_settings",
    "hash_vector",
]


def fake_settings(documents: Path, index: Path, **overrides: Any) -> Settings:
    """Settings on the fakes (hash embedder, scripted model) with a relevance floor of 0.1.

    Bag-of-words vectors score lower than MiniLM's, so the real floor would
    refuse most test questions; tests that check abstention pass their own.
    """
    fields: dict[str, Any] = {
        "documents_dir": documents,
        "index_dir": index,
        "embedding_backend": "hash",
        "llm_backend": "scripted",
        "relevance_floor": 0.1,
    }
    fields.update(overrides)
    return Settings(**fields)
