"""Server benchmark: ingest into the embedded store vs a Chroma server, two writers, busy reads.

Usage: python -m scripts.bench_server [--corpus DIR] [--out bench-results/server.json]

The same corpus is ingested with the bundled MiniLM, each time in a fresh worker process
(model loaded and warmed up before the clock starts; OpenMP waiting passive, as the
`ingest` command sets it):

  embedded           into the embedded store (a fresh index folder)
  server             into a real Chroma server that this script starts (`chroma run`)
  server_two_writers two processes at once into that server, each with half of the files
                     (hard links or copies in temp folders), its own index folder (manifest)
                     and its own collection; per-process and aggregate chunks/s
  search             p95 hybrid search latency (k=4, 50 queries made of the first words of
                     stored chunks) against an embedded index, idle and then while another
                     process ingests the other half of the corpus into that same index
                     (same index folder); then whether this long-lived reader sees the
                     new chunks (it follows the writer's publication)
  search_server      the same against the Chroma server

The server is always stopped and the temp folders removed, whatever fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from ingest.scan import FileStat, scan_folder
from scripts._common import ROOT, percentile, write_result
from tests.helpers import chroma_server

DEFAULT_CORPUS = Path("bench-data/r-doc-pdf/usr/share/R/doc/manual")
QUERIES = 50
QUERY_WORDS = 8
K = 4
RESULT = "RESULT "


def latency_summary(times_ms: list[float]) -> dict[str, Any]:
    if not times_ms:
        return {"n": 0}
    return {
        "n": len(times_ms),
        "p50_ms": round(percentile(times_ms, 50), 2),
        "p95_ms": round(percentile(times_ms, 95), 2),
        "max_ms": round(max(times_ms), 2),
    }


def settings_for(
    docs: Path,
    index: Path,
    host: str | None = None,
    port: int = 8000,
    collection: str = "documents",
) -> Settings:
    """Explicit values, so GPT4ALL_RAG_* variables in the caller's shell cannot redirect a run."""
    return Settings(
        documents_dir=docs,
        index_dir=index,
        chroma_host=host,
        chroma_port=port,
        collection_name=collection,
    )


