"""What the question flow needs of a language model: a leaf every backend imports.

Every backend (llama-cpp in process, an OpenAI-compatible server, the scripted
fake) meets :class:`LLMBackend`: a name, a context size, a token count and a
stream of text pieces. :mod:`gpt4all_rag.llm.factory` picks one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from gpt4all_rag.types import Message

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["LLMBackend", "Sampling"]


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
