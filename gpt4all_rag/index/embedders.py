"""The embedders: the one place that picks one, and the hash fake beside the real one.

The hash embedder needs neither torch nor a model folder, which is what lets
the CLI and the app run on fakes in the fast test tier
(``Settings(embedding_backend="hash")``), and a test compute vectors by hand.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from gpt4all_rag.settings import HASH_EMBEDDER_NAME
from vectorstore.embeddings import SentenceTransformerEmbedder

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["HASH_DIMENSIONS", "HashEmbedder", "build_embedder", "embedder_name", "hash_vector"]

HASH_DIMENSIONS = 256


def hash_vector(text: str) -> list[float]:
    """A unit-length bag-of-words vector you can compute by hand.

    Each lower-case word (a run of letters, digits or ``_``) adds 1 to dimension
    ``sha1(word) % 256``; the vector is then scaled to unit length (all zeros
    stays all zeros).
    """
    vector = [0.0] * HASH_DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % HASH_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class HashEmbedder(Embeddings):
    """Embeddings from :func:`hash_vector`; records every batch it embedded."""

    name = HASH_EMBEDDER_NAME

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def texts_embedded(self) -> int:
        """How many texts (not queries) were embedded so far."""
        return sum(len(c) for c in self.calls)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages; the batch is recorded in :attr:`calls`."""
        self.calls.append(list(texts))
        return [hash_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (not recorded)."""
        return hash_vector(text)


def build_embedder(settings: Settings) -> Embeddings:
    """The embedder ``settings.embedding_backend`` names; torch is imported for MiniLM only."""
    match settings.embedding_backend:
        case "sentence-transformers":
            return SentenceTransformerEmbedder(
                settings.resolved_embedding_model(),
                settings.embedding_batch_size,
                settings.embedding_device,
                precision=settings.embedding_precision,
            )
        case "hash":
            return HashEmbedder()


def embedder_name(embedder: Embeddings) -> str:
    """The name an embedder records in the index (its ``name``, else its class)."""
    return str(getattr(embedder, "name", type(embedder).__name__))
