"""Shared fixtures: a real Chroma in a temp folder, with the predictable fakes.

Only fixtures live here; the constants and helpers tests import are in
``tests/helpers`` and the fakes in ``gpt4all_rag.testing``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.answering.flow import FlowHooks
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import ScriptedLLM
from tests.helpers.app_page import APP_TOKEN
from tests.helpers.data import DOCS


@pytest.fixture(autouse=True)
def app_launch_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's secret in the environment, where ``app_launch`` puts it for the page."""
    monkeypatch.setenv("GPT4ALL_RAG_APP_TOKEN", APP_TOKEN)


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data/docs."""
    target = tmp_path / "docs"
    shutil.copytree(DOCS, target)
    return target


@pytest.fixture
def make_assistant(tmp_path: Path) -> Callable[..., DocumentAssistant]:
    """Build an assistant on a real Chroma in tmp_path, on the fakes unless told otherwise.

    The embedder is the hash one unless ``embedder`` or ``embedding_backend`` says
    otherwise (the real MiniLM belongs to the slow tier); the model is a
    ``ScriptedLLM`` unless ``llm`` is given.
    """

    def build(
        documents: Path,
        embedder: Any = None,
        llm: Any = None,
        hooks: FlowHooks | None = None,
        **overrides: Any,
    ) -> DocumentAssistant:
        overrides.setdefault("index_dir", tmp_path / "index")
        overrides.setdefault("embedding_backend", "hash")
        settings = Settings(documents_dir=documents, **overrides)
        return DocumentAssistant.from_settings(
            settings, llm=llm or ScriptedLLM(), embedder=embedder, hooks=hooks
        )

    return build
