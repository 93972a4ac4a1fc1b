"""The cluster ingest's pure parts, with no Ray: batching, lost work, vectors, the flag.

``ClusterPreparer`` runs here on ``FakeRay``: the same calls (put, remote, wait, get),
done in this process, with chosen tasks lost the way a dead node loses them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gpt4all_rag.assistant.cluster import EMBEDDER_FIELDS, node_embedder
from gpt4all_rag.cli.main import main
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder
from ingest.cluster.batches import RetryLedger, batch_candidates
from ingest.cluster.dispatch import ClusterPreparer, ClusterUnavailable, connected, require_ray
from ingest.cluster.recipe import WorkerRecipe, forget_parts
from ingest.cluster.sync import on_cluster
from ingest.cluster.vectors import PrecomputedEmbedder
from ingest.plan import Candidate
from ingest.scan import FileStat
from tests.helpers.data import DOCS_CHUNKS, DOCS_FAILED, DOCS_GOOD


def candidate(path: str, size: int = 10) -> Candidate:
    return Candidate(FileStat(path, Path("/nowhere", path), size, 0), f"hash-{path}")


# --- batching -----------------------------------------------------------------------
def test_small_files_share_a_task_and_order_is_kept() -> None:
    files = [candidate(f"f{n}.txt") for n in range(100)]
    batches = batch_candidates(files, workers=2, max_files=16)
    assert [c for b in batches for c in b] == files
    assert max(len(b) for b in batches) == 13  # ceil(100 / (4 tasks x 2 workers))
    assert len(batches) >= 8


def test_few_files_go_one_a_task_so_every_worker_gets_some() -> None:
    files = [candidate(f"f{n}.txt") for n in range(6)]
    assert batch_candidates(files, workers=2) == [[f] for f in files]


def test_a_batch_never_goes_over_its_bytes_and_a_big_file_goes_alone() -> None:
    files = [candidate("a", 3), candidate("big", 50)]
    files += [candidate(f"f{n}", 3) for n in range(22)]
    batches = batch_candidates(files, workers=1, max_files=16, max_bytes=10)
    assert [[c.stat.path for c in b] for b in batches][:3] == [["a"], ["big"], ["f0", "f1", "f2"]]
    assert all(sum(c.stat.size for c in b) <= 10 for b in batches if len(b) > 1)


# --- lost work ------------------------------------------------------------------------
def test_a_lost_batch_is_split_and_a_file_lost_alone_twice_fails() -> None:
    ledger = RetryLedger(max_losses=2)
    a, b = candidate("a"), candidate("b")
    first = ledger.lost([a, b], "NodeDiedError")
    assert first.resubmit == [[a], [b]] and not first.failed
    second = ledger.lost([a], "NodeDiedError")
    assert second.resubmit == [[a]] and not second.failed
    third = ledger.lost([a], "WorkerCrashedError")
    assert not third.resubmit
    assert third.failed == [(a, "lost by the cluster 2 times (WorkerCrashedError)")]


# --- vectors handed over --------------------------------------------------------------
def test_handed_over_vectors_come_back_once_each_and_misses_are_embedded() -> None:
    fallback = HashEmbedder()
    vectors = PrecomputedEmbedder(fallback)
    vectors.add(["x", "y", "x"], np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], np.float32))
    assert vectors.embed_documents(["x", "x", "y"]) == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    assert vectors.pending() == 0 and vectors.name == HashEmbedder.name
    assert vectors.embed_documents(["x"]) == fallback.embed_documents(["x"])
    assert vectors.misses == 1


# --- the missing extra and the flag ---------------------------------------------------
def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ClusterUnavailable, match=r"gpt4all-rag\[cluster\]"):
        require_ray()


def test_no_cluster_at_the_address_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def init(address: str, **options: Any) -> None:
        calls.append(address)
        raise ConnectionError("could not find any running Ray instance")

    fake = SimpleNamespace(is_initialized=lambda: False, init=init, shutdown=calls.clear)
    monkeypatch.setitem(sys.modules, "ray", fake)
    refused = pytest.raises(ClusterUnavailable, match="no Ray cluster at 10.0.0.1:6379: could not")
    with refused, connected("10.0.0.1:6379"):
        pass
    assert calls == ["10.0.0.1:6379"]


def test_a_connection_of_the_caller_is_used_and_left_open(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = SimpleNamespace(is_initialized=lambda: True, init=None, shutdown=None)
    monkeypatch.setitem(sys.modules, "ray", fake)
    with connected("auto") as ray:
        assert ray is fake


def test_cli_ray_flag_without_ray_exits_2_naming_the_extra(
    docs_copy: Path,
    tmp_path: Path,
    make_assistant: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    seen: list[Settings] = []

    def factory(settings: Settings) -> Any:
        seen.append(settings)
        return make_assistant(
            docs_copy, index_dir=settings.index_dir, ray_address=settings.ray_address
        )

    argv = ["ingest", str(docs_copy), "--index", str(tmp_path / "i"), "--ray", "10.0.0.1:6379"]
    assert main(argv, factory) == 2
    assert "pip install 'gpt4all-rag[cluster]'" in capsys.readouterr().err
    assert seen[0].ray_address == "10.0.0.1:6379"


def test_ray_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPT4ALL_RAG_RAY_ADDRESS", "auto")
    assert Settings().ray_address == "auto"
    monkeypatch.delenv("GPT4ALL_RAG_RAY_ADDRESS")
    assert Settings().ray_address is None


def test_a_node_builds_the_embedder_of_the_settings_alone() -> None:
    settings = Settings(embedding_backend="hash", chroma_token="secret")
    fields = {name: getattr(settings, name) for name in EMBEDDER_FIELDS}
    assert "chroma_token" not in fields
    assert isinstance(node_embedder(fields), HashEmbedder)


@pytest.fixture(autouse=True)
def _no_parts_left_behind() -> Any:
    """A node's parts (its loader's worker process) don't outlive a test: later tests start cold."""
    yield
    forget_parts()


