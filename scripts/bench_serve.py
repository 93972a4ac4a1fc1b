"""Serve overhead: the same searches and answers in process and through `gpt4all-rag serve`.

Usage: python -m scripts.bench_serve [--documents DIR] [--llm scripted|bundled]
                                     [--runs N] [--out FILE]

The documents folder (default: the sample `documents/`) is indexed into a temporary
folder with the bundled MiniLM. One assistant answers both ways: directly
(`assistant.search`, `assistant.ask`) and through the API (`POST /v1/search`,
`POST /v1/chat/completions`, not streamed) served by uvicorn on a loopback port in a
thread of this process, over one keep-alive httpx connection. Each question is timed
both ways, one right after the other (which goes first rotates: a later call of a
question may find warm caches), so load drifts hit both alike. The ratio is p50 over
the API / p50 in process; the overhead in milliseconds is their difference. A third
way, in process but on a worker thread (the server answers on its model thread and
searches in Starlette's thread pool), separates what HTTP costs from what the thread
costs.

`--llm scripted` (default) answers with the fixed scripted reply: the answer path then
runs everything but the model (retrieval, evidence, attribution with MiniLM), so the
overhead is not hidden by generation time. `--llm bundled` runs SmolLM2 (greedy,
`--max-new-tokens`, default 32).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.server.api import create_app
from gpt4all_rag.server.run import BackgroundServer
from gpt4all_rag.settings import Settings
from scripts._common import write_result

QUESTIONS = [
    "How hot is the surface of Venus?",
    "Which planet has the largest volcano?",
    "What is Olympus Mons?",
    "How old is the Solar System?",
    "How much of the Solar System's mass is in the Sun?",
    "Which is the smallest planet?",
    "What lies beyond the planets?",
    "Who gave the Gettysburg Address?",
    "What did Lincoln say about a new nation?",
    "When was the Gettysburg Address given?",
    "What does 'four score and seven years ago' refer to?",
    "Which file types can I add?",
    "Is indexing incremental?",
    "Does anything I ask leave my machine?",
    "How do I add documents?",
    "What happens to a renamed file?",
    "Which planet is the largest?",
    "How many moons does Mars have?",
    "What is the government of the people, by the people, for the people?",
    "Where do the embedding model and the language model run?",
]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def summary(direct: list[float], served: list[float]) -> dict[str, float]:
    p50_direct, p50_served = statistics.median(direct), statistics.median(served)
    return {
        "direct_p50_ms": round(p50_direct, 2),
        "served_p50_ms": round(p50_served, 2),
        "ratio_p50": round(p50_served / p50_direct, 3),
        "overhead_p50_ms": round(p50_served - p50_direct, 2),
        "direct_max_ms": round(max(direct), 2),
        "served_max_ms": round(max(served), 2),
    }


def measure(assistant: DocumentAssistant, client: httpx.Client, runs: int) -> dict[str, object]:
    k = assistant.settings.top_k
    worker = ThreadPoolExecutor(1)  # in process, but off the main thread, as the server runs it
    paths = ("search", "search_thread", "search_api", "ask", "ask_thread", "ask_api")
    times: dict[str, list[float]] = {name: [] for name in paths}
    for run in range(runs):
        for n, question in enumerate(QUESTIONS):
            calls = {
                "search": lambda q=question: assistant.search(q, k=k),
                "search_thread": lambda q=question: worker.submit(
                    assistant.search, q, k=k
                ).result(),
                "search_api": lambda q=question: _ok(client.post("/v1/search", json={"query": q})),
                "ask": lambda q=question: assistant.ask(q),
                "ask_thread": lambda q=question: worker.submit(assistant.ask, q).result(),
                "ask_api": lambda q=question: _ok(
                    client.post("/v1/chat/completions", json=_chat(q))
                ),
            }
            # Rotate which way goes first: a later call of a question may find warm caches.
            shift = (n + run) % 3
            for family in (paths[:3], paths[3:]):
                for name in family[shift:] + family[:shift]:
                    times[name].append(timed(calls[name]))
    worker.shutdown()
    return {
        "search": summary(times["search"], times["search_api"]),
        "answer": summary(times["ask"], times["ask_api"]),
        "search_off_main_thread": summary(times["search"], times["search_thread"]),
        "answer_off_main_thread": summary(times["ask"], times["ask_thread"]),
        "search_api_vs_thread": summary(times["search_thread"], times["search_api"]),
        "answer_api_vs_thread": summary(times["ask_thread"], times["ask_api"]),
        "samples_per_path": len(times["search"]),
    }


def _chat(question: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": question}]}


def _ok(response: httpx.Response) -> None:
    response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=Path, default=Path("documents"))
    parser.add_argument("--llm", choices=["scripted", "bundled"], default="scripted")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--runs", type=int, default=2, help="passes over the 20 questions")
    parser.add_argument("--out", type=Path, default=Path("bench-results/serve.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        docs = shutil.copytree(args.documents, work / "docs")
        llm = {"llm_backend": "scripted"} if args.llm == "scripted" else {"temperature": 0.0}
        settings = Settings(
            documents_dir=docs,
            index_dir=work / "index",
            max_new_tokens=args.max_new_tokens,
            **llm,  # type: ignore[arg-type]
        )
        assistant = DocumentAssistant.from_settings(settings)
        report = assistant.ingest()
        assistant.ask(QUESTIONS[0])  # loads MiniLM, the keyword index and the model
        with (
            BackgroundServer(create_app(assistant, settings)) as server,
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {server.token}"},  # always required
                timeout=600,
            ) as client,
        ):
            _ok(client.post("/v1/search", json={"query": QUESTIONS[0]}))  # warm connection
            results = measure(assistant, client, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    out = {
        "what": "p50 wall time of the same call in process and through the API (loopback)",
        "llm": "scripted reply (no model)" if args.llm == "scripted" else "bundled SmolLM2",
        "embedder": "bundled all-MiniLM-L6-v2",
        "documents": str(args.documents),
        "chunks": report.chunks_total,
        "questions": len(QUESTIONS),
        "max_new_tokens": args.max_new_tokens if args.llm == "bundled" else None,
        "load_average_1m_at_end": round(load, 2),
        "contended": True,  # the development machine's two cores are shared by several jobs
        **results,
    }
    print(json.dumps(out, indent=2))
    write_result(args.out, "bench_serve", out)


if __name__ == "__main__":
    main()
