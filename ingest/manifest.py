"""The manifest: which file is indexed with which content and which chunk ids.

It is the commit point of an ingest. A file counts as indexed only once its
row is committed here, after its chunks were written to the store. Chunk ids
that may be in the store without being committed (written before a crash, or
replaced and not yet deleted) are listed in ``dirty`` first, so the next run
can delete whatever is not committed: no duplicates, no half-indexed file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "MANIFEST_FILE",
    "SCHEMA",
    "FailureRecord",
    "FileRecord",
    "IndexFingerprint",
    "Manifest",
]

MANIFEST_FILE = "manifest.sqlite3"  # in the index folder

# Keys of the ``meta`` table; only this module spells them.
_EMBEDDING_MODEL = "embedding_model"
_CHUNKING = "chunking"
_LAST_SYNC = "last_sync"
_KEYWORDS = "keywords"  # "current" once the keyword index matches the committed chunks
_DOCUMENTS = "documents_folder"

# Columns added since the first release, with their definitions: an older manifest gains
# them when it is opened (its rows get the default).
_ADDED_COLUMNS = {"files": {"warning": "TEXT NOT NULL DEFAULT ''"}}
_FILE_COLUMNS = "path, size, mtime_ns, content_hash, pages, chunks, indexed_at, warning"

# The tables, created where missing (a replica's empty manifest too: ingest.replica).
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL,
    indexed_at REAL NOT NULL, warning TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS files_by_hash ON files(content_hash);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, position INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path);
CREATE TABLE IF NOT EXISTS dirty (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class FileRecord:
    """One indexed file as the manifest knows it.

    ``warning`` says why the file was indexed only in part (a damaged PDF, OCR stopped
    at its per-file limit); empty for a file read whole.
    """

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    pages: int
    chunks: int
    indexed_at: float = 0.0
    warning: str = ""


@dataclass(frozen=True)
class FailureRecord:
    """A file that could not be indexed, with the stat it had then."""

    path: str
    size: int
    mtime_ns: int
    reason: str


@dataclass(frozen=True)
class IndexFingerprint:
    """What the stored vectors depend on.

    Another embedding model makes them useless; other chunking settings make them stale
    (everything is chunked again).
    """

    embedding_model: str
    chunking: str

    @classmethod
    def of(cls, value: IndexFingerprint | dict[str, str]) -> IndexFingerprint:
        """Accept the dict form (``{"embedding_model": ..., "chunking": ...}``) too."""
        if isinstance(value, IndexFingerprint):
            return value
        return cls(value["embedding_model"], value["chunking"])


class Manifest:
    """SQLite file beside the store; WAL mode so readers never wait on an ingest.

    The file and its folder are created readable by their owner only: they list the
    user's documents. ``read_only`` is True for a replica's copy (``ingest.replica``),
    which no writer may open.
    """

    read_only = False

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        _owner_only(path)

    def _add_missing_columns(self) -> None:
        """Bring an older manifest's tables up to ``_ADDED_COLUMNS`` (another process may race)."""
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name in present:
                    continue
                try:
                    with self._db:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def backup_to(self, target: sqlite3.Connection) -> None:
        """Copy the committed state into ``target`` (SQLite's online backup: consistent)."""
        self._db.backup(target)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing write: the unit a crash can never split."""
        with self._db:
            yield self._db

    # --- reads -----------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        """Every indexed file by relative path."""
        rows = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files")
        return {row[0]: FileRecord(*row) for row in rows}

    def warnings(self) -> dict[str, str]:
        """Why each file indexed only in part was, by relative path."""
        rows = self._db.execute("SELECT path, warning FROM files WHERE warning != ''")
        return {row[0]: row[1] for row in rows}

    def failures(self) -> dict[str, FailureRecord]:
        """Every failed file by relative path."""
        rows = self._db.execute("SELECT path, size, mtime_ns, reason FROM failures")
        return {row[0]: FailureRecord(*row) for row in rows}

    def chunk_ids(self, path: str) -> list[str]:
        """A file's committed chunk ids, in chunk order."""
        rows = self._db.execute("SELECT id FROM chunks WHERE path = ? ORDER BY position", (path,))
        return [row[0] for row in rows]

    def all_chunk_ids(self) -> list[str]:
        """Every committed chunk id, file by file, in chunk order."""
        rows = self._db.execute("SELECT id FROM chunks ORDER BY path, position")
        return [row[0] for row in rows]

    def chunk_count(self) -> int:
        """Number of committed chunks."""
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def file_count(self) -> int:
        """Number of indexed files."""
        return int(self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def stale_ids(self) -> list[str]:
        """Dirty ids that no committed file owns: in the store, perhaps, but not wanted."""
        rows = self._db.execute("SELECT id FROM dirty WHERE id NOT IN (SELECT id FROM chunks)")
        return [row[0] for row in rows]

    def uncommitted(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that an ingest has written (or is writing) but not committed."""
        return self._ids_where(
            "SELECT id FROM dirty WHERE id IN ({marks}) AND id NOT IN (SELECT id FROM chunks)", ids
        )

    def committed(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that a committed file owns."""
        return self._ids_where("SELECT id FROM chunks WHERE id IN ({marks})", ids)

    def _ids_where(self, query: str, ids: Sequence[str]) -> set[str]:
        """The ids ``query`` selects among ``ids``, asked 500 at a time (SQLite's variables)."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))  # only "?" marks go in the query
            found.update(row[0] for row in self._db.execute(query.format(marks=marks), part))
        return found

    def get_meta(self, key: str) -> str | None:
        """A value of the index's own metadata (prefer the typed properties below)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- typed metadata --------------------------------------------------------
    @property
    def fingerprint(self) -> IndexFingerprint | None:
        """The embedding model and chunking the index was built with (None before a sync)."""
        model, chunking = self.get_meta(_EMBEDDING_MODEL), self.get_meta(_CHUNKING)
        if model is None or chunking is None:
            return None
        return IndexFingerprint(model, chunking)

    @fingerprint.setter
    def fingerprint(self, value: IndexFingerprint) -> None:
        self._set_metas({_EMBEDDING_MODEL: value.embedding_model, _CHUNKING: value.chunking})

    @property
    def embedding_model(self) -> str | None:
        """The embedding model of the stored vectors, even if chunking was never recorded."""
        return self.get_meta(_EMBEDDING_MODEL)

    @property
    def last_sync(self) -> datetime | None:
        """When the last sync ended (UTC), written by the syncing writer under its lock."""
        value = self.get_meta(_LAST_SYNC)
        return None if value is None else datetime.fromisoformat(value)

    @last_sync.setter
    def last_sync(self, when: datetime) -> None:
        self.set_meta(_LAST_SYNC, when.astimezone(UTC).isoformat(timespec="seconds"))

    @property
    def keywords_current(self) -> bool:
        """Whether the keyword index matches the committed chunks."""
        return self.get_meta(_KEYWORDS) == "current"

    @keywords_current.setter
    def keywords_current(self, current: bool) -> None:
        self.set_meta(_KEYWORDS, "current" if current else "stale")

    @property
    def documents_folder(self) -> Path | None:
        """The (resolved) documents folder this index was built from; None for old indexes."""
        value = self.get_meta(_DOCUMENTS)
        return None if value is None else Path(value)

    @documents_folder.setter
    def documents_folder(self, folder: Path) -> None:
        self.set_meta(_DOCUMENTS, str(folder.resolve()))

    # --- writes ----------------------------------------------------------
    def mark_dirty(self, ids: Iterable[str]) -> None:
        """Record ids about to be written to the store, before writing them."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO dirty(id) VALUES (?)", ((i,) for i in ids))

    def commit_file(self, record: FileRecord, ids: Sequence[str]) -> None:
        """Record a file as indexed with these chunks; its previous chunks become dirty."""
        with self.transaction() as db:
            self._forget(db, record.path)
            db.execute(
                f"INSERT INTO files({_FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.path,
                    record.size,
                    record.mtime_ns,
                    record.content_hash,
                    record.pages,
                    record.chunks,
                    time.time(),
                    record.warning,
                ),
            )
            db.executemany(
                "INSERT INTO chunks(id, path, position) VALUES (?, ?, ?)",
                ((chunk_id, record.path, n) for n, chunk_id in enumerate(ids)),
            )
            db.execute("DELETE FROM failures WHERE path = ?", (record.path,))

    def remove_file(self, path: str) -> None:
        """Forget a file; its chunks become dirty, to be deleted from the store."""
        with self.transaction() as db:
            self._forget(db, path)

    def _forget(self, db: sqlite3.Connection, path: str) -> None:
        db.execute("INSERT OR IGNORE INTO dirty(id) SELECT id FROM chunks WHERE path = ?", (path,))
        db.execute("DELETE FROM chunks WHERE path = ?", (path,))
        db.execute("DELETE FROM files WHERE path = ?", (path,))

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """Remember a new stat for a file whose content did not change."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path)
            )

    def record_failure(self, failure: FailureRecord) -> None:
        """Remember why a file failed, so an unchanged bad file is not parsed again."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                (failure.path, failure.size, failure.mtime_ns, failure.reason),
            )

    def forget_failures(self, keep: set[str]) -> None:
        """Drop failures of files that are gone from the folder."""
        with self.transaction() as db:
            for path in set(self.failures()) - keep:
                db.execute("DELETE FROM failures WHERE path = ?", (path,))

    def clear_dirty(self) -> None:
        """Forget dirty ids once the uncommitted ones are deleted from the store."""
        with self.transaction() as db:
            db.execute("DELETE FROM dirty")

    def set_meta(self, key: str, value: str) -> None:
        """Store a value of the index's own metadata (prefer the typed properties)."""
        self._set_metas({key: value})

    def _set_metas(self, values: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def clear(self) -> None:
        """Forget everything (used by reset)."""
        with self.transaction() as db:
            for table in ("files", "chunks", "dirty", "failures", "meta"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def _owner_only(path: Path) -> None:
    """Make the database and its WAL files readable by their owner only (best effort)."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        try:
            path.with_name(name).chmod(0o600)
        except OSError:
            continue
