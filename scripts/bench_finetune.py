"""Fine-tuning benchmark: train a LoRA of the bundled model, then the dev set, base against tuned.

Usage:
    python -m scripts.bench_finetune [--train-docs DIR] [--train-index DIR] \
        [--dev-docs DIR] [--dev-index DIR] [--examples N] [--steps N] [--limit N] \
        [--adapter FILE --skip-train] [--out bench-results/finetune.json]

1. Indexes the training manuals (R-intro, R-data, R-admin, R-FAQ: never the dev set's),
   then runs ``gpt4all-rag finetune``'s code on that index (``run_finetune``): synthetic
   examples in the real prompt format, a LoRA trained with transformers and peft, the
   GGUF adapter and its record, in the training index's ``finetune/`` folder. Training
   time and this process's peak RSS (which, at that point, is training's) are recorded.
   The dev manuals are held out by name as well, in case the folders are mixed.
2. Asks the dev set (tests/data/rdev: R-exts, R-lang, R-ints) of the bundled model with
   and without the adapter, in this one process, the model writing its answer
   (``answer_style=both``); every question is scored by ``scripts.bench_answers.measure``
   and summed up by its ``summarize``: the same scorer as ``make bench-answers``.
3. Prints the two summaries side by side, saves everything as JSON, and writes the dev
   figures into the adapter's record.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.finetune.dataset import DataOptions
from gpt4all_rag.finetune.run import RunPaths, run_finetune, update_record
from gpt4all_rag.finetune.train import Progress, TrainConfig
from gpt4all_rag.settings import Settings
from scripts._common import machine, peak_rss_mb, write_result
from scripts.bench_answers import measure, print_row, select, summarize
from scripts.devset_common import DEVSET, Question, load_devset

DEV_FILES = ("R-exts.pdf", "R-lang.pdf", "R-ints.pdf")
COMPARED = (
    "fact_in_answer",
    "right_page_cited",
    "unsupported_sentences",
    "answers_with_unsupported",
    "oos_abstained",
    "answerable_false_abstained",
    "repeated_sentence_answers",
    "median_total_s",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path("bench-data")
    parser.add_argument("--train-docs", type=Path, default=data / "ft-train-docs")
    parser.add_argument("--train-index", type=Path, default=data / "ft-train-index")
    parser.add_argument("--dev-docs", type=Path, default=data / "rdev-docs")
    parser.add_argument("--dev-index", type=Path, default=data / "rdev-index")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--examples", type=int, default=400, help="synthetic seeds tried")
    parser.add_argument("--steps", type=int, default=-1, help="training steps (-1: one epoch)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=4e-4)
    parser.add_argument("--layers-from", type=int, default=0, help="LoRA from this layer up")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--answer-sentences", type=int, default=1, choices=(1, 2))
    parser.add_argument(
        "--balance",
        action="store_true",
        help="the source passage at places 1, 2, 3 in turn (recipe 3), not where retrieval put it",
    )
    parser.add_argument("--tuned-only", action="store_true", help="skip the base model's run")
    parser.add_argument("--limit", type=int, default=None, help="first N dev questions only")
    parser.add_argument("--ids", default="", help="comma-separated dev question ids only")
    parser.add_argument("--answerable-only", action="store_true")
    parser.add_argument("--adapter", type=Path, help="adapter file (default: in the index)")
    parser.add_argument("--skip-train", action="store_true", help="evaluate --adapter only")
    parser.add_argument("--resume", action="store_true", help="resume the training run")
    parser.add_argument("--out", type=Path, default=Path("bench-results/finetune.json"))
    return parser.parse_args()


def _progress(progress: Progress) -> None:
    eta = "?" if progress.eta_s is None else f"{progress.eta_s / 60:.1f} min"
    loss = "?" if progress.loss is None else f"{progress.loss:.3f}"
    print(
        f"step {progress.step}/{progress.total} loss {loss} "
        f"elapsed {progress.elapsed_s / 60:.1f} min ETA {eta}",
        flush=True,
    )


def train(args: argparse.Namespace, paths: RunPaths) -> dict[str, Any]:
    """Index the training manuals and run the fine-tuning; the run's record."""
    settings = Settings(documents_dir=args.train_docs, index_dir=args.train_index)
    started = time.perf_counter()
    DocumentAssistant.from_settings(settings).ingest()
    ingest_s = time.perf_counter() - started
    config = TrainConfig(
        rank=args.rank,
        alpha=2 * args.rank,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.steps,
        layers_from=args.layers_from,
        threads=args.threads,
    )
    options = DataOptions(
        args.examples,
        feedback=False,
        held_out=DEV_FILES,
        answer_sentences=args.answer_sentences,
        balance=args.balance,
    )
    started = time.perf_counter()
    record = run_finetune(
        settings, ["default"], paths, options, config, args.resume, on_progress=_progress
    )
    record["bench"] = {
        "ingest_s": round(ingest_s, 1),
        "data_and_train_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb_after_training": round(peak_rss_mb(), 1),
        "machine": machine(),
    }
    return record


def evaluate(
    args: argparse.Namespace, questions: list[Question], lora: Path | None
) -> list[dict[str, Any]]:
    """Every question through the dev assistant, with the adapter or without it."""
    settings = Settings(
        documents_dir=args.dev_docs,
        index_dir=args.dev_index,
        answer_style="both",
        threads=args.threads,
    )
    if lora is not None:
        settings = settings.model_copy(update={"lora_path": lora})
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    label = "tuned" if lora else "base"
    print(f"== {label}: {assistant.model_name} ==", flush=True)
    rows = []
    for q in questions:
        try:
            rows.append(measure(assistant, q, use_events=True))
        except Exception as error:  # one failing question should not cost the run
            rows.append({"id": q.id, "kind": q.kind, "error": f"{type(error).__name__}: {error}"})
        print_row(rows[-1])
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        rate = f" ({value['rate']:.0%})" if "rate" in value else ""
        return f"{value['n']}/{value['of']}{rate}"
    return "null" if value is None else str(value)


def print_comparison(base: dict[str, Any], tuned: dict[str, Any]) -> None:
    print(f"\n{'figure':<28} {'base':>16} {'tuned':>16}")
    for key in COMPARED:
        print(f"{key:<28} {_shown(base.get(key)):>16} {_shown(tuned.get(key)):>16}")


def main() -> int:
    args = parse_args()
    questions = select(load_devset(args.devset), args.ids, args.limit)
    if args.answerable_only:
        questions = [q for q in questions if q.answerable]
    paths = RunPaths.in_index(args.train_index, args.adapter)
    record: dict[str, Any] = {}
    if not args.skip_train:
        record = train(args, paths)
        training = record["training"]
        print(
            f"trained: {record['data']['examples']} examples, {training['steps']} steps, "
            f"{training['train_s'] / 60:.1f} min, peak RSS {training['peak_rss_mb']:.0f} MiB",
            flush=True,
        )
    base_rows = [] if args.tuned_only else evaluate(args, questions, None)
    tuned_rows = evaluate(args, questions, paths.adapter)
    base, tuned = summarize(base_rows), summarize(tuned_rows)
    print_comparison(base, tuned)
    dev = {
        "questions": [q.id for q in questions],
        "base": base,
        "tuned": tuned,
        "load_average": list(os.getloadavg()),
    }
    update_record(paths.adapter, {"dev": dev})
    result = {
        "training": record,
        "dev": dev,
        "rows": {"base": base_rows, "tuned": tuned_rows},
        "machine": machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, "bench_finetune", result)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
