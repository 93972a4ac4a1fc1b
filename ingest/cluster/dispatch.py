"""Sending files to a Ray cluster and taking their chunks back, as the writer needs them.

``ClusterPreparer`` stands in for the local ``Preparer`` in an ``Indexer``: its
``prepare_all`` yields the same ``Prepared`` files, parsed, chunked and embedded by Ray
tasks on the cluster's nodes, and hands the vectors to a ``PrecomputedEmbedder``. The
driver's one ``ChunkWriter`` writes them, so the crash safety is the local one.

Ray is imported on use only: it is an optional extra (``pip install .[cluster]``) and
takes about a second to import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ingest.chunking import Chunk
from ingest.cluster.batches import RetryLedger, batch_candidates
from ingest.cluster.recipe import WorkerRecipe
from ingest.cluster.vectors import PrecomputedEmbedder
from ingest.cluster.work import Embedded, indexed_texts, prepare_batch
from ingest.errors import IngestError
from ingest.loaders.base import os_error_reason
from ingest.plan import Candidate
from ingest.prepare import Prepared, Preparer

__all__ = ["CLUSTER_EXTRA", "ClusterPreparer", "ClusterUnavailable", "connected", "require_ray"]

CLUSTER_EXTRA = "cluster"
TASK_RETRIES = 3  # Ray's own retries of a task whose worker or node died


class ClusterUnavailable(IngestError):
    """Ray is not installed, or no cluster answers at the address given."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or an error that names the extra that installs it."""
    try:
        import ray  # optional and slow to import: only for a cluster ingest
    except ImportError as exc:
        raise ClusterUnavailable(
            f"ingesting on a Ray cluster needs Ray, an optional extra: "
            f"pip install 'gpt4all-rag[{CLUSTER_EXTRA}]' "
            f"(in a checkout: pip install -e '.[{CLUSTER_EXTRA}]')"
        ) from exc
    return ray


@contextmanager
def connected(address: str) -> Iterator[ModuleType]:
    """Ray connected to the cluster at ``address`` (``auto`` or ``host:port``) for the block."""
    ray = require_ray()
    if ray.is_initialized():  # the caller's own connection (a test, a notebook)
        yield ray
        return
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ClusterUnavailable(f"no Ray cluster at {address}: {exc}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _prepare_task(recipe: WorkerRecipe, candidates: list[Candidate], *contents: bytes) -> Any:
    """The Ray task: ``prepare_batch`` on a node (the contents come from the object store)."""
    return prepare_batch(recipe, candidates, contents)


@dataclass
class _Task:
    batch: list[Candidate]
    content: list[Any]  # ObjectRefs of the files' bytes, freed once the task is done


class ClusterPreparer:
    """Prepares candidates on a Ray cluster; yields them as they finish.

    Args:
        ray: the connected ``ray`` module (``connected``).
        recipe: the parts every node builds (the driver's chunker, limits, embedder).
        vectors: receives each file's vectors before the file is yielded.
        local: the driver's own preparer: refuses too-large files without shipping them.
        in_flight: tasks submitted at a time (default: twice the cluster's CPUs), which
            bounds the files' bytes in the object store.
    """

    def __init__(
        self,
        ray: ModuleType,
        recipe: WorkerRecipe,
        vectors: PrecomputedEmbedder,
        local: Preparer,
        in_flight: int | None = None,
    ) -> None:
        self.ray = ray
        self.recipe = recipe
        self.vectors = vectors
        self.local = local
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.in_flight = in_flight or 2 * self.workers
        self.ledger = RetryLedger()
        self._remote = ray.remote(max_retries=TASK_RETRIES, num_cpus=1)(_prepare_task)
        self._recipe_ref: Any = None

    def prepare_all(self, candidates: Iterable[Candidate]) -> Iterator[Prepared]:
        """Each candidate prepared (or failed), in the order the cluster finishes them."""
        shipped = []
        for candidate in candidates:
            if candidate.stat.size > self.local.max_file_bytes:
                yield self.local.prepare(candidate)  # refused on its size, never read
            else:
                shipped.append(candidate)
        queue = batch_candidates(shipped, self.workers)
        running: dict[Any, _Task] = {}
        while queue or running:
            while queue and len(running) < self.in_flight:
                task, unreadable = self._ship(queue.pop(0))
                yield from unreadable
                if task.batch:
                    running[self._submit(task)] = task
            if not running:
                continue
            done, _ = self.ray.wait(list(running), num_returns=1)
            yield from self._collect(done[0], running.pop(done[0]), queue)

    def stream_chunks(self, prepared: Prepared) -> Iterator[Chunk]:
        """Never needed: a node returns big files chunked (``Prepared.streamed`` is False)."""
        return self.local.stream_chunks(prepared)

    def _ship(self, batch: list[Candidate]) -> tuple[_Task, list[Prepared]]:
        """Put the files' bytes in the object store; a file gone or unreadable fails here."""
        task, unreadable = _Task([], []), []
        for candidate in batch:
            try:
                content = candidate.stat.abs_path.read_bytes()
            except OSError as exc:  # as a local load words it
                unreadable.append(Prepared(candidate, error=os_error_reason(exc)))
                continue
            task.batch.append(candidate)
            task.content.append(self.ray.put(content))
        return task, unreadable

    def _submit(self, task: _Task) -> Any:
        if self._recipe_ref is None:
            self._recipe_ref = self.ray.put(self.recipe)
        return self._remote.remote(self._recipe_ref, task.batch, *task.content)

    def _collect(self, ref: Any, task: _Task, queue: list[list[Candidate]]) -> Iterator[Prepared]:
        try:
            results: list[Embedded] = self.ray.get(ref)
        except self._lost_errors() as exc:
            lost = self.ledger.lost(task.batch, type(exc).__name__)
            queue[:0] = lost.resubmit
            yield from (Prepared(c, error=reason) for c, reason in lost.failed)
            return
        for result in results:
            self.vectors.add(indexed_texts(result.prepared), result.vectors)
            yield result.prepared

    def _lost_errors(self) -> tuple[type[BaseException], ...]:
        """Ray's errors for a task that died with its worker or node, after its retries."""
        errors = self.ray.exceptions
        names: Sequence[str] = (
            "WorkerCrashedError",
            "NodeDiedError",
            "ObjectLostError",
            "OutOfMemoryError",
            "TaskUnschedulableError",
        )
        return tuple(getattr(errors, n) for n in names if hasattr(errors, n))
