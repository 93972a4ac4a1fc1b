"""Sentence-transformers embeddings from a local model folder, never from a hub.

Small and large jobs take different runtimes. A query is one short text, and the CLI
embeds one per process: numpy runs the MiniLM forward pass in a few milliseconds
(``vectorstore.numpy_minilm``), where importing torch and sentence-transformers alone
takes about 8 s on 2 cores. The same holds for the few dozen sentences an answer's
evidence and grounding embed. An ingest embeds thousands of chunks, where torch's
batched kernels pay: sentence-transformers is imported the first time a large batch
comes, never at import time. Both give the same vectors (cosine >= 0.999,
tests/vectorstore/test_numpy_minilm.py), so which one ran never shows in the results.

Ingest batches run under bfloat16 autocast on CPUs with native bfloat16 (AVX512-BF16,
AMX): 2.1x the tokens per second of float32 on this project's 2-core machine, at cosine
0.99997 to the float32 vectors (docs/benchmarks.md, "Speed, session 5"). Weights stay
float32, so only the matrix products round; casting the weights themselves cost cosine
(0.996) and speed.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings

from vectorstore.errors import EmbeddingModelNotFound
from vectorstore.schema import EmbeddingPrecision, model_folder_name

__all__ = ["NUMPY_MAX_TOKENS", "SentenceTransformerEmbedder", "offline_environment"]

# Batches up to this many word pieces run on numpy while torch is not loaded: about a
# second of numpy on 2 cores, against 8 s for importing torch. An ingest's batches
# (256 chunks of 200 tokens) are far larger, and load torch.
NUMPY_MAX_TOKENS = 4096


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

    Lazy loading matters: a re-sync with nothing new must not pay the model's load
    time, and a search must not pay torch's import. Queries, and batches of at most
    ``NUMPY_MAX_TOKENS`` word pieces while torch is not loaded, run on numpy when the
    model is a BERT with mean pooling (all-MiniLM-L6-v2 is); the rest runs on
    sentence-transformers.

    Args:
        model_dir: a local sentence-transformers folder.
        batch_size: texts per forward pass when embedding documents.
        device: the torch device for documents.
        numpy_queries: embed queries and small batches with numpy where the model
            allows it; False embeds everything with sentence-transformers.
        precision: the matrix products of torch batches. ``auto`` is bfloat16 on a CPU
            with native bfloat16 and float32 elsewhere (emulated bfloat16 is slower).
    """

    def __init__(
        self,
        model_dir: Path,
        batch_size: int = 32,
        device: str = "cpu",
        numpy_queries: bool = True,
        precision: EmbeddingPrecision = "auto",
    ) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.device = device
        self.numpy_queries = numpy_queries
        self.precision = precision
        self._model: Any = None
        self._query_model: Any = None
        self._query_checked = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """A short name for status displays and the index fingerprint."""
        return model_folder_name(self.model_dir)

    @property
    def loaded(self) -> bool:
        """Whether model weights are in memory (torch's, or numpy's for queries)."""
        return self._model is not None or self._query_model is not None

    def _check_folder(self) -> None:
        if not (self.model_dir / "config.json").is_file():
            raise EmbeddingModelNotFound(self.model_dir, "no config.json in that folder")

    def _load(self) -> Any:
        """The sentence-transformers model, imported and read on first use."""
        with self._lock:
            if self._model is None:
                self._check_folder()
                offline_environment()
                # oneDNN caches a kernel (with reordered weights) per input shape, up to
                # 1,024: bfloat16 batches of many lengths grew an ingest of the nine R
                # manuals to 2.15 GB. 16 kept the four-manual ingest's time and cut its
                # peak RSS from 1.69 to 1.55 GB.
                os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
                from sentence_transformers import SentenceTransformer  # torch: on first use only

                self._model = SentenceTransformer(
                    str(self.model_dir), device=self.device, local_files_only=True
                )
        return self._model

    def _numpy_model(self) -> Any:
        """The numpy query model, or None when this model needs sentence-transformers."""
        with self._lock:
            if not self._query_checked:
                self._check_folder()
                from vectorstore.numpy_minilm import numpy_model  # numpy: on first query only

                self._query_model = numpy_model(self.model_dir)
                self._query_checked = True
        return self._query_model

    def max_tokens(self) -> int:
        """Word pieces the model reads before truncating."""
        if self.numpy_queries and (model := self._numpy_model()) is not None:
            return int(model.max_seq_length)
        return int(self._load().max_seq_length)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages in batches; vectors are unit length (cosine = dot product)."""
        if not texts:
            return []
        model = self._numpy_for(texts)
        if model is not None:
            return list(model.encode(list(texts)).tolist())
        model = self._load()
        with self._autocast():
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype("float32").tolist()

    def resolved_precision(self) -> Literal["float32", "bfloat16"]:
        """The precision torch batches run in; ``auto`` asks the CPU (imports torch)."""
        if self.precision != "auto":
            return self.precision
        if self.device != "cpu":
            return "float32"
        import torch  # torch: on use only

        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return "bfloat16" if native else "float32"

    def _autocast(self) -> AbstractContextManager[Any]:
        """bfloat16 autocast for the forward pass when that is the precision, else nothing."""
        if self.resolved_precision() == "float32":
            return contextlib.nullcontext()
        import torch  # torch: on use only

        device_type = torch.device(self.device).type
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16)

    def _numpy_for(self, texts: Sequence[str]) -> Any:
        """The numpy model if this batch is small and torch is not loaded yet, else None."""
        if not self.numpy_queries or self._model is not None:
            return None
        model = self._numpy_model()
        if model is None or model.count_tokens(texts) > NUMPY_MAX_TOKENS:
            return None
        return model

    def embed_query(self, text: str) -> list[float]:
        """Embed one query the same way as the passages (numpy where it can, no torch)."""
        if self.numpy_queries and (model := self._numpy_model()) is not None:
            vector: list[float] = model.encode([text])[0].tolist()
            return vector
        return self.embed_documents([text])[0]
