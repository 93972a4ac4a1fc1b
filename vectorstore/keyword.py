"""A BM25 keyword index over the stored chunks (bm25s), kept beside the Chroma data.

BM25 finds the exact terms (names, codes, numbers) that a small embedding model
blurs; fused with the vector results it ranks better than either alone (see
docs/benchmarks.md).

bm25s cannot update an index in place, but its input can be: the index keeps every
chunk's stemmed tokens on disk (4 bytes a token). The writer hands over the chunks it
writes (``stage``) and then the ids that are committed (``commit``). The commit keeps
the tokens of unchanged chunks, adds the staged ones, and rebuilds the BM25 matrix
from tokens alone. So an ingest never reads the stored texts back, and memory stays
at a few bytes per token, however large the corpus. The index holds no texts: a hit
is read back from the store.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.ownership import is_marked, mark, remove_own_folder
from vectorstore.schema import BM25_B, BM25_K1, ChunkMetadata, ChunkRecord, indexed_text

__all__ = [
    "FILTER_FIELDS",
    "STOP_WORDS",
    "KeywordHit",
    "KeywordIndex",
    "query_stems",
]

_FORMAT = 4  # 3: identifiers whole and in parts (keyword._terms); 4: k1 and b recorded
_SIDECAR = "index.json"
_BATCH = 2000
# The metadata a search filter may look at (``allowed`` in ``search``): per file, not per
# chunk, so the index holds one small dict per file, whatever the number of chunks.
FILTER_FIELDS = ("path", "ext")
_EMPTY = ""  # the token of a chunk with no words (id 0), so that every chunk has one
_KIND = "keyword-index"  # the ownership marker of every folder this index writes

FileKey = tuple[Any, ...]
Allowed = Callable[[Mapping[str, Any]], bool]
Fetch = Callable[[list[str]], Iterable[ChunkRecord]]


@dataclass(frozen=True)
class KeywordHit:
    """A BM25 result: the chunk id, its file's filter fields and the BM25 score.

    The index holds no texts: the caller reads the chunk from the store.
    """

    id: str
    file: dict[str, Any]
    score: float


@dataclass
class _Tokens:
    """Stemmed token ids and the filter key of some chunks, by chunk id."""

    vocab: dict[str, int]
    by_id: dict[str, tuple[array[int], FileKey]]

    def add(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[ChunkMetadata]
    ) -> None:
        """Tokenize chunks, in batches."""
        for start in range(0, len(ids), _BATCH):
            part = slice(start, start + _BATCH)
            stems = _stems(
                [indexed_text(t, m) for t, m in zip(texts[part], metadatas[part], strict=True)]
            )
            for chunk_id, words, metadata in zip(ids[part], stems, metadatas[part], strict=True):
                doc = array("I", (self.vocab.setdefault(w, len(self.vocab)) for w in words))
                fields: Mapping[str, object] = metadata
                key = tuple(fields.get(name) for name in FILTER_FIELDS)
                self.by_id[chunk_id] = (doc or array("I", [0]), key)

    def add_chunks(self, chunks: Iterable[ChunkRecord]) -> None:
        """Tokenize stored chunks."""
        for batch in _batched(chunks, _BATCH):
            self.add([c.id for c in batch], [c.text for c in batch], [c.metadata for c in batch])


class KeywordIndex:
    """BM25 over chunk texts with English stop words and Snowball stemming.

    ``k1`` and ``b`` are BM25's parameters; an index saved with others is stale, and the
    next ingest rebuilds it (from the stored texts: no embedding). ``locate``, where
    given, says before each search which folder holds the index now (a replica that
    follows published generations, ``ingest.replica``; None: no index yet).
    """

    def __init__(
        self,
        folder: Path,
        k1: float = BM25_K1,
        b: float = BM25_B,
        locate: Callable[[], Path | None] | None = None,
    ) -> None:
        self.folder = folder
        self.k1 = k1
        self.b = b
        self._locate = locate
        self._lock = threading.Lock()
        self._loaded: tuple[Path, float] | None = None
        self._bm25: Any = None
        self._ids: list[str] = []
        self._files: list[dict[str, Any]] = []
        self._file_of: np.ndarray = np.zeros(0, dtype=np.int32)
        self._staged: _Tokens | None = None

    def exists(self) -> bool:
        """Whether an index of the current format was built in the folder."""
        return self._read_sidecar(whole=False) is not None

    def chunk_ids(self) -> list[str]:
        """The ids of the chunks indexed on disk (empty without a usable index)."""
        sidecar = self._read_sidecar()
        return list(sidecar[1]) if sidecar is not None else []

    # --- writing ---------------------------------------------------------------------
    def stage(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[ChunkMetadata]
    ) -> None:
        """Tokenize chunks just written to the store, for the next ``commit``."""
        if self._staged is None:
            self._staged = _Tokens(self._saved_vocab(), {})
        self._staged.add(ids, texts, metadatas)

    def discard_staged(self) -> None:
        """Forget staged chunks (a writer starting over)."""
        self._staged = None

    def commit(self, ids: Sequence[str], fetch: Fetch) -> None:
        """Rebuild the index over exactly ``ids``; atomic on disk.

        A chunk's tokens come from the staged ones, else from the saved index, else
        from ``fetch(ids)``, which reads chunks from the store (a first build, or an
        index lost or of an older format).
        """
        tokens = self._staged or _Tokens(self._saved_vocab(), {})
        self._staged = None
        saved = self._saved_tokens(exclude=tokens.by_id)
        missing = [i for i in ids if i not in tokens.by_id and i not in saved]
        for batch in _batched(missing, _BATCH):
            tokens.add_chunks(fetch(batch))
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        self._remove(tmp)
        tmp.mkdir(mode=0o700, parents=True)
        mark(tmp, _KIND)
        kept = [i for i in ids if i in tokens.by_id or i in saved]
        self._write(tmp, kept, tokens, saved)
        self._swap_in(tmp)

    def _write(
        self,
        tmp: Path,
        ids: list[str],
        tokens: _Tokens,
        saved: dict[str, tuple[array[int], FileKey]],
    ) -> None:
        import bm25s  # bm25s: on first use only
        from bm25s.tokenization import Tokenized  # as above

        files: dict[FileKey, int] = {}
        file_of = array("I")
        docs: list[array[int]] = []
        for chunk_id in ids:
            doc, key = tokens.by_id.get(chunk_id) or saved[chunk_id]
            docs.append(doc)
            file_of.append(files.setdefault(key, len(files)))
        if ids:
            bm25 = bm25s.BM25(k1=self.k1, b=self.b)
            bm25.index(Tokenized(docs, dict(tokens.vocab)), show_progress=False)
            bm25.save(str(tmp / "bm25"))
        flat = np.frombuffer(b"".join(d.tobytes() for d in docs), dtype=np.uint32)
        np.save(tmp / "tokens.npy", flat)
        np.save(tmp / "lengths.npy", np.fromiter(map(len, docs), np.int64, len(docs)))
        (tmp / "vocab.json").write_text(json.dumps(tokens.vocab), encoding="utf-8")
        with (tmp / _SIDECAR).open("w", encoding="utf-8") as out:
            out.write(json.dumps(self._header()) + "\n")
            out.write(json.dumps([dict(zip(FILTER_FIELDS, k, strict=True)) for k in files]))
            out.write("\n" + json.dumps(ids) + "\n" + json.dumps(file_of.tolist()) + "\n")

    def _saved_vocab(self) -> dict[str, int]:
        if not self.exists():
            return {_EMPTY: 0}
        vocab: dict[str, int] = json.loads((self.folder / "vocab.json").read_text("utf-8"))
        return vocab

    def _saved_tokens(self, exclude: dict[str, Any]) -> dict[str, tuple[array[int], FileKey]]:
        """The saved index's tokens by chunk id (none if there is no usable index)."""
        sidecar = self._read_sidecar()
        if sidecar is None:
            return {}
        files, ids, file_of = sidecar
        flat = np.load(self.folder / "tokens.npy")
        ends = np.cumsum(np.load(self.folder / "lengths.npy"))
        saved = {}
        for n, chunk_id in enumerate(ids):
            if chunk_id not in exclude:
                start = int(ends[n - 1]) if n else 0
                key = tuple(files[file_of[n]].get(name) for name in FILTER_FIELDS)
                saved[chunk_id] = (array("I", flat[start : ends[n]].tobytes()), key)
        return saved

    def _read_sidecar(self, whole: bool = True) -> list[Any] | None:
        """The saved index's ``[files, ids, file_of]`` (``[]`` unless ``whole``).

        None if it is missing, or of another format or other BM25 parameters, which are
        on the first line, alone.
        """
        try:
            with (self.folder / _SIDECAR).open(encoding="utf-8") as f:
                if json.loads(f.readline()) != self._header():
                    return None
                return [json.loads(f.readline()) for _ in range(3 if whole else 0)]
        except (OSError, ValueError, AttributeError):
            return None

    def _header(self) -> dict[str, Any]:
        return {"format": _FORMAT, "k1": self.k1, "b": self.b}

    def _swap_in(self, tmp: Path) -> None:
        old = self.folder.with_name(self.folder.name + ".old")
        self._remove(old)
        if self.folder.exists() or self.folder.is_symlink():
            self._check_own(self.folder)
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        self._remove(old)

    def clear(self) -> None:
        """Delete the index (a reset); refuses a folder this index did not write."""
        for folder in (self.folder, *self._siblings()):
            self._remove(folder)

    def _siblings(self) -> tuple[Path, Path]:
        return (
            self.folder.with_name(self.folder.name + ".tmp"),
            self.folder.with_name(self.folder.name + ".old"),
        )

    def _remove(self, folder: Path) -> None:
        """Delete a folder this index wrote (marked, or the layout of an older version)."""
        remove_own_folder(folder, _KIND, legacy=_legacy_layout(folder))

    def _check_own(self, folder: Path) -> None:
        if folder.is_symlink() or not (is_marked(folder, _KIND) or _legacy_layout(folder)):
            remove_own_folder(folder, _KIND)  # raises NotOurFolder, deletes nothing

    # --- searching -------------------------------------------------------------------
    def _ensure_loaded(self) -> bool:
        """Load (or reload, after a rebuild by another process) the index from disk."""
        if self._locate is not None:
            located = self._locate()
            if located is None:
                return False
            self.folder = located
        folder = self.folder
        try:
            mtime = (folder / _SIDECAR).stat().st_mtime
        except FileNotFoundError:
            return False
        with self._lock:
            if (folder, mtime) != self._loaded:
                self._load(folder, mtime)
        return self._bm25 is not None

    def _load(self, folder: Path, mtime: float) -> None:
        self._bm25, self._loaded = None, (folder, mtime)
        sidecar = self._read_sidecar()
        bm25_dir = folder / "bm25"
        if sidecar is None or not bm25_dir.exists():
            return  # empty, or an older format: rebuilt by the next ingest
        files, self._ids, file_of = sidecar
        self._files, self._file_of = files, np.asarray(file_of, dtype=np.int32)
        self._bm25 = _SavedScores.load(bm25_dir, len(self._ids))

    def search(self, query: str, k: int, allowed: Allowed | None = None) -> list[KeywordHit]:
        """Top-``k`` chunks by BM25.

        ``allowed(fields) -> bool``, given a file's ``FILTER_FIELDS``, filters before ranking.
        """
        if not self._ensure_loaded():
            return []
        tokens = [t for t in query_stems(query) if t in self._bm25.vocab]
        if not tokens:
            return []
        scores = self._bm25.scores(tokens)
        if allowed is not None:
            files = self._files
            keep = np.fromiter((allowed(f) for f in files), dtype=bool, count=len(files))
            scores = np.where(keep[self._file_of], scores, 0.0)
        return self._top(scores, k)

    def _top(self, scores: np.ndarray, k: int) -> list[KeywordHit]:
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            KeywordHit(self._ids[i], self._files[self._file_of[i]], float(scores[i])) for i in best
        ]


