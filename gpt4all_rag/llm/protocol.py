"""What the question flow needs of a language model, and the factory that picks one.

Every backend (llama-cpp in process, an OpenAI-compatible server, the scripted
fake) meets :class:`LLMBackend`: a name, a context size, a token count and a
stream of text pieces. :func:`build_llm` is the one place that chooses, with
lazy imports, so that choosing the fake never imports llama.cpp or httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from gpt4all_rag.errors import LLMError
from gpt4all_rag.types import Message

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["LLMBackend", "Sampling", "build_llm"]


@dataclass(frozen=True)
class Sampling:
    """How a backend draws each token beyond the temperature, fixed when it is built.

    The defaults are llama-cpp-python's own; small models loop less with a
    repeat penalty above 1 (``Settings.repeat_penalty``).
    """

    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Sampling:
        """The sampling fields of ``settings``."""
        return cls(settings.top_p, settings.sampling_top_k, settings.min_p, settings.repeat_penalty)


@runtime_checkable
class LLMBackend(Protocol):
    """What the question flow needs from a language model."""

    @property
    def name(self) -> str:
        """A short name for status displays and logs."""
        ...

    @property
    def context_size(self) -> int:
        """The context window, in tokens, that prompt and answer must fit in."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes in this model's context (may load the model)."""
        ...

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer to ``messages`` in pieces, as the model writes it."""
        ...


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
            from gpt4all_rag.testing import ScriptedLLM

            return ScriptedLLM(settings.scripted_replies, context_size=settings.context_size)
        case other:
            raise LLMError(
                f"unknown LLM backend {other!r}; expected 'llama-cpp', 'openai' or 'scripted'"
            )
