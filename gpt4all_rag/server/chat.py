"""``POST /v1/chat/completions``: a question and its history in, OpenAI's shapes out.

The last user message is the question and the earlier user and assistant turns
are the history (the flow rewrites a follow-up from them); system messages are
left out, because the flow has its own instructions. The content is the answer
as inert Markdown (the model's text is untrusted: see
:mod:`gpt4all_rag.server.footnotes`) with its sources as Markdown footnotes; two
extra fields carry the structure:
``sources`` (every retrieved passage, numbered, ``cited`` or not) and ``answer``
(exactly what ``gpt4all-rag ask --json`` prints), on the response or on the
stream's last chunk.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gpt4all_rag.answer import Answer
from gpt4all_rag.answering.flow import EvidenceEvent, SourcesEvent, TokenEvent
from gpt4all_rag.server.errors import ApiError, error_body, error_status
from gpt4all_rag.server.footnotes import (
    InertStream,
    footnote_block,
    inert_answer,
    inert_text,
    sources_json,
    strip_footnotes,
)
from gpt4all_rag.server.model_worker import AnswerJob, Tick
from gpt4all_rag.server.schemas import MODEL_ID, ChatMessage
from gpt4all_rag.types import Message

__all__ = [
    "KEEPALIVE_S",
    "Completion",
    "JobStream",
    "complete",
    "question_and_history",
    "stream_events",
]

KEEPALIVE_S = 10.0
"""Seconds of silence (queued behind other questions, the model reading its prompt)
after which a stream sends an SSE comment, so proxies and clients keep it open."""

DISCONNECT_POLL_S = 0.5
"""How often a non-streaming request checks that its client is still there."""


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[Message]]:
    """The question (the last user turn) and the turns before it.

    Raises:
        ApiError: The conversation does not end with a user message that has text.
    """
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise ApiError(400, "the last message must be the user's question, as text")
    history: list[Message] = [{"role": m.role, "content": _turn_text(m)} for m in turns[:-1]]
    return turns[-1].text().strip(), history


def _turn_text(message: ChatMessage) -> str:
    """A turn's text; an answer of ours without its footnote block."""
    return strip_footnotes(message.text()) if message.role == "assistant" else message.text()


@dataclass(frozen=True)
class Completion:
    """The id and time every part of one completion shares."""

    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))
    model: str = MODEL_ID

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def message(self, answer: Answer) -> dict[str, Any]:
        """The whole answer as a ``chat.completion``: inert Markdown, footnotes in the content."""
        content = inert_answer(answer.text, len(answer.sources)) + footnote_block(answer)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }
        return {**self._head("chat.completion"), "choices": [choice], **_extra(answer)}

    def chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """One ``chat.completion.chunk``; ``extra`` fields sit beside ``choices``."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice], **extra}


def _extra(answer: Answer) -> dict[str, Any]:
    """The documented extra fields: the numbered sources, and ``ask --json``'s object."""
    return {"sources": sources_json(answer), "answer": answer.to_json()}


async def complete(job: AnswerJob, completion: Completion, request: Request) -> dict[str, Any]:
    """Wait for the job's answer; a client that leaves cancels it.

    Raises:
        ApiError: The client went away before the answer (status 499, never read).
        Exception: What the flow raised, for the error handlers to report.
    """
    answer: Answer | None = None
    next_check = time.monotonic() + DISCONNECT_POLL_S
    async for item in job.items(DISCONNECT_POLL_S):
        if time.monotonic() >= next_check and not job.cancelled:
            next_check = time.monotonic() + DISCONNECT_POLL_S
            if await request.is_disconnected():
                job.cancel()  # the worker stops at the next token; the queue drains to its end
        if isinstance(item, Exception):
            raise item
        if isinstance(item, Answer):
            answer = item
    if answer is None:
        raise ApiError(499, "the client closed the request before the answer")
    # Parsing the answer's Markdown takes a while for a long one: not on the event loop.
    return await run_in_threadpool(completion.message, answer)


async def stream_events(job: AnswerJob, completion: Completion) -> AsyncIterator[str]:
    """The job's events as OpenAI's server-sent chunks, ending with ``data: [DONE]``."""
    yield _sse(completion.chunk({"role": "assistant", "content": ""}))
    markers = InertStream(0)
    streamed = False
    async for item in job.items(KEEPALIVE_S):
        if isinstance(item, Tick):
            yield ": keep-alive\n\n"
        elif isinstance(item, SourcesEvent):
            markers = InertStream(len(item.sources))
        elif isinstance(item, EvidenceEvent):
            yield _sse(completion.chunk({}, evidence=[e.to_json() for e in item.evidence]))
        elif isinstance(item, TokenEvent):
            streamed = True
            if text := markers.feed(item.text):
                yield _sse(completion.chunk({"content": text}))
        elif isinstance(item, Answer):
            for chunk in _last_chunks(item, completion, markers.flush() if streamed else None):
                yield _sse(chunk)
        else:
            status, kind = error_status(item)
            yield _sse(error_body(str(item) or type(item).__name__, kind, str(status)))
    yield "data: [DONE]\n\n"


def _last_chunks(answer: Answer, completion: Completion, held: str | None) -> list[dict[str, Any]]:
    """The rest of the content (all of it when no token streamed), then the finishing chunk.

    An answer the model did not write (the evidence alone, "not in your documents")
    streams no token: its text comes here, whole.
    """
    text = held if held is not None else inert_text(answer.text.strip(), len(answer.sources))
    text += footnote_block(answer)
    chunks = [completion.chunk({"content": text})] if text else []
    return [*chunks, completion.chunk({}, "stop", **_extra(answer))]


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class JobStream(StreamingResponse):
    """An SSE response that cancels its job however it ends: done, failed or disconnected.

    Starlette stops sending when the client disconnects; this ``finally`` is what
    frees the model thread for the next question.
    """

    def __init__(self, job: AnswerJob, content: AsyncIterator[str]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.job = job

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the response; cancel the job when it ends, for whatever reason."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.job.cancel()
