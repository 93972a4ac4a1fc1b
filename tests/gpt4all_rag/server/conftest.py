"""Fixtures for the serve tests: one index of tests/data/docs, and a real server per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.assistant import DocumentAssistant
from gpt4all_rag.server import BackgroundServer, create_app
from gpt4all_rag.settings import Settings
from tests.conftest import DOCS

REACTOR = "What is the core temperature of the Zorblax reactor?"
REPLY = "The core runs at 451 kelvin [1]."
CONTENT = "The core runs at 451 kelvin [^1]\\.\n\n[^1]: From manual\\.pdf\\, page 2"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def fake_settings(docs: Path, index: Path, **overrides: Any) -> Settings:
    """The fakes' settings; a low floor, as bag-of-words vectors score low (see test_cli)."""
    values: dict[str, Any] = {
        "documents_dir": docs,
        "index_dir": index,
        "embedding_backend": "hash",
        "llm_backend": "scripted",
        "scripted_replies": [REPLY],
        "relevance_floor": 0.1,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tests/data/docs ingested once per module with the hash embedder: (docs, index)."""
    root = tmp_path_factory.mktemp("serve")
    docs = shutil.copytree(DOCS, root / "docs")
    DocumentAssistant.from_settings(fake_settings(docs, root / "index")).ingest()
    return docs, root / "index"


Serving = Callable[..., AbstractContextManager[str]]


@pytest.fixture
def serving(indexed: tuple[Path, Path]) -> Serving:
    """``with serving(llm=..., **settings) as url``: the API on a free loopback port.

    The token is :data:`TOKEN` unless the settings say otherwise: send :data:`AUTH`.
    """

    @contextmanager
    def run(llm: Any = None, **overrides: Any) -> Iterator[str]:
        settings = fake_settings(*indexed, **{"serve_token": TOKEN, **overrides})
        assistant = DocumentAssistant.from_settings(settings, llm=llm)
        with BackgroundServer(create_app(assistant, settings)) as server:
            yield server.url

    return run
