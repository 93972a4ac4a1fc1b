"""Sentence-transformers embeddings from a local model folder, never from a hub."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from vectorstore.errors import EmbeddingModelNotFound

__all__ = ["SentenceTransformerEmbedder", "offline_environment"]


def offline_environment() -> None:
    """Forbid Hugging Face libraries from reaching the network.

    Set before sentence-transformers is imported, so a missing local file is an
    error instead of a silent download (a privacy leak for our users).
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class SentenceTransformerEmbedder(Embeddings):
    """Normalized sentence-transformers vectors, loaded lazily on first use.

    Lazy loading matters: a re-sync with nothing new must not pay the model's
    load time, so the model is only read when a text is actually embedded.
    """

    def __init__(self, model_dir: Path, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """A short name for status displays and the index fingerprint."""
        generic = {"model", "models", "snapshot", "main"}
        return self.model_dir.parent.name if self.model_dir.name in generic else self.model_dir.name

    @property
    def loaded(self) -> bool:
        """Whether the model weights are in memory."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if not (self.model_dir / "config.json").is_file():
                    raise EmbeddingModelNotFound(self.model_dir, "no config.json in that folder")
                offline_environment()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    str(self.model_dir), device=self.device, local_files_only=True
                )
        return self._model

    def max_tokens(self) -> int:
        """Word pieces the model reads before truncating."""
        return int(self._load().max_seq_length)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages in batches; vectors are unit length (cosine = dot product)."""
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query the same way as the passages."""
        return self.embed_documents([text])[0]
