"""Errors raised by the vector store layer."""

from __future__ import annotations

from pathlib import Path

__all__ = ["VectorStoreError", "EmbeddingModelNotFound", "StoreUnavailable"]


class VectorStoreError(Exception):
    """Base class of every error this package raises."""


class EmbeddingModelNotFound(VectorStoreError):
    """The embedding model folder is missing or is not a sentence-transformers model."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"embedding model {path}: {reason}")
        self.path = path
        self.reason = reason


class StoreUnavailable(VectorStoreError):
    """Chroma could not be opened or reached."""
