"""A real Chroma server for the client/server contract, one per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.chroma_server import HOST, start, stop


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``(host, port)`` of a Chroma server started for this test session, stopped at its end."""
    server, port = start(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield HOST, port
    finally:
        stop(server)
