"""Predictable fakes as first-class backends: a hash embedder and a scripted chat model.

They are selectable by settings like any other backend
(``Settings(embedding_backend="hash", llm_backend="scripted")``), so the CLI and
the app run on them in seconds, without torch or llama.cpp: the fast test tier
and demos use them, and a test can compute their results by hand.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Sequence

from langchain_core.embeddings import Embeddings

from gpt4all_rag.index_status import HASH_EMBEDDER_NAME
from gpt4all_rag.settings import DEFAULT_SCRIPTED_REPLY
from gpt4all_rag.types import Message

__all__ = [
    "DEFAULT_SCRIPTED_REPLY",
    "HASH_DIMENSIONS",
    "HashEmbedder",
    "ScriptedLLM",
    "hash_vector",
]

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


class ScriptedLLM:
    """A chat model that answers from a script and records every prompt it got.

    Replies are used in order; the last one repeats once the others are used.
    Tokens are the reply's words, each followed by a space, and a token is one
    whitespace-separated word for :meth:`count_tokens`.
    """

    name = "scripted"

    def __init__(self, replies: Sequence[str] | None = None, context_size: int = 2048) -> None:
        self.replies = list(replies or [DEFAULT_SCRIPTED_REPLY])
        self.prompts: list[list[Message]] = []
        self._context_size = context_size

    @property
    def context_size(self) -> int:
        """The context window the prompt must fit in."""
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """Whitespace-separated words."""
        return len(text.split())

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the next scripted reply word by word (``max_tokens`` words at most)."""
        self.prompts.append(messages)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        for word in reply.split(" ")[:max_tokens]:
            yield word + " "
