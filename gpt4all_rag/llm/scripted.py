"""The scripted chat model: a backend like the others, selected by ``llm_backend="scripted"``.

It answers from a script and records every prompt, so the CLI and the app run
on it in seconds without llama.cpp, and a test can compute its output by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gpt4all_rag.settings_answering import DEFAULT_SCRIPTED_REPLY
from gpt4all_rag.types import Message

__all__ = ["ScriptedLLM"]


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
