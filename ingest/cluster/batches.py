"""Grouping files into Ray tasks, and what to do with work the cluster lost for good.

Pure bookkeeping, no Ray: Ray itself retries a task whose worker or node died
(``max_retries``); this module decides what happens after Ray gives up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.plan import Candidate

__all__ = ["LostWork", "RetryLedger", "batch_candidates"]

TASKS_PER_WORKER = 4  # enough tasks that a slow one does not leave the other workers idle


def batch_candidates(
    candidates: Sequence[Candidate],
    workers: int,
    max_files: int = 16,
    max_bytes: int = 8 << 20,
) -> list[list[Candidate]]:
    """Files grouped into tasks, in order: small files share one, a big file goes alone.

    A task costs a few milliseconds of scheduling, which many small notes would
    multiply; but a few large tasks would leave workers idle, so there are at least
    ``TASKS_PER_WORKER`` tasks per worker whenever there are files enough.
    """
    per_task = max(1, min(max_files, math.ceil(len(candidates) / (TASKS_PER_WORKER * workers))))
    batches: list[list[Candidate]] = []
    current: list[Candidate] = []
    size = 0
    for candidate in candidates:
        if current and (len(current) >= per_task or size + candidate.stat.size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(candidate)
        size += candidate.stat.size
    if current:
        batches.append(current)
    return batches


@dataclass
class LostWork:
    """What to do with a task Ray could not finish: resubmit these, record those as failed."""

    resubmit: list[list[Candidate]] = field(default_factory=list)
    failed: list[tuple[Candidate, str]] = field(default_factory=list)


@dataclass
class RetryLedger:
    """Counts, per file, the tasks lost for good after Ray's own retries.

    A lost batch is split into one task per file, so that one file that kills its
    worker (memory, a native crash) does not take the others down with it. A file
    lost ``max_losses`` times alone is recorded as failed, like a file whose parser
    crashes locally; it is tried again when it changes.
    """

    max_losses: int = 2
    losses: dict[str, int] = field(default_factory=dict)

    def lost(self, batch: Sequence[Candidate], reason: str) -> LostWork:
        """A task holding ``batch`` failed after Ray's retries, for ``reason``."""
        work = LostWork()
        for candidate in batch:
            path = candidate.stat.path
            count = self.losses[path] = self.losses.get(path, 0) + (len(batch) == 1)
            if count >= self.max_losses:
                work.failed.append((candidate, f"lost by the cluster {count} times ({reason})"))
            else:
                work.resubmit.append([candidate])
        return work
