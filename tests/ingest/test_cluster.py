"""A real Ray cluster (a head and a second node) and a real Chroma server, on loopback only.

Everything runs in a network namespace with only loopback (``tests.helpers.ray_cluster``):
the nodes, the Chroma server, the CLI and the ``serve`` replicas. Checks: a cluster ingest
stores what a local one stores; two replicas on one store agree and see each other's
ingest; a node killed mid-job, and a driver killed mid-job, still leave an exact index.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import httpx
import numpy as np
import pytest

from ingest.manifest import MANIFEST_FILE, Manifest
from tests.helpers import chroma_server
from tests.helpers.data import DOCS, DOCS_CHUNKS, DOCS_FAILED, DOCS_GOOD
from tests.helpers.processes import LOOPBACK, free_port
from tests.helpers.ray_cluster import RayCluster, can_isolate, loopback_only
from tests.helpers.serving import SCRIPT, wait_healthy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(can_isolate() is not None, reason=str(can_isolate())),
]

FILES = 24  # for the crash tests: 8 tasks of 3 files, 2 s each on the slow embedder


class Site:
    """The namespace's Chroma server, and the environment to reach it."""

    def __init__(self, root: Path, chroma_port: int) -> None:
        self.root = root
        self.chroma_port = chroma_port

    def env(self, collection: str, **settings: str) -> dict[str, str]:
        """The CLI's environment: this Chroma server and ``collection``, plus ``settings``."""
        env = {
            **os.environ,
            "GPT4ALL_RAG_CHROMA_HOST": LOOPBACK,
            "GPT4ALL_RAG_CHROMA_PORT": str(self.chroma_port),
            "GPT4ALL_RAG_COLLECTION_NAME": collection,
            "OMP_NUM_THREADS": "1",
        }
        env.update({f"GPT4ALL_RAG_{k.upper()}": v for k, v in settings.items()})
        return env

    def stored(self, collection: str) -> dict[str, tuple[str, dict[str, Any], np.ndarray]]:
        """Every chunk in ``collection`` on the server: id -> (text, metadata, vector)."""
        client = chromadb.HttpClient(host=LOOPBACK, port=self.chroma_port)
        got = client.get_collection(collection).get(
            include=["documents", "metadatas", "embeddings"]
        )
        rows = zip(got["documents"], got["metadatas"], got["embeddings"], strict=True)
        return {i: (t, m, np.asarray(e)) for i, (t, m, e) in zip(got["ids"], rows, strict=True)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("cluster")
    with loopback_only():
        (root / "chroma").mkdir()
        server, port = chroma_server.start(root / "chroma")
        try:
            yield Site(root, port)
        finally:
            chroma_server.stop(server)


@pytest.fixture(scope="module")
def cluster(site: Site) -> Iterator[RayCluster]:
    """A head node and a second node, one CPU each, in the site's namespace."""
    nodes = RayCluster(site.root / "ray", workers=1)
    try:
        yield nodes.start()
    finally:
        nodes.stop()


AUTH = {"Authorization": "Bearer replica-token"}  # every replica's token


def search(url: str, query: str) -> list[dict[str, Any]]:
    """A replica's ``/v1/search`` results."""
    reply = httpx.post(f"{url}/v1/search", json={"query": query}, headers=AUTH, timeout=30)
    reply.raise_for_status()
    return reply.json()["results"]


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_cluster_ingest_stores_what_a_local_ingest_stores(
    site: Site, cluster: RayCluster, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    env = site.env("cluster-same")  # the real MiniLM embedder, as a user would run it
    ray = cli(
        env,
        "ingest",
        str(docs),
        "--index",
        str(tmp_path / "ray"),
        "--json",
        "--ray",
        cluster.address,
    )
    assert ray.returncode == 1, ray.stderr  # 1: the bad files of tests/data/docs
    local_env = {**site.env("cluster-local"), "GPT4ALL_RAG_CHROMA_HOST": ""}
    local = cli(local_env, "ingest", str(docs), "--index", str(tmp_path / "local"), "--json")
    assert local.returncode == 1, local.stderr

    ours, theirs = json.loads(ray.stdout), json.loads(local.stdout)
    assert sorted(ours["added"]) == sorted(theirs["added"]) == DOCS_GOOD
    assert ours["failed"] == theirs["failed"] and len(ours["failed"]) == len(DOCS_FAILED)
    assert ours["chunks_total"] == theirs["chunks_total"] == sum(DOCS_CHUNKS.values())
    stored = site.stored("cluster-same")
    client = chromadb.PersistentClient(path=str(tmp_path / "local" / "chroma"))
    got = client.get_collection("cluster-local").get(
        include=["documents", "metadatas", "embeddings"]
    )
    assert set(stored) == set(got["ids"])
    for chunk_id, text, meta, vector in zip(
        got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
    ):
        assert stored[chunk_id][:2] == (text, meta)
        assert np.allclose(stored[chunk_id][2], vector, atol=1e-5), chunk_id


def test_two_replicas_answer_alike_and_see_an_ingest_within_30_s(
    site: Site, tmp_path: Path
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "shared-index"
    shutil.copytree(DOCS, docs)
    env = site.env(
        "replicas",
        embedding_backend="hash",
        llm_backend="scripted",
        documents_dir=str(docs),
        watch_folder="false",
        serve_token="replica-token",
    )
    assert cli(env, "ingest", "--index", str(index)).returncode == 1  # the one writer
    ports = [free_port(), free_port()]
    replicas = [
        subprocess.Popen(
            [SCRIPT, "serve", "--index", str(index), "--port", str(port)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    urls = [f"http://{LOOPBACK}:{port}" for port in ports]
    try:
        for url, process in zip(urls, replicas, strict=True):
            wait_healthy(url, process)

        for query in ("Zorblax core temperature", "otters", "quarterly report"):
            assert search(urls[0], query) == search(urls[1], query)
        (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
        ingested = httpx.post(f"{urls[0]}/v1/ingest", json={}, headers=AUTH, timeout=120)
        assert ingested.status_code == 200 and ingested.json()["added"] == ["otters.md"]
        started = time.monotonic()
        while not any(r["file"] == "otters.md" for r in search(urls[1], "sea otters sleep")):
            assert time.monotonic() - started < 30, "the other replica did not see the new file"
            time.sleep(0.5)
        assert search(urls[0], "sea otters sleep") == search(urls[1], "sea otters sleep")
    finally:
        for process in replicas:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)


def test_a_replica_on_another_machine_follows_the_published_generations(
    site: Site, tmp_path: Path
) -> None:
    # "Another machine": its own index folder, nothing shared with the writer but the
    # Chroma server and the publication folder (shared storage).
    docs, publication = tmp_path / "docs", tmp_path / "published"
    shutil.copytree(DOCS, docs)
    common = {
        "embedding_backend": "hash",
        "llm_backend": "scripted",
        "documents_dir": str(docs),
        "watch_folder": "false",
        "serve_token": "replica-token",
    }
    writer_env = site.env("published", publish_dir=str(publication), **common)
    replica_env = site.env("published", replica_of=str(publication), **common)
    assert cli(writer_env, "ingest", "--index", str(tmp_path / "writer")).returncode == 1
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [SCRIPT, "serve", "--index", str(tmp_path / name), "--port", str(port)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, env, port in (
            ("writer", writer_env, ports[0]),
            ("replica", replica_env, ports[1]),
        )
    ]
    writer_url, replica_url = (f"http://{LOOPBACK}:{port}" for port in ports)
    try:
        for url, process in zip((writer_url, replica_url), servers, strict=True):
            wait_healthy(url, process)

        for query in ("Zorblax core temperature", "otters", "quarterly report"):
            assert search(writer_url, query) == search(replica_url, query)
        refused = httpx.post(f"{replica_url}/v1/ingest", json={}, headers=AUTH, timeout=60)
        assert refused.status_code == 409 and "never writes" in refused.text
        (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
        ingested = httpx.post(f"{writer_url}/v1/ingest", json={}, headers=AUTH, timeout=120)
        assert ingested.status_code == 200 and ingested.json()["added"] == ["otters.md"]
        started = time.monotonic()
        while not any(r["file"] == "otters.md" for r in search(replica_url, "sea otters sleep")):
            assert time.monotonic() - started < 30, "the replica did not see the new generation"
            time.sleep(0.5)
        assert search(writer_url, "sea otters sleep") == search(replica_url, "sea otters sleep")
        assert (publication / "CURRENT").read_text() == "gen-2\n"
        assert not (tmp_path / "replica" / MANIFEST_FILE).exists()  # it wrote nothing
    finally:
        for process in servers:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)


def many_docs(folder: Path) -> Path:
    folder.mkdir()
    for n in range(FILES):
        words = " ".join(f"word{n}x{k}" for k in range(300))
        (folder / f"note{n:02d}.md").write_text(f"# Note {n}\n\n{words}\n")
    return folder


def driver(cluster: RayCluster, docs: Path, index: Path, slow: float) -> list[str]:
    command = [sys.executable, "-m", "tests.helpers.cluster_driver", cluster.address]
    return [*command, str(docs), str(index), "--slow", str(slow)]


def files_committed(index: Path) -> int:
    path = index / MANIFEST_FILE
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_for_files(index: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while files_committed(index) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the cluster ingest made no progress"
        time.sleep(0.2)


def assert_exact(site: Site, index: Path, collection: str, docs: Path) -> None:
    """Every file indexed once: the store, the manifest and the keyword index agree."""
    manifest = Manifest(index / MANIFEST_FILE)
    try:
        ids = manifest.all_chunk_ids()
        assert sorted(manifest.files()) == sorted(p.name for p in docs.iterdir())
        assert not manifest.stale_ids()
    finally:
        manifest.close()
    assert len(ids) == len(set(ids))
    assert set(site.stored(collection)) == set(ids)


def test_a_driver_killed_mid_job_is_finished_by_a_rerun(
    site: Site, cluster: RayCluster, tmp_path: Path
) -> None:
    docs, index = many_docs(tmp_path / "docs"), tmp_path / "index"
    env = site.env("driver-killed", ingest_batch_chunks="8")  # a write a file
    job = subprocess.Popen(driver(cluster, docs, index, slow=1.0), env=env, text=True)
    wait_for_files(index, 3, job)
    job.kill()
    job.wait()
    done = files_committed(index)
    assert 3 <= done < FILES
    rerun = subprocess.run(
        driver(cluster, docs, index, slow=0.0),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout.splitlines()[-1])
    assert report["unchanged"] == done and len(report["added"]) == FILES - done
    assert_exact(site, index, "driver-killed", docs)


def test_a_node_killed_mid_job_still_leaves_an_exact_index(
    site: Site, cluster: RayCluster, tmp_path: Path
) -> None:
    docs, index = many_docs(tmp_path / "docs"), tmp_path / "index"
    env = site.env("node-killed", ingest_batch_chunks="8")
    job = subprocess.Popen(
        driver(cluster, docs, index, slow=2.0),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_files(index, 3, job)  # the first task is in; both nodes hold one more
    cluster.kill_node(1)
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, err
    report = json.loads(out.splitlines()[-1])
    assert len(report["added"]) == FILES and not report["failed"]
    assert_exact(site, index, "node-killed", docs)