# --- the worker: one ingest in its own process ---------------------------------------
def worker(args: argparse.Namespace) -> None:
    """Load and warm the model, say READY, wait for GO on stdin, ingest, print the result."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `gpt4all-rag ingest` does
    settings = settings_for(args.docs, args.index, args.host, args.port, args.collection)
    assistant = DocumentAssistant.from_settings(settings)
    assistant.embedder.embed_query("warm-up")  # model load is not ingest throughput
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        sys.exit("bench worker: no GO on stdin")
    started = time.time()
    report = assistant.ingest()
    ended = time.time()
    files_seen = len(report.added) + len(report.updated) + len(report.failed)
    result = {
        "collection": settings.collection_name,
        "store": f"server {args.host}:{args.port}" if args.host else "embedded",
        "files_indexed": len(report.added) + len(report.updated),
        "files_failed": len(report.failed),
        "unchanged": report.unchanged,
        "pages": report.pages,
        "chunks_added": report.chunks_added,
        "chunks_in_manifest": report.chunks_total,
        "chunks_in_store": assistant.store.count(),
        "seconds": round(report.seconds, 3),
        "files_per_s": round(files_seen / report.seconds, 2),
        "chunks_per_s": round(report.chunks_added / report.seconds, 2),
        "stages_s": {k: round(v, 3) for k, v in report.stages.items()},
        "wall_start": started,
        "wall_end": ended,
    }
    print(RESULT + json.dumps(result), flush=True)


class Worker:
    """A worker process: started, awaited until READY, released with GO, read back."""

    def __init__(self, name: str, work: Path, docs: Path, index: Path, **store: Any) -> None:
        command = [sys.executable, "-m", "scripts.bench_server", "--worker"]
        command += ["--docs", str(docs), "--index", str(index)]
        for key, value in store.items():
            command += [f"--{key}", str(value)]
        self.name = name
        self.log = work / f"{name}.log"
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"worker {self.name} exited with {self.proc.returncode}:\n{tail}")
        return line

    def wait_ready(self) -> None:
        while self._line().strip() != "READY":
            pass

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("GO\n")
        self.proc.stdin.close()

    def result(self) -> dict[str, Any]:
        while not (line := self._line()).startswith(RESULT):
            pass
        self.proc.wait()
        return dict(json.loads(line[len(RESULT) :]))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_together(workers: list[Worker]) -> list[dict[str, Any]]:
    """Wait until every worker has its model loaded, then release them all at once."""
    try:
        for w in workers:
            w.wait_ready()
        for w in workers:
            w.go()
        return [w.result() for w in workers]
    finally:
        for w in workers:
            w.kill()


def public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("wall_")}


# --- corpus helpers ---------------------------------------------------------------
def split_corpus(files: list[FileStat], work: Path) -> tuple[Path, Path]:
    """Two folders with half the files each (balanced by bytes), same relative paths.

    Hard links (copies across file systems) rather than symlinks: the scanner skips a
    symlink that points outside the documents folder. Both keep size and mtime.
    """
    halves = (work / "half-a", work / "half-b")
    sizes = [0, 0]
    for stat in sorted(files, key=lambda f: (-f.size, f.path)):
        side = 0 if sizes[0] <= sizes[1] else 1
        sizes[side] += stat.size
        target = halves[side] / stat.path
        target.parent.mkdir(parents=True, exist_ok=True)
        source = stat.abs_path.resolve()
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    for half in halves:
        half.mkdir(exist_ok=True)
    return halves


def queries_from(assistant: DocumentAssistant, n: int = QUERIES) -> list[str]:
    """The first words of ``n`` stored chunks, spread evenly over the index (repeated if few)."""
    texts = sorted((c.id, c.text) for c in assistant.store.iter_all() if c.text.strip())
    if not texts:
        raise RuntimeError("the index holds no chunk text to make queries from")
    step = max(1, len(texts) // n)
    picked = [texts[(i * step) % len(texts)][1] for i in range(n)]
    return [" ".join(t.split()[:QUERY_WORDS]) for t in picked]


# --- the four measurements ----------------------------------------------------------
def bench_embedded(corpus: Path, work: Path) -> dict[str, Any]:
    w = Worker("embedded", work, corpus, work / "embedded-index")
    return public(run_together([w])[0])


def bench_server(
    corpus: Path, halves: tuple[Path, Path], work: Path, store: dict[str, Any]
) -> dict[str, Any]:
    single = run_together(
        [Worker("server", work, corpus, work / "server-index", collection="bench-one", **store)]
    )[0]
    pair = run_together(
        [
            Worker(f"writer-{n}", work, half, work / f"index-{n}", collection=f"half-{n}", **store)
            for n, half in zip("ab", halves, strict=True)
        ]
    )
    return {"server": public(single), "server_two_writers": two_writers(pair, single)}


def two_writers(pair: list[dict[str, Any]], single: dict[str, Any]) -> dict[str, Any]:
    start = min(r["wall_start"] for r in pair)
    end = max(r["wall_end"] for r in pair)
    chunks = sum(r["chunks_added"] for r in pair)
    files = sum(r["files_indexed"] + r["files_failed"] for r in pair)
    seconds = end - start
    aggregate = round(chunks / seconds, 2)
    return {
        "processes": [public(r) for r in pair],
        "aggregate": {
            "chunks": chunks,
            "files": files,
            "seconds": round(seconds, 3),
            "chunks_per_s": aggregate,
            "files_per_s": round(files / seconds, 2),
            "vs_one_writer": round(aggregate / single["chunks_per_s"], 2),
        },
    }


def timed_searches(assistant: DocumentAssistant, queries: list[str]) -> tuple[list[float], list]:
    times, errors = [], []
    for query in queries:
        started = time.perf_counter()
        try:
            assistant.search(query, k=K, mode="hybrid")
        except Exception as exc:  # counted and reported: a reader must survive a writer
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        times.append((time.perf_counter() - started) * 1000)
    return times, errors


def bench_search(
    halves: tuple[Path, Path], corpus: Path, work: Path, name: str, **store: Any
) -> dict[str, Any]:
    """Index half the corpus here; search it idle, then while a worker ingests the rest.

    Reader and writer share the index folder (manifest, BM25) and the collection, as the
    app and a `gpt4all-rag ingest` on one machine do.
    """
    index = work / f"{name}-index"
    reader = DocumentAssistant.from_settings(settings_for(halves[0], index, **store))
    reader.ingest()  # setup, not measured
    queries = queries_from(reader)
    timed_searches(reader, queries[:5])  # warm-up
    idle, idle_errors = timed_searches(reader, queries)
    writer = Worker(name, work, corpus, index, **store)  # the full corpus: half b is new
    try:
        writer.wait_ready()
        writer.go()
        busy, busy_errors, passes = [], [], 0
        while passes == 0 or writer.proc.poll() is None:  # at least one full pass
            times, errors = timed_searches(reader, queries)
            busy, busy_errors, passes = busy + times, busy_errors + errors, passes + 1
        written = writer.result()
    finally:
        writer.kill()
    return {
        "store": reader.status().store,
        "mode": "hybrid",
        "k": K,
        "queries": len(queries),
        "idle": latency_summary(idle) | {"errors": len(idle_errors)},
        "during_ingest": latency_summary(busy) | {"errors": len(busy_errors)},
        "error_examples": sorted(set(idle_errors + busy_errors))[:5],
        "p95_ratio": round(percentile(busy, 95) / percentile(idle, 95), 2) if busy else None,
        "writer": public(written),
        "reader_sees_new_chunks": visibility(reader, halves[1]),
    }


def visibility(reader: DocumentAssistant, new_half: Path) -> dict[str, Any]:
    """Whether this long-lived reader sees what the other process wrote, without reopening."""
    new_files = {f.path for f in scan_folder(new_half).files}
    new_ids = [i for path in sorted(new_files) for i in reader.manifest.chunk_ids(path)]
    if not new_ids:
        return {"checked": False, "reason": "the other half added no chunks"}
    probe = reader.store.get(new_ids[:1])
    seen = {
        "checked": True,
        "manifest_chunks": reader.manifest.chunk_count(),
        "store_count": reader.store.count(),
        "probe_chunk_readable": bool(probe),
    }
    if probe:
        text = " ".join(probe[0].text.split()[:QUERY_WORDS])
        for mode in ("vector", "keyword", "hybrid"):
            try:
                files = [p.file for p in reader.search(text, k=K, mode=mode)]
            except Exception as exc:  # reported: this is what the check is for
                seen[f"probe_{mode}_error"] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            seen[f"probe_file_in_{mode}_top_k"] = any(f in new_files for f in files)
    return seen


# --- main -----------------------------------------------------------------------------
def describe(corpus: Path, files: list[FileStat]) -> dict[str, Any]:
    import chromadb

    return {
        "corpus": str(corpus),
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "embedder": "minilm (bundled all-MiniLM-L6-v2)",
        "cpu_count": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "chromadb": chromadb.__version__,
    }


def run_all(corpus: Path) -> dict[str, Any]:
    files = scan_folder(corpus).files
    if not files:
        sys.exit(f"{corpus} holds no supported file")
    result = describe(corpus, files)
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    try:
        halves = split_corpus(files, work)
        result["halves_files"] = [len(scan_folder(h).files) for h in halves]
        result["embedded"] = bench_embedded(corpus, work)
        result["search"] = bench_search(halves, corpus, work, "search-embedded")
        (work / "chroma-server").mkdir()
        server, port = chroma_server.start(work / "chroma-server")
        try:
            store = {"host": chroma_server.HOST, "port": port}
            result.update(bench_server(corpus, halves, work, store))
            result["search_server"] = bench_search(
                halves, corpus, work, "search-server", collection="search", **store
            )
        finally:
            chroma_server.stop(server)
        result["embedded_vs_server"] = round(
            result["embedded"]["chunks_per_s"] / result["server"]["chunks_per_s"], 2
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=Path("bench-results/server.json"))
    parser.add_argument(
        "--embedder", choices=["minilm"], default="minilm", help="the bundled MiniLM (only)"
    )
    # The worker mode, run by this script itself in child processes.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=8000, help=argparse.SUPPRESS)
    parser.add_argument("--collection", default="documents", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if not args.corpus.is_dir():
        sys.exit(f"{args.corpus} is missing: run scripts/fetch_corpora.sh first")
    result = run_all(args.corpus)
    print(json.dumps(result, indent=2))
    write_result(args.out, "bench_server", result)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
