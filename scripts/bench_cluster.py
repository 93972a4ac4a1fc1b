"""Cluster ingest benchmark: 1 and 2 Ray worker processes, Ray's overhead, the write ceiling.

Usage: python -m scripts.bench_cluster [--corpus DIR] [--files A.pdf ...] [--write-chunks N]
       [--out bench-results/cluster.json]

On a real local Ray cluster inside a loopback-only network namespace (as the tests run it;
needs root), with the bundled MiniLM:

1. the local ingest of the files (no Ray), with torch's default threads and with one
   thread (a Ray worker process gets one thread per CPU it holds: ``--num-cpus 1``);
2. the cluster ingest with one worker process (the head node alone), then two (a second
   node joins): pages/s and chunks/s, and the ratio of two to one;
3. the write path's ceiling: chunks/s from one ``ChunkWriter`` into a Chroma server,
   with vectors made up (no parsing, no embedding).

Every worker's model is loaded before its timing (a first, tiny ingest), as
``scripts.bench_ingest`` warms the local one: model load is not ingest throughput.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpt4all_rag.assistant.cluster import ingest_on_cluster
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from ingest.manifest import MANIFEST_FILE, Manifest
from ingest.report import SyncReport
from ingest.writer import ChunkWriter
from scripts._common import ROOT, peak_rss_mb, write_result
from tests.helpers import chroma_server
from tests.helpers.ray_cluster import RayCluster, can_isolate, loopback_only
from vectorstore.chroma import ChromaStore
from vectorstore.schema import ChunkMetadata, ChunkRecord, path_fields

CORPUS = ROOT / "bench-data/r-doc-pdf/usr/share/R/doc/manual"
FILES = ["R-FAQ.pdf", "R-data.pdf", "R-lang.pdf", "R-ints.pdf"]  # 243 pages, 4 files
DIMENSIONS = 384  # MiniLM's


def figures(report: SyncReport) -> dict[str, Any]:
    """Pages and chunks per second of one sync, from its own clock."""
    seconds = report.seconds
    return {
        "seconds": round(seconds, 2),
        "pages": report.pages,
        "chunks": report.chunks_added,
        "pages_per_s": round(report.pages / seconds, 2),
        "chunks_per_s": round(report.chunks_added / seconds, 2),
        "failed": len(report.failed),
        "load_average_1min_after": round(os.getloadavg()[0], 2),  # other work on the cores
    }


def local_ingest(docs: Path, index: Path, threads: int | None) -> dict[str, Any]:
    """The ingest without Ray, the model loaded first; ``threads`` for torch, or its default."""
    import torch  # the embedder's library: only for its thread count

    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        assistant = DocumentAssistant.from_settings(Settings(documents_dir=docs, index_dir=index))
        assistant.embedder.embed_query("warm-up")
        result = figures(assistant.ingest())
    finally:
        torch.set_num_threads(default)
    return {**result, "torch_threads": threads or default}


def cluster_ingest(docs: Path, index: Path, address: str, env: dict[str, str]) -> SyncReport:
    """An ingest on the cluster into a Chroma server collection of its own."""
    settings = Settings(
        documents_dir=docs,
        index_dir=index,
        chroma_host=env["host"],
        chroma_port=int(env["port"]),
        collection_name=index.name,
    )
    assistant = DocumentAssistant.from_settings(settings)
    return ingest_on_cluster(assistant, address, docs)


def warm_up(work: Path, address: str, chroma: dict[str, str], nodes: int) -> None:
    """Load the model in every worker: one tiny file a worker, all at once."""
    tiny = work / f"tiny{nodes}"
    tiny.mkdir()
    for n in range(2 * nodes):
        (tiny / f"t{n}.md").write_text(f"# Warm-up {n}\n\nLoads the embedding model.\n")
    cluster_ingest(tiny, work / f"warm{nodes}", address, chroma)


def write_ceiling(work: Path, port: int, chunks: int, batch: int = 256) -> dict[str, Any]:
    """Chunks/s from one ``ChunkWriter`` into the Chroma server (made-up 384-d vectors)."""
    store = ChromaStore.server(chroma_server.HOST, port, "write-ceiling")
    manifest = Manifest(work / "ceiling" / MANIFEST_FILE)
    writer = ChunkWriter(store, manifest)
    rng = np.random.default_rng(0)
    text = "The quick brown fox jumps over the lazy dog. " * 18  # about a 200-token chunk
    started = time.perf_counter()
    for start in range(0, chunks, batch):
        vectors = rng.standard_normal((min(batch, chunks - start), DIMENSIONS))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        writer.write(
            [
                ChunkRecord(f"c{start + i}", text, _metadata(start + i), v.tolist())
                for i, v in enumerate(vectors)
            ]
        )
    seconds = time.perf_counter() - started
    manifest.close()
    return {
        "chunks": chunks,
        "batch": batch,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
    }


def _metadata(n: int) -> ChunkMetadata:
    fields = path_fields(f"f{n // 100}.pdf")
    return ChunkMetadata(**fields, hash="0" * 64, chunk=n % 100, start=0, end=800)


def run(docs: Path, work: Path, write_chunks: int) -> dict[str, Any]:
    """Every measurement of the module docstring, in one namespace."""
    result: dict[str, Any] = {
        "files": sorted(p.name for p in docs.iterdir()),
        "local_default_threads": local_ingest(docs, work / "local", None),
        "local_one_thread": local_ingest(docs, work / "local1", 1),
    }
    print("local:", result["local_default_threads"], result["local_one_thread"], flush=True)
    (work / "chroma").mkdir()
    server, port = chroma_server.start(work / "chroma")
    chroma = {"host": chroma_server.HOST, "port": str(port)}
    cluster = RayCluster(work / "ray", workers=0)
    try:
        cluster.start()
        warm_up(work, cluster.address, chroma, 1)
        one = figures(cluster_ingest(docs, work / "ray1", cluster.address, chroma))
        print("ray, 1 worker:", one, flush=True)
        cluster.add_worker()
        warm_up(work, cluster.address, chroma, 2)
        two = figures(cluster_ingest(docs, work / "ray2", cluster.address, chroma))
        print("ray, 2 workers:", two, flush=True)
        result["write_ceiling"] = write_ceiling(work, port, write_chunks)
        print("write ceiling:", result["write_ceiling"], flush=True)
    finally:
        cluster.stop()
        chroma_server.stop(server)
    local_one = result["local_one_thread"]["seconds"]
    result |= {
        "ray_one_worker": one,
        "ray_two_workers": two,
        "two_over_one": round(one["seconds"] / two["seconds"], 2),
        "ray_overhead_over_local_one_thread": round(one["seconds"] / local_one - 1, 3),
        "peak_rss_mb_driver": round(peak_rss_mb(), 1),
    }
    return result


def main() -> None:
    """Run the benchmark, print the figures and save them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--files", nargs="+", default=FILES, help="file names in --corpus")
    parser.add_argument("--write-chunks", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results/cluster.json")
    args = parser.parse_args()
    if why := can_isolate():
        raise SystemExit(f"bench-cluster: {why}")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `gpt4all-rag ingest` sets it
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        docs = work / "docs"
        docs.mkdir()
        for name in args.files:
            shutil.copy2(args.corpus / name, docs / name)
        with loopback_only():
            result = run(docs, work, args.write_chunks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"1 worker {result['ray_one_worker']['pages_per_s']} pages/s, "
        f"2 workers {result['ray_two_workers']['pages_per_s']} pages/s "
        f"(x{result['two_over_one']}); Ray over local (1 thread): "
        f"{result['ray_overhead_over_local_one_thread']:+.1%}; write ceiling "
        f"{result['write_ceiling']['chunks_per_s']} chunks/s"
    )
    write_result(args.out, "bench_cluster", result)


if __name__ == "__main__":
    main()