# --- the preparer on a fake Ray -------------------------------------------------------
class Lost(Exception):
    """What ``ray.get`` raises for a task whose node died."""


class Ref:
    """An object reference: a value, or the error its task died of."""

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error


class FakeRay:
    """Ray's calls that ``ClusterPreparer`` makes, run at once in this process.

    ``lose`` maps a path to how many more tasks holding it are lost.
    """

    exceptions = SimpleNamespace(NodeDiedError=Lost)

    def __init__(self, lose: dict[str, int] | None = None) -> None:
        self.lose = dict(lose or {})
        self.tasks: list[list[str]] = []

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def put(self, value: Any) -> Any:
        return Ref(value)

    def remote(self, **options: Any) -> Callable[[Any], Any]:
        assert options["max_retries"] >= 1

        def wrap(function: Callable[..., Any]) -> Any:
            def submit(recipe: Any, batch: list[Candidate], *content: Any) -> Any:
                paths = [c.stat.path for c in batch]
                self.tasks.append(paths)
                if lost := [p for p in paths if self.lose.get(p, 0) > 0]:
                    self.lose[lost[0]] -= 1
                    return Ref(error=Lost())
                value = function(recipe.value, batch, *(c.value for c in content))
                return Ref(value)

            return SimpleNamespace(remote=submit)

        return wrap

    def wait(self, refs: list[Any], num_returns: int) -> tuple[list[Any], list[Any]]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: Any) -> Any:
        if ref.error is not None:
            raise ref.error
        return ref.value


def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


def cluster_copy(assistant: Any, ray: FakeRay) -> Any:
    recipe = WorkerRecipe.of(assistant.indexer, hash_embedder, "hash")
    vectors = PrecomputedEmbedder(assistant.indexer.embedder)
    preparer = ClusterPreparer(ray, recipe, vectors, assistant.indexer.preparer)
    return on_cluster(assistant.indexer, preparer)


