"""A stage timer: where a sync spends its time, one ``with`` per stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager

__all__ = ["StageTimer"]


class StageTimer:
    """Adds the wall time of each ``with timer("stage")`` block to ``stages[stage]``.

    Stages nest and count self time: while an inner stage runs, the outer one's clock
    stops. So a streamed file's chunking, which embeds and writes slices as it goes,
    is charged only for chunking. One timer belongs to one thread.
    """

    def __init__(
        self,
        stages: MutableMapping[str, float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stages: MutableMapping[str, float] = stages if stages is not None else {}
        self.clock = clock
        self._running: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """Time the block as ``stage`` (less any stage timed inside it)."""
        now = self.clock()
        if self._running:
            self._charge(now)
        self._running.append((stage, now))
        try:
            yield
        finally:
            now = self.clock()
            self._charge(now)
            self._running.pop()
            if self._running:
                outer, _ = self._running[-1]
                self._running[-1] = (outer, now)

    def _charge(self, now: float) -> None:
        stage, since = self._running[-1]
        self.stages[stage] = self.stages.get(stage, 0.0) + now - since
        self._running[-1] = (stage, now)
