"""The one backend table: which LLM the settings name, built with lazy imports.

Choosing the scripted fake never imports llama.cpp or httpx; each backend's
library is imported when that backend is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.errors import LLMError
from gpt4all_rag.llm.protocol import LLMBackend, Sampling

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["build_llm", "model_name"]


def build_llm(settings: Settings) -> LLMBackend:
    """Build the backend that ``settings.llm_backend`` names.

    Raises:
        ModelNotFound: The llama-cpp model file is missing or not GGUF.
        LLMError: The OpenAI-compatible URL is malformed or would leak the key.
    """
    match settings.llm_backend:
        case "llama-cpp":
            from gpt4all_rag.llm.llama_cpp import LlamaCppBackend

            return LlamaCppBackend(
                settings.resolved_model_path(),
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
                lora_path=getattr(settings, "lora_path", None),
            )
        case "openai":
            from gpt4all_rag.llm.openai_compatible import OpenAICompatibleBackend

            return OpenAICompatibleBackend(
                settings.openai_base_url,
                settings.openai_model,
                api_key=settings.openai_api_key,
                context_size=settings.context_size,
                sampling=Sampling.from_settings(settings),
            )
        case "scripted":
            from gpt4all_rag.llm.scripted import ScriptedLLM

            return ScriptedLLM(settings.scripted_replies, context_size=settings.context_size)
        case other:
            raise LLMError(
                f"unknown LLM backend {other!r}; expected 'llama-cpp', 'openai' or 'scripted'"
            )


def model_name(settings: Settings) -> str:
    """The configured model as a person reads it, without loading it."""
    match settings.llm_backend:
        case "openai":
            from gpt4all_rag.llm.openai_compatible import redact_url

            return f"{settings.openai_model} @ {redact_url(settings.openai_base_url)}"
        case "scripted":
            return "scripted"
        case _:
            return Path(settings.resolved_model_path()).name