def stored(assistant: Any) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    got = assistant.store.collection.get(include=["documents", "metadatas", "embeddings"])
    rows = zip(got["documents"], got["metadatas"], got["embeddings"], strict=True)
    return {i: (t, m, list(e)) for i, (t, m, e) in zip(got["ids"], rows, strict=True)}


def test_a_cluster_sync_stores_what_a_local_sync_stores(
    tmp_path: Path, docs_copy: Path, make_assistant: Callable[..., Any]
) -> None:
    local = make_assistant(docs_copy, embedder=HashEmbedder(), index_dir=tmp_path / "local")
    local_report = local.ingest()
    remote = make_assistant(docs_copy, embedder=HashEmbedder(), index_dir=tmp_path / "remote")
    events: list[Any] = []
    report = cluster_copy(remote, FakeRay()).sync(docs_copy, events.append)

    assert sorted(report.added) == sorted(local_report.added) == DOCS_GOOD
    assert report.failed == local_report.failed and len(report.failed) == len(DOCS_FAILED)
    assert report.chunks_added == local_report.chunks_added == sum(DOCS_CHUNKS.values())
    assert remote.embedder.texts_embedded == 0  # every vector came from the "nodes"
    ours, theirs = stored(remote), stored(local)
    assert ours.keys() == theirs.keys()
    for chunk_id, (text, meta, vector) in ours.items():
        assert (text, meta) == theirs[chunk_id][:2]
        assert np.allclose(vector, theirs[chunk_id][2], atol=1e-6)
    assert remote.manifest.files().keys() == local.manifest.files().keys()
    done = [e.bytes_done for e in events]  # the progress bar's ETA: bytes of the whole job
    assert done == sorted(done) and done[-1] == events[0].bytes_total > 0
    assert events[-1].files_done == events[-1].files_total == len(DOCS_GOOD) + len(DOCS_FAILED)


def test_lost_tasks_are_resubmitted_and_the_index_is_still_exact(
    tmp_path: Path, docs_copy: Path, make_assistant: Callable[..., Any]
) -> None:
    remote = make_assistant(docs_copy, embedder=HashEmbedder(), index_dir=tmp_path / "remote")
    ray = FakeRay(lose={"notes.md": 1, "manual.pdf": 1})
    report = cluster_copy(remote, ray).sync(docs_copy)

    assert sorted(report.added) == DOCS_GOOD
    assert report.chunks_total == sum(DOCS_CHUNKS.values()) == len(stored(remote))
    assert ["notes.md"] in ray.tasks and ["manual.pdf"] in ray.tasks  # split, sent again


def test_a_file_that_is_always_lost_is_recorded_as_failed(
    tmp_path: Path, docs_copy: Path, make_assistant: Callable[..., Any]
) -> None:
    remote = make_assistant(docs_copy, embedder=HashEmbedder(), index_dir=tmp_path / "remote")
    report = cluster_copy(remote, FakeRay(lose={"notes.md": 99})).sync(docs_copy)

    assert dict(report.failed)["notes.md"] == "lost by the cluster 2 times (Lost)"
    assert sorted(report.added) == sorted(set(DOCS_GOOD) - {"notes.md"})
    assert report.chunks_total == sum(DOCS_CHUNKS.values()) - DOCS_CHUNKS["notes.md"]


def test_a_file_gone_before_it_is_sent_fails_as_a_local_load_says(
    docs_copy: Path, make_assistant: Callable[..., Any]
) -> None:
    remote = make_assistant(docs_copy, embedder=HashEmbedder())
    preparer = cluster_copy(remote, FakeRay()).preparer
    gone = candidate("gone.md")  # under /nowhere
    there = Candidate(FileStat("notes.md", docs_copy / "notes.md", 10, 0), "h")
    results = {p.path: p for p in preparer.prepare_all([gone, there])}
    assert results["gone.md"].error == "file not found"
    assert results["notes.md"].error is None and len(results["notes.md"].chunks) == 5
