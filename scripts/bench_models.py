"""Bundled-model benchmark: one GGUF through the dev set, with memory and each sentence kept.

Usage:
    python -m scripts.bench_models --docs bench-data/rdev-docs --index /tmp/rdev-index \
        [--model PATH] [--chat-format gemma-3] [--answerable 30] [--oos 8] \
        [--out bench-results/models-smollm2.json]

The figures are scripts/bench_answers.py's (the same ``measure`` and ``summarize``, answer
style ``both``, so the model always writes); on top, each answer keeps its sources' texts
and its sentences with their support and flag, for labelling each sentence by reading it
against its cited passages (``label``: correct, wrong or not_a_claim), and the run
reports its peak resident memory. ``--model`` is GPT4ALL_RAG_MODEL_PATH (default: the
bundled SmolLM2). A Gemma 3 GGUF without a chat template gets the project's ``gemma-3``
format (gpt4all_rag/llm/chat_formats.py: the system text opens the first user turn);
``--chat-format`` forces another.

    python -m scripts.bench_models --ttft-from bench-results/models-smollm2.json \
        --compare bundled,PATH:gemma-3 [--answerable 12] [--rounds 2]

times the first token of each model on the same prompts (the question and the passages
each answer of the earlier run was given), the models taking turns in one process so
that the machine's load falls on both alike; then loads each model alone in a fresh
process, answers three of the prompts, and reports its peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts import bench_answers
from scripts._common import (
    disable_llama_extra_buffers,
    machine,
    peak_rss_mb,
    read_result,
    write_result,
)
from scripts.answer_reading import is_answer
from scripts.devset_common import DEVSET, Question, load_devset


class Recording:
    """An assistant whose streams pass through unchanged, keeping each final Answer."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.last: Any = None

    def events(self, text: str) -> Iterator[Any]:
        return self._kept(self.assistant.events(text))

    def stream(self, text: str) -> Iterator[Any]:
        return self._kept(self.assistant.stream(text))

    def _kept(self, items: Any) -> Iterator[Any]:
        self.last = None
        for item in items:
            if is_answer(item):
                self.last = item
            yield item


def sentences_of(answer: Any) -> dict[str, Any]:
    """The answer's sources (with text) and sentences, ready to be labelled."""
    return {
        "source_texts": [
            {"number": s.number, "file": s.file, "page": s.page, "text": s.text}
            for s in answer.sources
        ],
        "sentence_rows": [
            {
                "text": s.text,
                "cited": list(s.cited),
                "support": round(float(s.support), 4),
                "claim": getattr(s, "claim", None),
                "flagged": not s.supported,
                "label": None,
            }
            for s in getattr(answer, "sentences", [])
        ],
    }


def choose(questions: list[Question], answerable: int, oos: int) -> list[Question]:
    """The first ``answerable`` answerable and the first ``oos`` out-of-scope questions."""
    kept = [q for q in questions if q.answerable][:answerable]
    return kept + [q for q in questions if not q.answerable][:oos]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True, help="a copy: ingest may write")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: bundled)")
    parser.add_argument("--chat-format", default=None, help="e.g. gemma-3 (default: detected)")
    parser.add_argument("--answerable", type=int, default=30)
    parser.add_argument("--oos", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("bench-results/models.json"))
    parser.add_argument("--ttft-from", type=Path, help="an earlier run: time its prompts")
    parser.add_argument("--compare", default="", help="MODEL[:FORMAT],... (bundled: SmolLM2)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory-of", default="", help=argparse.SUPPRESS)  # the child run
    return parser.parse_args()


# --- first token and memory, on the prompts of an earlier run ----------------------
def prompts_of(run: Path, count: int) -> list[list[dict[str, str]]]:
    """The messages each of the first ``count`` answered questions gave the model."""
    from gpt4all_rag.answering.prompts import build_answer_messages

    rows = read_result(run)["questions"]
    rows = [r for r in rows if r.get("source_texts") and r.get("kind") == "answerable"]
    return [
        build_answer_messages(r["question"], [s["text"] for s in r["source_texts"]])
        for r in rows[:count]
    ]


def backend_for(spec: str) -> Any:
    """The app's backend for ``PATH[:FORMAT]`` (``bundled``: the default model)."""
    from gpt4all_rag.llm.factory import build_llm
    from gpt4all_rag.settings import Settings

    path, _, chat_format = spec.partition(":")
    model = None if path == "bundled" else Path(path)
    return build_llm(Settings(model_path=model, chat_format=chat_format or None))