@dataclass(frozen=True)
class _SavedScores:
    """A saved bm25s index, scored with numpy alone.

    bm25s (method "lucene") stores each term's score in each document it occurs in, as
    a compressed sparse column matrix: a query's scores are the sum of its terms'
    columns. Reading the three arrays directly spares a search process the import of
    bm25s and scipy (a quarter of a second of ``gpt4all-rag search``); the scores are
    bm25s's own (tests/vectorstore/test_keyword_terms.py).
    """

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    documents: int

    @classmethod
    def load(cls, folder: Path, documents: int) -> _SavedScores:
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        data, indices, indptr = (
            np.load(folder / f"{name}.csc.index.npy") for name in ("data", "indices", "indptr")
        )
        return cls(vocab, data, indices, indptr, documents)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Each document's BM25 score for the terms (a repeated term counts again)."""
        scores = np.zeros(self.documents, dtype=np.float64)
        for term in terms:
            column = self.vocab[term]
            start, end = int(self.indptr[column]), int(self.indptr[column + 1])
            scores[self.indices[start:end]] += self.data[start:end]
        return scores


_OWN_FILES = frozenset({"bm25", "tokens.npy", "lengths.npy", "vocab.json", _SIDECAR})


def _legacy_layout(folder: Path) -> bool:
    """A keyword folder written before ownership markers: nothing in it but what we write."""
    try:
        names = {entry.name for entry in folder.iterdir()}
    except OSError:
        return False
    return names <= _OWN_FILES


