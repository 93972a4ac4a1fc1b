"""Query benchmark: retrieval latency per mode, time to first token, tokens/s, chain overhead.

Usage: python -m scripts.bench_query --index DIR [--queries queries.jsonl] [--out FILE]

DIR must hold an index built by `gpt4all-rag ingest` (the SciFact eval index kept with
`gpt4all-rag eval --work-dir W` is one: W/index). The chain's time to first token is
compared with a direct llama-cpp call on the identical prompt, in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from scripts._common import peak_rss_mb, percentile, write_result

DEFAULT_QUERIES = Path("../shared/bench/scifact-train/queries.jsonl")


class Recording:
    """Wraps the real backend; keeps the last prompt so it can be replayed directly."""

    def __init__(self, inner):
        self.inner = inner
        self.last_messages = None

    @property
    def context_size(self):
        return self.inner.context_size

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def stream_chat(self, messages, **kwargs):
        self.last_messages = messages
        yield from self.inner.stream_chat(messages, **kwargs)


def retrieval_latency(assistant, queries: list[str]) -> dict:
    out = {}
    for mode in ("vector", "keyword", "hybrid"):
        assistant.retriever.search(queries[0], k=4, mode=mode)  # warm-up
        times = []
        for q in queries:
            started = time.perf_counter()
            assistant.retriever.search(q, k=4, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
        out[mode] = {
            "p50_ms": round(percentile(times, 50), 2),
            "p95_ms": round(percentile(times, 95), 2),
        }
    return out


def chain_ttft(assistant, question: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    pieces = 0
    for piece in assistant.stream(question):
        if isinstance(piece, str):
            pieces += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end, pieces


def direct_ttft(llama, messages, settings) -> tuple[float, float, str]:
    llama.reset()
    started = time.perf_counter()
    first = None
    text = []
    for chunk in llama.create_chat_completion(
        messages=messages,
        stream=True,
        max_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
    ):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            text.append(piece)
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end - (first or end), "".join(text)


def generation(assistant, recorder, questions: list[str]) -> dict:
    llama = recorder.inner.llama()
    settings = assistant.settings
    chain_t, direct_t, rates = [], [], []
    for question in questions:
        t_chain, end, _ = chain_ttft(assistant, question)
        if recorder.last_messages is None:
            continue  # nothing retrieved: no model call to compare
        t_direct, gen_s, text = direct_ttft(llama, recorder.last_messages, settings)
        tokens = recorder.inner.count_tokens(text)
        chain_t.append(t_chain)
        direct_t.append(t_direct)
        if gen_s > 0 and tokens > 1:
            rates.append((tokens - 1) / gen_s)
        recorder.last_messages = None
    return {
        "questions": len(chain_t),
        "chain_ttft_s_mean": round(statistics.mean(chain_t), 3),
        "direct_ttft_s_mean": round(statistics.mean(direct_t), 3),
        "ttft_ratio_chain_over_direct": round(
            statistics.mean(chain_t) / statistics.mean(direct_t), 3
        ),
        "tokens_per_s": round(statistics.mean(rates), 1) if rates else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--n-retrieval", type=int, default=200)
    parser.add_argument("--n-generation", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench-results/query.json"))
    args = parser.parse_args()
    settings = Settings(index_dir=args.index, top_k=4, max_new_tokens=64, temperature=0.0)
    base = DocumentAssistant.from_settings(settings)
    recorder = Recording(base.llm)
    assistant = DocumentAssistant.from_settings(settings, llm=recorder, embedder=base.embedder)
    chunks = assistant.store.count()
    queries = [json.loads(line)["text"] for line in args.queries.open()][: args.n_retrieval]
    result = {"index_chunks": chunks, "retrieval_queries": len(queries)}
    result["retrieval_latency"] = retrieval_latency(assistant, queries)
    if args.n_generation:
        recorder.inner.count_tokens("warm-up")  # load the model before timing
        result["generation_k4"] = generation(assistant, recorder, queries[: args.n_generation])
    result["model"] = assistant.model_name
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result, indent=2))
    write_result(args.out, "bench_query", result)


if __name__ == "__main__":
    main()
