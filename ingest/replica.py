"""A replica's manifest: the current published generation, followed without a restart.

A replica on another machine reads the Chroma collection through its server and the
manifest and keyword index from a publication (``ingest.publish``). It answers from
exactly one generation at a time: chunks the writer stored after that generation (a
file being ingested now, or one the next generation will add) are treated as
uncommitted and left out, so that a replica never shows half a file. Every read
checks ``CURRENT`` (at most once per ``poll_seconds``) and moves to a new generation
as soon as one is published; the keyword index follows through ``keywords_folder``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.manifest import MANIFEST_FILE, SCHEMA, Manifest
from ingest.publish import Generation, Publication

__all__ = ["PublishedManifest", "open_manifest"]


class PublishedManifest(Manifest):
    """The manifest of a publication's current generation, read-only.

    Args:
        publication: the folder the writer publishes to.
        poll_seconds: how often at most ``CURRENT`` is read again.
        clock: monotonic seconds (a test's clock).
    """

    read_only = True

    def __init__(
        self,
        publication: Publication,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publication = publication
        self.path = publication.root / MANIFEST_FILE  # where a writer would find it
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._checked = -float("inf")
        self._generation: Generation | None = None
        self._connection = _empty()

    @property
    def _db(self) -> sqlite3.Connection:  # type: ignore[override]
        """The current generation's database, refreshed first (every read goes through it)."""
        self.refresh()
        return self._connection

    @property
    def generation(self) -> Generation | None:
        """The generation read now (None before the first publish)."""
        self.refresh()
        return self._generation

    def keywords_folder(self) -> Path | None:
        """The current generation's keyword index folder, for ``KeywordIndex(locate=...)``."""
        generation = self.generation
        return generation.keywords if generation is not None else None

    def refresh(self, force: bool = False) -> None:
        """Move to the generation ``CURRENT`` names, if it changed since the last look.

        A generation that cannot be opened (pruned between the look and the open), or
        storage that cannot be read, is skipped: the replica keeps the generation it
        has and looks again next time.
        """
        now = self._clock()
        with self._lock:
            if not force and now - self._checked < self.poll_seconds:
                return
            self._checked = now
            try:
                current = self.publication.current()
            except OSError:
                return  # the shared storage is unreachable: keep answering from this one
            if current is None or current == self._generation:
                return
            try:
                connection = _open_immutable(current.manifest)
            except sqlite3.Error:
                return
            old, self._connection, self._generation = self._connection, connection, current
        old.close()

    def uncommitted(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` not committed in this generation: the replica leaves them out."""
        return set(ids) - self.committed(ids)

    def close(self) -> None:
        """Close the current generation's database."""
        with self._lock:
            self._connection.close()


def open_manifest(
    index_dir: Path, replica_of: Path | None = None, poll_seconds: float = 1.0
) -> Manifest:
    """The index folder's manifest, or a replica's: ``replica_of``'s current generation."""
    if replica_of is not None:
        return PublishedManifest(Publication(replica_of), poll_seconds)
    return Manifest(index_dir / MANIFEST_FILE)


def _open_immutable(path: Path) -> sqlite3.Connection:
    """A published copy never changes: no locks, no shared memory (safe on NFS)."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("SELECT COUNT(*) FROM chunks").fetchone()  # fails now, not later
    return connection


def _empty() -> sqlite3.Connection:
    """An empty manifest in memory: what a replica reads before the first publish."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.executescript(SCHEMA)
    return connection