# A word, or a dotted/underscored identifier such as ``install.packages`` or ``R_HOME``.
_WORD = re.compile(r"\w+(?:[.]\w+)*")
_PARTS = re.compile(r"[._]+")


def _stems(texts: list[str]) -> list[list[str]]:
    """Each text's BM25 terms: words of two or more characters, stemmed, no stop words.

    Lower case, bm25s's English stop words out, Snowball stems. A dotted or underscored
    identifier counts whole *and* as its parts: ``install.packages`` is found by
    "install.packages" (the rare whole term scores high) and by "install packages".
    """
    stem = _stemmer().stemWord
    return [[stem(t) for t in _terms(text.lower()) if t not in STOP_WORDS] for text in texts]


def _terms(text: str) -> Iterator[str]:
    for word in _WORD.findall(text):
        if len(word) < 2:
            continue
        yield word
        if "." in word or "_" in word:
            yield from (part for part in _PARTS.split(word) if len(part) >= 2)


def query_stems(query: str) -> list[str]:
    """A question's BM25 terms: as ``_stems``, less the words every question has."""
    return [t for t in _stems([query])[0] if t not in _question_stems()]


# bm25s's English stop words (``bm25s.stopwords.STOPWORDS_EN``), kept here so that a
# search never imports bm25s and scipy; a test checks that the two lists agree.
STOP_WORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as words
        "a an and are as at be but by for if in into is it no not of on or such that the "
        "their then there these they this to was will with"
    ).split()
)


# Words that say what kind of question it is, not what it is about ("how do I ...").
QUESTION_WORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as words
        "can could do does doing done how i me my please should tell want way what when where "
        "which who whom whose why would you your"
    ).split()
)


@functools.cache
def _question_stems() -> frozenset[str]:
    return frozenset(_stemmer().stemWord(w) for w in QUESTION_WORDS)


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@functools.cache
def _stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), built once per process."""
    import Stemmer  # PyStemmer: on first use only

    return Stemmer.Stemmer("english")
