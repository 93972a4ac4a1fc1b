"""Fixtures for the serve tests: one index of tests/data/docs, and a real server per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.server.api import create_app
from gpt4all_rag.server.run import BackgroundServer
from gpt4all_rag.testing import fake_settings
from tests.helpers.data import DOCS
from tests.helpers.serving import REPLY, TOKEN, Serving


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tests/data/docs ingested once per module with the hash embedder: (docs, index)."""
    root = tmp_path_factory.mktemp("serve")
    docs = shutil.copytree(DOCS, root / "docs")
    DocumentAssistant.from_settings(fake_settings(docs, root / "index")).ingest()
    return docs, root / "index"


@pytest.fixture
def serving(indexed: tuple[Path, Path]) -> Serving:
    """``with serving(llm=..., **settings) as url``: the API on a free loopback port.

    The model is scripted to answer :data:`REPLY`, and the token is :data:`TOKEN`
    unless the settings say otherwise: send :data:`AUTH`.
    """

    @contextmanager
    def run(llm: Any = None, **overrides: Any) -> Iterator[str]:
        fields = {"scripted_replies": [REPLY], "serve_token": TOKEN, **overrides}
        settings = fake_settings(*indexed, **fields)
        assistant = DocumentAssistant.from_settings(settings, llm=llm)
        with BackgroundServer(create_app(assistant, settings)) as server:
            yield server.url

    return run
