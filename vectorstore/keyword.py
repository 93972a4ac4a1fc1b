"""A BM25 keyword index over the stored chunks (bm25s), kept beside the Chroma data.

BM25 finds the exact terms (names, codes, numbers) that a small embedding model
blurs; fused with the vector results it ranks better than either alone (see
docs/benchmarks.md). bm25s cannot update an index in place, so it is rebuilt
from the store after each sync that changed something: seconds for 10^5 chunks.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KeywordHit", "KeywordIndex"]

_FORMAT = 1


@dataclass(frozen=True)
class KeywordHit:
    """A BM25 result: chunk id, its text and metadata, and the BM25 score."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float


class KeywordIndex:
    """BM25 over chunk texts with English stop words and Snowball stemming."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._loaded_mtime: float | None = None
        self._bm25: Any = None
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._metas: list[dict[str, Any]] = []

    def exists(self) -> bool:
        """Whether an index was built in the folder."""
        return (self.folder / "chunks.json").is_file()

    def rebuild(self, chunks: Iterable[Any]) -> None:
        """Index every chunk (objects with ``id``, ``text``, ``metadata``); atomic on disk."""
        import bm25s

        items = list(chunks)
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if items:
            bm25 = bm25s.BM25()
            bm25.index(self._tokenize([c.text for c in items]), show_progress=False)
            bm25.save(str(tmp / "bm25"))
        sidecar = {
            "format": _FORMAT,
            "ids": [c.id for c in items],
            "texts": [c.text for c in items],
            "metas": [c.metadata for c in items],
        }
        (tmp / "chunks.json").write_text(json.dumps(sidecar), encoding="utf-8")
        self._swap_in(tmp)

    def _swap_in(self, tmp: Path) -> None:
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def _tokenize(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)

    def _query_tokens(self, query: str) -> list[str]:
        import bm25s

        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
        )
        return [t for t in tokens[0] if t in self._bm25.vocab_dict]

    def _ensure_loaded(self) -> bool:
        """Load (or reload, after a rebuild by another process) the index from disk."""
        sidecar = self.folder / "chunks.json"
        try:
            mtime = sidecar.stat().st_mtime
        except FileNotFoundError:
            return False
        with self._lock:
            if mtime != self._loaded_mtime:
                self._load(sidecar, mtime)
        return self._bm25 is not None

    def _load(self, sidecar: Path, mtime: float) -> None:
        import bm25s

        data = json.loads(sidecar.read_text(encoding="utf-8"))
        self._ids, self._texts, self._metas = data["ids"], data["texts"], data["metas"]
        bm25_dir = self.folder / "bm25"
        self._bm25 = bm25s.BM25.load(str(bm25_dir)) if bm25_dir.exists() else None
        self._loaded_mtime = mtime

    def search(self, query: str, k: int, allowed: Any = None) -> list[KeywordHit]:
        """Top-``k`` chunks by BM25; ``allowed(metadata) -> bool`` filters before ranking."""
        if not self._ensure_loaded():
            return []
        tokens = self._query_tokens(query)
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if allowed is not None:
            mask = np.fromiter(
                (allowed(m) for m in self._metas), dtype=bool, count=len(self._metas)
            )
            scores = np.where(mask, scores, 0.0)
        return self._top(scores, k)

    def _top(self, scores: np.ndarray, k: int) -> list[KeywordHit]:
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            KeywordHit(self._ids[i], self._texts[i], self._metas[i], float(scores[i])) for i in best
        ]


@functools.cache
def _stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), built once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")