def first_token_s(backend: Any, messages: list[dict[str, str]]) -> float:
    started = time.perf_counter()
    pieces = backend.stream_chat(messages, max_tokens=4, temperature=0.2)
    next(iter(pieces), None)
    elapsed = time.perf_counter() - started
    pieces.close()
    return elapsed


def compare_first_tokens(args: argparse.Namespace) -> dict[str, Any]:
    """Median first-token time of each model, taking turns on every prompt."""
    prompts = prompts_of(args.ttft_from, args.answerable)
    specs = [spec for spec in args.compare.split(",") if spec]
    backends = {spec: backend_for(spec) for spec in specs}
    for backend in backends.values():
        first_token_s(backend, prompts[0])  # load, and warm the system-turn cache
    times: dict[str, list[float]] = {spec: [] for spec in specs}
    for _ in range(args.rounds):
        for messages in prompts:
            for spec, backend in backends.items():
                times[spec].append(first_token_s(backend, messages))
    return {
        spec: {
            "median_ttft_s": round(statistics.median(values), 3),
            "max_ttft_s": round(max(values), 3),
            "prompts": len(prompts),
            "rounds": args.rounds,
        }
        for spec, values in times.items()
    }


def memory_of(spec: str, args: argparse.Namespace) -> dict[str, float]:
    """Peak memory of a fresh process that loads one model and answers three prompts."""
    command = [sys.executable, "-m", "scripts.bench_models", "--docs", ".", "--index", "."]
    command += ["--ttft-from", str(args.ttft_from), "--memory-of", spec]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def child_memory(args: argparse.Namespace) -> int:
    """The child of :func:`memory_of`: its figures as the last line of stdout.

    The peak is ``VmHWM``, not ``ru_maxrss``: Linux keeps the latter across ``exec``, so
    a child would report its parent's size.
    """
    baseline = high_water_mb()
    backend = backend_for(args.memory_of)
    for messages in prompts_of(args.ttft_from, 3):
        "".join(backend.stream_chat(messages, max_tokens=32, temperature=0.2))
    print(json.dumps({"before_model_mb": baseline, "peak_rss_mb": high_water_mb()}))
    return 0


def high_water_mb() -> float:
    """This process's peak resident memory (``VmHWM``) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return peak_rss_mb()


def ttft_main(args: argparse.Namespace) -> int:
    disable_llama_extra_buffers()
    result: dict[str, Any] = {"source": str(args.ttft_from)}
    result["first_token"] = compare_first_tokens(args)
    result["memory"] = {spec: memory_of(spec, args) for spec in args.compare.split(",") if spec}
    write_result(args.out, "bench_models", result, indent=1)
    print(json.dumps(result, indent=1))
    return 0


def configure(args: argparse.Namespace) -> None:
    """Point the settings at the model and style asked for (read when Settings is built)."""
    os.environ["GPT4ALL_RAG_ANSWER_STYLE"] = "both"
    if args.model is not None:
        os.environ["GPT4ALL_RAG_MODEL_PATH"] = str(args.model)
    if args.chat_format:
        os.environ["GPT4ALL_RAG_CHAT_FORMAT"] = args.chat_format


def main() -> int:
    args = parse_args()
    if args.memory_of:
        disable_llama_extra_buffers()
        return child_memory(args)
    if args.ttft_from:
        return ttft_main(args)
    configure(args)
    questions = choose(load_devset(DEVSET), args.answerable, args.oos)
    setup_args = argparse.Namespace(docs=args.docs, index=args.index, llama_extra_buffers=False)
    disable_llama_extra_buffers()
    assistant, meta = bench_answers.setup(setup_args)
    meta.update(machine=machine(), rss_after_load_mb=round(peak_rss_mb(), 1))
    recording = Recording(assistant)
    use_events = hasattr(assistant, "events")
    print(f"model {meta['model']}, {len(questions)} questions", flush=True)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for q in questions:
        try:
            row = bench_answers.measure(recording, q, use_events)  # type: ignore[arg-type]
            rows.append({**row, **sentences_of(recording.last)})
        except Exception as error:  # one failing question should not cost the run
            rows.append({"id": q.id, "kind": q.kind, "error": f"{type(error).__name__}: {error}"})
        bench_answers.print_row(rows[-1])
        meta["peak_rss_mb"] = round(peak_rss_mb(), 1)
        meta["run_s"] = round(time.perf_counter() - started, 1)
        result = {"meta": meta, "summary": bench_answers.summarize(rows), "questions": rows}
        write_result(args.out, "bench_models", result, indent=1)
    bench_answers.print_summary(bench_answers.summarize(rows))
    print(f"peak RSS {meta['peak_rss_mb']} MB; saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
