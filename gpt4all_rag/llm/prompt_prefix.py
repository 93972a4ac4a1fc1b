"""The fixed start of a chat prompt, read by the model once and kept across answers.

Why: on a CPU the model reads every prompt token before it writes a word, and every
answer prompt starts with the same system turn (about 90 tokens of the ~500 a focused
prompt has). llama.cpp can keep that prefix's key/value cache from one answer to the
next, but llama-cpp-python reuses whatever prefix the previous prompt happened to
share, and a prefix evaluated in another split rounds differently enough to change a
greedy answer. So the split is fixed: the prefix is everything before the last
message's text, always evaluated on its own; only the rest is evaluated per answer.
An answer is then the same whether its prefix was just read or kept from before.

The prompt's tokens come from the model's own chat handler (its template, its
tokenizer): the handler is run against a stand-in that stops it at the completion
call and keeps the tokens it was about to evaluate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpt4all_rag.types import Message

__all__ = ["PromptPrefix", "chat_prompt_tokens", "fixed_prefix"]

# Two texts that differ in their first character: the prompts for them agree exactly
# up to where the last message's text begins.
_PROBES = ("a", "b")


class _Captured(Exception):  # noqa: N818  (control flow, not an error)
    def __init__(self, tokens: Sequence[int]) -> None:
        super().__init__("prompt captured")
        self.tokens = list(tokens)


class _StopAtCompletion:
    """The loaded model for a chat handler, except that completing raises the tokens."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def create_completion(self, prompt: Any = None, **_: Any) -> Any:
        raise _Captured(prompt)


def chat_prompt_tokens(llm: Any, messages: Sequence[Message]) -> list[int] | None:
    """The tokens ``llm.create_chat_completion(messages)`` would evaluate; None if unknown.

    None for a chat handler that does not pass tokens to ``create_completion`` (a
    multimodal one, say): the caller then evaluates the whole prompt as before.
    """
    from llama_cpp import llama_chat_format  # llama.cpp: on use only

    handler: Any = (
        llm.chat_handler
        or llm._chat_handlers.get(llm.chat_format)
        or llama_chat_format.get_chat_completion_handler(llm.chat_format)
    )
    try:
        handler(llama=_StopAtCompletion(llm), messages=list(messages))
    except _Captured as captured:
        tokens = captured.tokens
        return tokens if all(isinstance(t, int) for t in tokens) else None
    except Exception:  # noqa: BLE001  (a handler's own error surfaces on the real call)
        return None
    return None


def fixed_prefix(llm: Any, messages: Sequence[Message], tokens: Sequence[int]) -> list[int]:
    """The tokens of ``tokens`` (the prompt of ``messages``) before the last message's text.

    Empty when there is no earlier message: a prompt of one message has no fixed part.
    """
    if len(messages) < 2:
        return []
    head = list(messages[:-1])
    role = messages[-1]["role"]
    probes = [chat_prompt_tokens(llm, [*head, {"role": role, "content": p}]) for p in _PROBES]
    if probes[0] is None or probes[1] is None:
        return []
    head_tokens = probes[0][: _common_length(probes[0], probes[1])]
    return list(tokens[: _common_length(head_tokens, tokens)])


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


class PromptPrefix:
    """Keeps one model's fixed prompt prefix evaluated between answers.

    ``prepare`` runs before each completion: it keeps the prefix's cache when the
    new prompt starts with the same prefix, else evaluates the new prefix alone.
    llama-cpp-python's own prefix matching then evaluates only the rest.
    """

    def __init__(self) -> None:
        self.tokens: tuple[int, ...] = ()
        self.reused = 0  # answers that skipped the prefix (for tests and benchmarks)

    def prepare(self, llm: Any, messages: Sequence[Message]) -> None:
        """Leave ``llm`` holding exactly the prefix of ``messages``'s prompt, or nothing."""
        tokens = chat_prompt_tokens(llm, messages) or []
        prefix = tuple(fixed_prefix(llm, messages, tokens))
        if len(prefix) >= len(tokens):  # nothing would be left to evaluate after it
            prefix = ()
        if prefix and prefix == self.tokens and self._holds(llm, prefix):
            llm.n_tokens = len(prefix)  # the previous answer goes; the prefix stays
            self.reused += 1
            return
        llm.reset()
        self.tokens = ()
        if prefix:
            llm.eval(list(prefix))
            self.tokens = prefix

    def forget(self) -> None:
        """Drop the record (the model's state was changed elsewhere)."""
        self.tokens = ()

    @staticmethod
    def _holds(llm: Any, prefix: tuple[int, ...]) -> bool:
        if llm.n_tokens < len(prefix):
            return False
        return tuple(int(t) for t in llm.input_ids[: len(prefix)]) == prefix
