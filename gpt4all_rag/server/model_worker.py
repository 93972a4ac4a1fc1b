"""One thread answers every question, in the order they came: the model is not thread-safe.

llama.cpp's context (and the flow's per-answer state) serves one generation at a
time, so questions wait in a first-in, first-out queue in front of a single
worker thread: a lock that also keeps the order. Each question is an
:class:`AnswerJob`: the worker runs the flow and hands its events to the event
loop; the request that owns the job cancels it when its client goes away, and
the worker then closes the flow's generator, which stops the model's stream at
the next token and frees the worker for the next question.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gpt4all_rag.answer import Answer
from gpt4all_rag.answering.flow import FlowEvent

__all__ = ["TICK", "AnswerJob", "ModelWorker", "QueueFull", "Tick"]


class QueueFull(Exception):
    """As many questions wait as the worker keeps: the caller should try again later."""


class Tick:
    """No event for a while: time for a keep-alive, or to check the client is still there."""


TICK = Tick()
_DONE = object()


class AnswerJob:
    """One question's run on the model thread: its events out, a cancel signal in.

    Args:
        produce: starts the flow (``assistant.events(...)``); called on the model thread.
        loop: the event loop of the request that waits for the events.
        answer_only: hand over the finished ``Answer`` alone (a response that is not
            streamed): each event handed over wakes the event loop's thread, which
            then competes for the interpreter with the thread that answers.
    """

    def __init__(
        self,
        produce: Callable[[], Iterator[FlowEvent]],
        loop: asyncio.AbstractEventLoop,
        answer_only: bool = False,
    ) -> None:
        self._produce = produce
        self._loop = loop
        self._answer_only = answer_only
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._cancelled = threading.Event()
        self.finished = threading.Event()
        self.completed = False

    def cancel(self) -> None:
        """Stop at the next event (a job still queued never starts); safe from any thread."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def run(self) -> None:
        """Run the flow to its end or its cancellation (on the model thread)."""
        try:
            if not self.cancelled:
                self._relay()
        except Exception as exc:  # handed to the request, which reports it to its client
            self._put(exc)
        finally:
            self.finished.set()
            self._put(_DONE)

    def _relay(self) -> None:
        events = self._produce()
        try:
            for event in events:
                if self.cancelled:
                    return
                if not self._answer_only or isinstance(event, Answer):
                    self._put(event)
            self.completed = True
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # GeneratorExit through the flow ends the model's own stream

    def _put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody waits for this job any more
            self.cancel()

    async def items(self, tick_s: float) -> AsyncIterator[FlowEvent | Exception | Tick]:
        """The flow's events (or its exception) as they come; a tick after each quiet spell."""
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), tick_s)
            except TimeoutError:
                yield TICK
                continue
            if item is _DONE:
                return
            yield item


class ModelWorker:
    """The single thread that answers questions, with what it is doing for ``/v1/status``."""

    def __init__(self, max_waiting: int | None = None) -> None:
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpt4all-rag-model")
        self._lock = threading.Lock()
        self._queued: list[AnswerJob] = []
        self._running: AnswerJob | None = None
        self._answered = 0

    def submit(self, job: AnswerJob) -> None:
        """Queue ``job`` behind the questions already waiting.

        Raises:
            QueueFull: ``max_waiting`` questions already wait (a bounded queue keeps
                a flood of questions from holding memory and sockets without end).
        """
        with self._lock:
            if self.max_waiting is not None and self._in_line() > self.max_waiting:
                raise QueueFull(f"{len(self._queued)} questions are already waiting")
            self._queued.append(job)
        self._executor.submit(self._run, job)

    def _in_line(self) -> int:
        """Questions that would be ahead of a new one (the lock is held)."""
        return len(self._queued) + (self._running is not None)

    def _run(self, job: AnswerJob) -> None:
        with self._lock:
            self._queued.remove(job)
            self._running = job
        try:
            job.run()
        finally:
            with self._lock:
                self._running = None
                self._answered += int(job.completed)

    def state(self) -> dict[str, Any]:
        """Whether a question is being answered, how many wait, how many were answered."""
        with self._lock:
            return {
                "busy": self._running is not None,
                "waiting": len(self._queued),
                "answered": self._answered,
            }

    def close(self) -> None:
        """Cancel every job and let the thread end (at shutdown).

        Queued jobs still run, to end at once: each tells its request it is done.
        """
        with self._lock:
            jobs = [*self._queued, *([self._running] if self._running else [])]
        for job in jobs:
            job.cancel()
        self._executor.shutdown(wait=False)
