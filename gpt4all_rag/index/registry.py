"""Collections: several named document folders, each with its own index, asked alone or together.

As GPT4All's LocalDocs collections work: a registry under one data folder names
each collection's documents folder, and each collection has its own index::

    <data_dir>/collections.json               {"collections": {"work": {"documents_dir": ...}}}
    <data_dir>/collections/<name>/index/      Chroma, manifest and keyword index

The settings' own pair (``documents_dir``, ``index_dir``) is the collection named
``default``: nothing moves for an existing single-folder setup, and ``data_dir``
defaults to the folder that holds ``index_dir``. ``Settings.collection`` picks the
collection an assistant opens (:func:`resolve_collection`, applied by
``DocumentAssistant.from_settings``).

This module is the light half: the registry file and settings resolution, with no
store, model or LangChain loaded. ``gpt4all_rag.assistant.several`` asks several
collections as one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt4all_rag.errors import AssistantError
from gpt4all_rag.settings import Settings
from gpt4all_rag.settings_indexing import COLLECTION_NAME_PATTERN, DEFAULT_COLLECTION
from ingest.atomic import write_atomic
from ingest.index_folder import INDEX_KIND
from ingest.lock import WriterLock
from vectorstore.ownership import remove_own_folder

__all__ = [
    "COLLECTIONS_FOLDER",
    "DEFAULT_COLLECTION",
    "REGISTRY_FILE",
    "Collection",
    "CollectionError",
    "CollectionExists",
    "CollectionNotFound",
    "CollectionRegistry",
    "check_name",
    "resolve_collection",
]

REGISTRY_FILE = "collections.json"
COLLECTIONS_FOLDER = "collections"
_NAME = re.compile(COLLECTION_NAME_PATTERN)


class CollectionError(AssistantError):
    """A collection name, folder or registry that cannot be used as asked."""


class CollectionNotFound(CollectionError):
    """No collection of that name is registered."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(
            f"no collection named {name!r} (known: {', '.join(known)}); "
            f"add it with: gpt4all-rag collections add {name} FOLDER"
        )
        self.name = name


class CollectionExists(CollectionError):
    """A collection of that name is already registered."""


