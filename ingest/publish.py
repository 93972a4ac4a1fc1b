"""Numbered, read-only generations of the index's own files, for replicas on other machines.

The Chroma collection is shared through its server; the manifest (SQLite) and the BM25
keyword index are files in the writer's index folder. SQLite must not be shared live
over a network file system (WAL needs shared memory, ``flock`` is unreliable on NFS),
so the one writer publishes copies instead. After every sync that changed the index it
writes ``gen-N/`` beside the older ones in the publication folder:

- ``manifest.sqlite3``: a consistent copy (SQLite's backup API), in rollback-journal
  mode, read by replicas with ``immutable=1``: no locks, no shared memory;
- ``keywords/``: the keyword index, hard-linked where the folders share a file system
  (the writer never changes a keyword file in place: each rebuild is a new folder);
- ``generation.json``: its number, when, and what it holds.

The folder is written as ``gen-N.tmp`` and renamed whole, then ``CURRENT`` (one line,
``gen-N``) is replaced atomically. A reader that reads ``CURRENT`` finds a complete
generation; a writer that crashes before the rename leaves a ``.tmp`` that the next
publish deletes, and ``CURRENT`` still names the last complete generation. The last
``keep`` generations are kept, so a replica that read ``CURRENT`` just before a publish
still finds the files it named.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.atomic import write_atomic
from ingest.errors import IngestError
from ingest.manifest import MANIFEST_FILE, Manifest

__all__ = [
    "CURRENT_FILE",
    "GENERATION_FILE",
    "Generation",
    "Publication",
    "PublicationError",
    "Publisher",
]

CURRENT_FILE = "CURRENT"
GENERATION_FILE = "generation.json"
KEYWORDS_FOLDER = "keywords"
_NAME = re.compile(r"gen-(\d+)")


class PublicationError(IngestError):
    """A publication folder that cannot be read or written."""


@dataclass(frozen=True)
class Generation:
    """One published generation: its number and its folder."""

    number: int
    folder: Path

    @property
    def manifest(self) -> Path:
        """The generation's copy of the manifest."""
        return self.folder / MANIFEST_FILE

    @property
    def keywords(self) -> Path:
        """The generation's copy of the keyword index."""
        return self.folder / KEYWORDS_FOLDER

    def info(self) -> dict[str, object]:
        """What ``generation.json`` says (number, time, counts, source stamp)."""
        data = json.loads((self.folder / GENERATION_FILE).read_text(encoding="utf-8"))
        return dict(data) if isinstance(data, dict) else {}


class Publication:
    """A publication folder, as replicas read it: which generation is current."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current(self) -> Generation | None:
        """The generation ``CURRENT`` names, or None before the first publish.

        Raises:
            PublicationError: ``CURRENT`` names something that is not a generation.
        """
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        match = _NAME.fullmatch(name)
        if match is None or not (self.root / name).is_dir():
            raise PublicationError(
                f"{self.root / CURRENT_FILE}: names {name!r}, which is not a published "
                "generation of this folder"
            )
        return Generation(int(match.group(1)), self.root / name)

    def generations(self) -> list[Generation]:
        """Every complete generation in the folder, oldest first."""
        found = []
        for entry in self.root.iterdir() if self.root.is_dir() else ():
            match = _NAME.fullmatch(entry.name)
            if match and entry.is_dir():
                found.append(Generation(int(match.group(1)), entry))
        return sorted(found, key=lambda g: g.number)


class Publisher(Publication):
    """The writer's side: publishes the index's manifest and keyword index as a generation.

    Args:
        root: the publication folder (shared storage the replicas read).
        keywords: the writer's keyword index folder.
        keep: complete generations kept; at least 2, so that ``CURRENT``'s previous
            target survives a publish.
    """

    def __init__(self, root: Path, keywords: Path, keep: int = 3) -> None:
        super().__init__(root)
        if keep < 2:
            raise ValueError("keep at least 2 generations: replicas may be reading the last")
        self.keywords = keywords
        self.keep = keep

    def publish_if_behind(self, manifest: Manifest) -> Generation | None:
        """Publish when the index changed since the current generation; the new one or None.

        Compared by a stamp of the manifest's counts and the keyword index's build
        time, so that a writer that crashed between its commit and its publish
        publishes on its next sync, even when that sync changes nothing.
        """
        stamp = _stamp(manifest, self.keywords)
        return self.publish(manifest, stamp) if self._behind(stamp) else None

    def is_behind(self, manifest: Manifest) -> bool:
        """Whether the index changed since the current generation (or none was published)."""
        return self._behind(_stamp(manifest, self.keywords))

    def _behind(self, stamp: list[object]) -> bool:
        current = self.current()
        return current is None or current.info().get("source") != stamp

    def publish(self, manifest: Manifest, stamp: list[object] | None = None) -> Generation:
        """Write the next generation from the live manifest and keyword folder; return it.

        Only the one writer calls this, under the index's writer lock (so ``stamp``, the
        index's stamp if the caller has it, stays true while the copy is made).
        """
        stamp = stamp or _stamp(manifest, self.keywords)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._remove_partial()
        existing = self.generations()
        number = existing[-1].number + 1 if existing else 1
        final = self.root / f"gen-{number}"
        partial = final.with_name(final.name + ".tmp")
        partial.mkdir(mode=0o700)
        try:
            _copy_manifest(manifest, partial / MANIFEST_FILE)
            if (self.keywords / "index.json").is_file():
                shutil.copytree(
                    self.keywords, partial / KEYWORDS_FOLDER, copy_function=_link_or_copy
                )
            info = _info(number, stamp)
            write_atomic(partial / GENERATION_FILE, json.dumps(info, indent=1), mode=0o600)
            _sync_folder(partial)
            os.replace(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        write_atomic(self.root / CURRENT_FILE, final.name + "\n", mode=0o600)
        _sync_folder(self.root)
        self._prune()
        return Generation(number, final)

    def _remove_partial(self) -> None:
        """Delete what a publish that crashed left (``gen-N.tmp``)."""
        for entry in self.root.iterdir():
            if entry.name.endswith(".tmp") and _NAME.fullmatch(entry.name[: -len(".tmp")]):
                shutil.rmtree(entry, ignore_errors=True)

    def _prune(self) -> None:
        """Delete all but the newest ``keep`` generations (the newest is ``CURRENT``)."""
        for old in self.generations()[: -self.keep]:
            shutil.rmtree(old.folder, ignore_errors=True)


def _copy_manifest(manifest: Manifest, target: Path) -> None:
    """A consistent copy of the live manifest, in rollback mode (readable with immutable=1)."""
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    copy = sqlite3.connect(str(target))
    try:
        manifest.backup_to(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.commit()
    finally:
        copy.close()


def _info(number: int, stamp: list[object]) -> dict[str, object]:
    return {
        "generation": number,
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": stamp[0],
        "chunks": stamp[1],
        "source": stamp,
    }


def _stamp(manifest: Manifest, keywords: Path) -> list[object]:
    """What identifies the index's state: its counts and the keyword index's build time.

    Not the last sync's time: a sync that changed nothing publishes nothing.
    """
    try:
        built = (keywords / "index.json").stat().st_mtime_ns
    except FileNotFoundError:
        built = 0
    return [manifest.file_count(), manifest.chunk_count(), len(manifest.failures()), built]


def _link_or_copy(source: str, target: str) -> str:
    """A hard link where both sit on one file system (the files never change), else a copy."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(source, target)
    return target


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the renames in it) to disk."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
