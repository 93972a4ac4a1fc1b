"""The one backend table: which LLM the settings name, and its name for people.

Choosing the scripted fake never imports llama.cpp or httpx; each backend's
library is imported when that backend is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.errors import LLMError
from gpt4all_rag.llm.gguf_header import GGUFHeaderError, read_gguf_metadata
from gpt4all_rag.llm.llama_cpp import LlamaCppBackend
from gpt4all_rag.llm.openai_compatible import OpenAICompatibleBackend, redact_url
from gpt4all_rag.llm.protocol import LLMBackend, Sampling
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.settings import bundled_gguf

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["build_llm", "model_and_adapter", "model_name"]


def build_llm(settings: Settings) -> LLMBackend:
    """Build the backend that ``settings.llm_backend`` names.

    Raises:
        ModelNotFound: The llama-cpp model file is missing or not GGUF.
        LLMError: The OpenAI-compatible URL is malformed or would leak the key.
    """
    match settings.llm_backend:
        case "llama-cpp":
            model, lora = model_and_adapter(settings)
            return LlamaCppBackend(
                model,
                context_size=settings.context_size,
                threads=settings.threads,
                gpu_layers=settings.gpu_layers,
                seed=settings.seed,
                chat_format=settings.chat_format,
                sampling=Sampling.from_settings(settings),
                extra_buffers=settings.llama_extra_buffers,
                flash_attention=settings.flash_attention,
                f16_copy_dir=settings.f16_copy_dir,
                f16_copy_max_mb=settings.f16_copy_max_mb,
                lora_path=lora,
                copy_bias=settings.resolved_copy_bias(),
            )
        case "openai":
            return OpenAICompatibleBackend(
                settings.openai_base_url,
                settings.openai_model,
                api_key=settings.openai_api_key,
                context_size=settings.context_size,
                sampling=Sampling.from_settings(settings),
            )
        case "scripted":
            return ScriptedLLM(settings.scripted_replies, context_size=settings.context_size)
        case other:
            raise LLMError(
                f"unknown LLM backend {other!r}; expected 'llama-cpp', 'openai' or 'scripted'"
            )


def model_and_adapter(settings: Settings) -> tuple[Path, Path | None]:
    """The GGUF to load and the LoRA adapter to apply to it (``lora_path``), if any.

    A model path that names an adapter (picked in the model list, where adapters sit
    beside their base) loads the base it was trained on, from the record
    ``gpt4all-rag finetune`` wrote beside it, else the bundled model, with it applied.
    """
    path = settings.resolved_model_path()
    lora = settings.lora_path
    if lora is None and _is_adapter(path):
        return _adapter_base(path), path
    return path, lora


def _is_adapter(path: Path) -> bool:
    try:
        return read_gguf_metadata(path).get("general.type") == "adapter"
    except (GGUFHeaderError, OSError):
        return False


def _adapter_base(adapter: Path) -> Path:
    record = adapter.with_suffix(".json")
    try:
        base = json.loads(record.read_text("utf-8")).get("base_model")
    except (OSError, ValueError):
        base = None
    return Path(base) if isinstance(base, str) and base else bundled_gguf()


def model_name(settings: Settings) -> str:
    """The configured model as a person reads it, without loading it."""
    match settings.llm_backend:
        case "openai":
            return f"{settings.openai_model} @ {redact_url(settings.openai_base_url)}"
        case "scripted":
            return "scripted"
        case _:
            model, lora = model_and_adapter(settings)
            return model.name if lora is None else f"{model.name} + {lora.name}"
