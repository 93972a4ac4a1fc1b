"""Shared fixtures: predictable fakes and a real Chroma in a temp folder."""

from __future__ import annotations

import hashlib
import math
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from gpt4all_rag.assistant import DocumentAssistant
from gpt4all_rag.settings import Settings

DATA = Path(__file__).parent / "data"
DOCS = DATA / "docs"

# What ingesting tests/data/docs gives (see tests/data/README.md): the good files, the
# bad ones with a substring of their reason, and chunks per file at 200/32 tokens.
DOCS_GOOD = [
    "book.epub",
    "latin1.txt",
    "manual.pdf",
    "notes.md",
    "page.html",
    "report.docx",
    "slides.pptx",
    "table.csv",
]
DOCS_FAILED = {
    "binary.txt": "binary content, not text",
    "corrupt.pdf": "not a valid PDF",
    "empty.txt": "empty file",
    "encrypted.pdf": "encrypted PDF (password required)",
}
DOCS_CHUNKS = {
    "book.epub": 1,
    "latin1.txt": 1,
    "manual.pdf": 3,
    "notes.md": 4,
    "page.html": 1,
    "report.docx": 1,
    "slides.pptx": 2,
    "table.csv": 1,
}
DIM = 256


class HashEmbedder(Embeddings):
    """Bag-of-words vectors you can compute by hand: each lower-case word adds 1 to
    dimension ``sha1(word) % 256``; the vector is then scaled to unit length."""

    name = "hash-embedder"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def texts_embedded(self) -> int:
        return sum(len(c) for c in self.calls)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [hash_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hash_vector(text)


def hash_vector(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class ScriptedLLM:
    """A chat model that answers from a script and records every prompt it got."""

    name = "scripted"

    def __init__(self, replies: list[str] | None = None, context_size: int = 2048) -> None:
        self.replies = list(replies or ["The answer is in the documents [1]."])
        self.prompts: list[list[dict[str, str]]] = []
        self._context_size = context_size

    @property
    def context_size(self) -> int:
        return self._context_size

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        self.prompts.append(messages)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        for word in reply.split(" "):
            yield word + " "


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data/docs."""
    target = tmp_path / "docs"
    shutil.copytree(DOCS, target)
    return target


@pytest.fixture
def make_assistant(tmp_path: Path) -> Callable[..., DocumentAssistant]:
    """Build an assistant on a real Chroma in tmp_path, with fakes unless told otherwise."""

    def build(
        documents: Path, embedder: Any = None, llm: Any = None, **overrides: Any
    ) -> DocumentAssistant:
        overrides.setdefault("index_dir", tmp_path / "index")
        settings = Settings(documents_dir=documents, **overrides)
        return DocumentAssistant.from_settings(
            settings, llm=llm or ScriptedLLM(), embedder=embedder
        )

    return build
