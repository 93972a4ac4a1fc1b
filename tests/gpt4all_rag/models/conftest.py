"""Fixtures for gpt4all_rag.models: a local file server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.model_files import FileServer, file_server


@pytest.fixture
def server() -> Iterator[FileServer]:
    """A Range-capable HTTP server on 127.0.0.1, stopped after the test."""
    with file_server() as state:
        yield state