@dataclass(frozen=True)
class Collection:
    """One named documents folder and the index built from it."""

    name: str
    documents_dir: Path
    index_dir: Path

    @property
    def default(self) -> bool:
        """Whether this is the settings' own folder pair (never moved, never removed)."""
        return self.name == DEFAULT_COLLECTION

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape."""
        return {
            "name": self.name,
            "documents_dir": str(self.documents_dir),
            "index_dir": str(self.index_dir),
            DEFAULT_COLLECTION: self.default,
        }


def check_name(name: str) -> str:
    """The name, if it can name a new collection (a folder, and part of a Chroma name)."""
    if name == DEFAULT_COLLECTION:
        raise CollectionError("'default' is the settings' own folder; choose another name")
    if not _NAME.fullmatch(name):
        raise CollectionError(
            f"bad collection name {name!r}: use 1-40 lower-case letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


class CollectionRegistry:
    """The named collections under one data folder, and the default one from the settings.

    Edits hold a lock on the registry file, so two processes adding collections at
    once both get theirs; the file is replaced whole (written, then renamed), so a
    reader never sees half of it.

    Args:
        data_dir: the folder holding ``collections.json`` and ``collections/``.
        default: the settings' own documents and index folders.
    """

    def __init__(self, data_dir: Path, default: Collection | None = None) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.default = default

    @classmethod
    def for_settings(cls, settings: Settings) -> CollectionRegistry:
        """The registry the settings point at (``data_dir``, else beside ``index_dir``).

        Give the settings as configured, not an assistant's: those of a named
        collection carry that collection's folders, not the default's.
        """
        root = settings.data_dir or settings.index_dir.expanduser().absolute().parent
        default = Collection(DEFAULT_COLLECTION, settings.documents_dir, settings.index_dir)
        return cls(root, default)

    @property
    def path(self) -> Path:
        """The registry file."""
        return self.data_dir / REGISTRY_FILE

    def index_dir(self, name: str) -> Path:
        """Where a named collection's index lives."""
        return self.data_dir / COLLECTIONS_FOLDER / name / "index"

    def _folders(self) -> dict[str, Path]:
        """Name -> documents folder, as the file says (no file: none)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CollectionError(f"cannot read the collections file {self.path}: {exc}") from exc
        entries = data.get("collections", {}) if isinstance(data, dict) else {}
        return {
            name: Path(entry["documents_dir"])
            for name, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("documents_dir"), str)
        }

    def all(self) -> list[Collection]:
        """Every collection: the default first, then the named ones by name."""
        named = [Collection(n, f, self.index_dir(n)) for n, f in sorted(self._folders().items())]
        return [self.default, *named] if self.default else named

    def names(self) -> list[str]:
        """The names of :meth:`all`."""
        return [c.name for c in self.all()]

    def get(self, name: str) -> Collection:
        """The collection of that name."""
        if name == DEFAULT_COLLECTION and self.default:
            return self.default
        folder = self._folders().get(name)
        if folder is None:
            raise CollectionNotFound(name, self.names())
        return Collection(name, folder, self.index_dir(name))

    def add(self, name: str, documents_dir: Path) -> Collection:
        """Register a documents folder under a new name; nothing is indexed yet."""
        check_name(name)
        folder = documents_dir.expanduser().resolve()
        if not folder.is_dir():
            raise CollectionError(f"{folder} is not a folder (create it and put documents in it)")
        if self.index_dir(name).resolve().is_relative_to(folder):
            raise CollectionError(
                f"the collection's index {self.index_dir(name)} would be inside {folder}: "
                "choose another data folder (GPT4ALL_RAG_DATA_DIR)"
            )
        with self._locked():
            folders = self._folders()
            if name in folders:
                raise CollectionExists(f"a collection named {name!r} exists: {folders[name]}")
            folders[name] = folder
            self._write(folders)
        return Collection(name, folder, self.index_dir(name))

    def remove(self, name: str) -> Collection:
        """Forget a collection and delete its index; its documents folder is not touched.

        Refused while an ingest writes to it (``IndexLocked``), and for a folder
        this project did not create (``NotOurFolder``): nothing is deleted then.
        """
        if name == DEFAULT_COLLECTION:
            raise CollectionError(
                "the default collection is the settings' own index; empty it with "
                "gpt4all-rag reset --yes"
            )
        with self._locked():
            collection = self.get(name)
            if collection.index_dir.exists():
                with WriterLock.for_index(collection.index_dir):
                    remove_own_folder(collection.index_dir, INDEX_KIND)
            _remove_if_empty(collection.index_dir.parent)
            folders = self._folders()
            del folders[name]
            self._write(folders)
        return collection

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the registry's lock (blocking: edits are short)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / f"{REGISTRY_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, folders: Mapping[str, Path]) -> None:
        """Replace the registry file whole."""
        entries = {n: {"documents_dir": str(f)} for n, f in sorted(folders.items())}
        text = json.dumps({"collections": entries}, indent=2, ensure_ascii=False) + "\n"
        write_atomic(self.path, text)


def _remove_if_empty(folder: Path) -> None:
    with suppress(OSError):  # missing, or holds something we did not put there: left alone
        folder.rmdir()


def resolve_collection(settings: Settings) -> Settings:
    """The settings of the collection ``settings.collection`` names: its folders, its store.

    ``default`` is the settings as they are. A named collection gets its documents
    folder from the registry, its index under the data folder, and a Chroma
    collection of its own (a Chroma server holds every collection side by side).
    Settings already resolved are returned as they are, so resolving twice is
    harmless and a documents folder set after resolving is kept. Settings resolved
    for one named collection can be turned to another, but not back to the default,
    whose folders they no longer hold.
    """
    registry = CollectionRegistry.for_settings(settings)
    previous = _resolved_for(settings, registry)
    if settings.collection == DEFAULT_COLLECTION:
        if previous is not None:
            raise CollectionError(
                f"these settings were resolved for collection {previous!r}; open the default "
                "collection from the settings as configured"
            )
        return settings
    collection = registry.get(settings.collection)
    if previous == collection.name:
        return settings
    base_name = settings.collection_name
    if previous is not None:
        base_name = base_name.removesuffix(f"-{previous}")
    chroma_name = f"{base_name}-{collection.name}"
    if len(chroma_name) > 63:
        raise CollectionError(f"collection_name + name is over 63 characters: {chroma_name}")
    update = {
        "data_dir": registry.data_dir,
        "documents_dir": collection.documents_dir,
        "index_dir": collection.index_dir,
        "collection_name": chroma_name,
    }
    return settings.model_copy(update=update)


def _resolved_for(settings: Settings, registry: CollectionRegistry) -> str | None:
    """The named collection whose index these settings point at, if any."""
    index = settings.index_dir.expanduser().absolute()
    if index.name == "index" and index.parent.parent == registry.data_dir / COLLECTIONS_FOLDER:
        return index.parent.name
    return None
