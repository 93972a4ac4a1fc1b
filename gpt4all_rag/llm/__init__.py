"""The language model that writes the answers.

- :mod:`~gpt4all_rag.llm.protocol`: the :class:`LLMBackend` protocol and :func:`build_llm`;
- :mod:`~gpt4all_rag.llm.chat_formats`: which chat format a GGUF gets;
- :mod:`~gpt4all_rag.llm.llama_cpp`: a GGUF in process, behind one :class:`ModelCache`;
- :mod:`~gpt4all_rag.llm.openai_compatible`: an OpenAI-compatible server;
- :mod:`~gpt4all_rag.llm.scripted`: the scripted fake.

Importing this package imports neither llama.cpp nor httpx: each backend
imports its library when it first needs it.
"""

from typing import TYPE_CHECKING, Any

from gpt4all_rag.llm.chat_formats import (
    DEFAULT_CHAT_FORMAT,
    FAMILY_CHAT_FORMATS,
    choose_chat_format,
    fallback_chat_format,
)
from gpt4all_rag.llm.llama_cpp import MODELS, LlamaCppBackend, ModelCache
from gpt4all_rag.llm.openai_compatible import OpenAICompatibleBackend, redact_url
from gpt4all_rag.llm.protocol import LLMBackend, build_llm
from gpt4all_rag.types import Message

if TYPE_CHECKING:
    from gpt4all_rag.testing import ScriptedLLM

__all__ = [
    "DEFAULT_CHAT_FORMAT",
    "FAMILY_CHAT_FORMATS",
    "LLMBackend",
    "LlamaCppBackend",
    "MODELS",
    "Message",
    "ModelCache",
    "OpenAICompatibleBackend",
    "ScriptedLLM",
    "build_llm",
    "choose_chat_format",
    "fallback_chat_format",
    "loaded_model_count",
    "redact_url",
]


def loaded_model_count() -> int:
    """How many ``llama_cpp.Llama`` objects this process has loaded into its model cache."""
    return MODELS.loads


def __getattr__(name: str) -> Any:
    """``ScriptedLLM`` lives in ``gpt4all_rag.testing``, which imports LangChain: on use only."""
    if name == "ScriptedLLM":
        from gpt4all_rag.testing import ScriptedLLM

        return ScriptedLLM
    raise AttributeError(f"module 'gpt4all_rag.llm' has no attribute {name!r}")
