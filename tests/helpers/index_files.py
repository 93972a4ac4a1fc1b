"""What an index holds, read past the assistant: for checks that nothing was lost or added."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["counts", "stored_ids"]


def counts(index: Path) -> tuple[int, int]:
    """(chunks in the manifest, vectors in Chroma), read from the files themselves."""
    with sqlite3.connect(index / "manifest.sqlite3") as db:
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    with sqlite3.connect(index / "chroma" / "chroma.sqlite3") as db:
        vectors = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    return chunks, vectors


def stored_ids(assistant: Any) -> set[str]:
    """The ids of every chunk in the assistant's Chroma collection."""
    return set(assistant.store.collection.get()["ids"])
