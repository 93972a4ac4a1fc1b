"""Language models for the serve tests: predictable, slow on purpose, and watchful.

All are ScriptedLLM's kin (same interface, no model): one answers each question
with the question itself and records how many answers ran at once; one writes
distinct words slowly and holds a context lock like llama.cpp's, so a stream that
is never closed would block the next answer; one writes exactly the tokens it is
given, so a test decides where a payload is split.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from gpt4all_rag.errors import LLMError
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.types import Message


def asked(messages: list[Message]) -> str:
    """The question of an answer prompt (its user message ends with ``Question: ...``)."""
    return messages[-1]["content"].rsplit("Question:", 1)[-1].strip()


class EchoLLM(ScriptedLLM):
    """Answers "You asked: <question> [1]" a word at a time; records overlapping answers."""

    def __init__(self, delay_s: float = 0.01) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.active = 0
        self.most_active = 0
        self._count = threading.Lock()

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        self.prompts.append(messages)
        with self._count:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            for word in f"You asked: {asked(messages)} [1]".split(" "):
                time.sleep(self.delay_s)
                yield word + " "
        finally:
            with self._count:
                self.active -= 1


class SlowLLM(ScriptedLLM):
    """Writes ``w0 w1 ...`` (``lengths[i]`` words for its i-th answer) ``delay_s`` apart.

    Like llama.cpp's context, it serves one answer at a time: an answer that is
    never closed keeps the lock, and the next one fails after ``wait_s``.
    """

    def __init__(self, lengths: Sequence[int], delay_s: float = 0.005, wait_s: float = 5.0):
        super().__init__()
        self.lengths = list(lengths)
        self.delay_s = delay_s
        self.wait_s = wait_s
        self.written = 0
        self.closed = threading.Event()
        self._context = threading.Lock()

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        self.prompts.append(messages)
        length = self.lengths.pop(0) if len(self.lengths) > 1 else self.lengths[0]
        if not self._context.acquire(timeout=self.wait_s):
            raise LLMError("the model is still held by an unfinished answer")
        self.closed.clear()
        try:
            for n in range(length):
                time.sleep(self.delay_s)
                self.written += 1
                yield f"w{n} "
        finally:
            self._context.release()
            self.closed.set()


class PiecesLLM(ScriptedLLM):
    """Writes ``pieces`` as its tokens, exactly as given (ScriptedLLM splits at spaces)."""

    def __init__(self, pieces: Sequence[str]) -> None:
        super().__init__(["".join(pieces)])
        self.pieces = list(pieces)

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        self.prompts.append(messages)
        yield from self.pieces
