"""The Chroma client a process shares, and how processes on one embedded folder stay in step.

Processes that share an embedded store (the app open while ``gpt4all-rag ingest``
runs) stay in step through a publication file. An open embedded client never sees
another process's writes, because its vector index lives in memory. So a writer
publishes once its changes are complete, and every other process reopens its client
before its next operation. A Chroma server needs none of this: it is the shared state.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vectorstore.chroma_client import open_chroma_client

__all__ = ["PUBLICATION_FILE", "Connection", "embedded_connection"]

PUBLICATION_FILE = "gpt4all-rag.published"


class _Gate:
    """Any number of operations on a client at once, or one reopen of it alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._alone = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone and not self._active)
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


class Connection:
    """One Chroma client, shared by every store on it in this process.

    ``generation`` goes up whenever collections must be fetched again: after a
    reopen, or after a store dropped and recreated its collection.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gate = _Gate()
        self.generation = 0

    def follow(self) -> bool:
        """Catch up with other processes' writes; True if there was something to catch."""
        return False

    def wrote(self) -> None:
        """Take note that this process wrote, so that ``publish`` has something to tell."""

    def publish(self) -> None:
        """Make this process's completed writes visible to other processes."""


class _EmbeddedConnection(Connection):
    """A client on a local folder that follows, and makes, publications."""

    def __init__(self, folder: Path) -> None:
        super().__init__(open_chroma_client(folder))
        self.folder = folder
        self.publication = folder / PUBLICATION_FILE
        self.unpublished = False
        self._seen = self._published()

    def _published(self) -> str | None:
        try:
            return self.publication.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None

    def follow(self) -> bool:
        token = self._published()
        if token == self._seen:
            return False
        with self.gate.alone():
            if token != self._seen:
                self.client.close()
                self.client = open_chroma_client(self.folder)
                self.generation += 1
                self._seen = token
        return True

    def wrote(self) -> None:
        self.unpublished = True

    def publish(self) -> None:
        if not self.unpublished:
            return
        token = f"{os.getpid()}-{uuid.uuid4().hex}"
        tmp = self.publication.with_name(f".{PUBLICATION_FILE}.{os.getpid()}")
        tmp.write_text(token, encoding="ascii")
        os.replace(tmp, self.publication)
        self._seen, self.unpublished = token, False


_embedded: dict[Path, _EmbeddedConnection] = {}
_embedded_lock = threading.Lock()


def embedded_connection(folder: Path) -> _EmbeddedConnection:
    """The process's one connection to an embedded folder (Chroma shares it anyway)."""
    folder = folder.resolve()
    with _embedded_lock:
        if folder not in _embedded:
            _embedded[folder] = _EmbeddedConnection(folder)
        return _embedded[folder]
